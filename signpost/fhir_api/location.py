"""FHIR Location: read and search (with `near`) over the directory's locations."""

from typing import Annotated

from fastapi import Depends, Query, Request

from signpost.auth import Caller, Role, allow
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory.models import Location
from signpost.errors import Problem
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size
from signpost.fhir_api.routes import fhir_router

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]


@router.get("/Location", operation_id="search_locations")
def search_locations(
    request: Request,
    session: SessionDep,
    caller: ReaderDep,
    name: Annotated[str | None, Query(description="Name starts with")] = None,
    near: Annotated[str | None, Query(description="latitude|longitude|distance|km, nearest first")] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated", description="e.g. ge2026-01-01")] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search the directory's locations; `near` orders them nearest first."""
    size = page_size(count)
    rows, total = directory_fhir.search_locations(
        session=session, name=name, near=near, last_updated=last_updated, offset=offset, count=size
    )
    resources = [directory_fhir.to_location(loc) for loc in rows]
    return FhirResponse(
        searchset(request, resources=resources, total=total, offset=offset, count=size, base=fhir_base(request))
    )


@router.get("/Location/{location_id}", operation_id="read_location")
def read_location(location_id: str, session: SessionDep, caller: ReaderDep) -> FhirResponse:
    """Read one location of the directory."""
    location = session.get(Location, location_id)
    if location is None:
        raise Problem(404, f"No Location with id {location_id}.")
    return FhirResponse(directory_fhir.to_location(location))
