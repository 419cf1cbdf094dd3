"""FHIR Location: read and search (with `near`) over the directory's locations."""

from typing import Annotated

from fastapi import Depends, Request, Response

from signpost.auth import Caller, Role, allow
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory.models import Location
from signpost.errors import Problem
from signpost.fhir_api import search
from signpost.fhir_api.bundle import searchset
from signpost.fhir_api.io import FhirResponse, content_tag, read_response
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.search import Param

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]

PARAMS = (
    Param("_id", "token", "The location's id."),
    Param("_lastUpdated", "date", "When the location last changed, e.g. ge2026-01-01."),
    Param("name", "string", "Name starts with (case-insensitive).", ("exact", "contains")),
    Param("near", "special", "latitude|longitude|distance|km (at most 200 km), nearest first."),
)


@router.get("/Location", operation_id="search_locations", openapi_extra=search.route_extra(PARAMS))
def search_locations(request: Request, session: SessionDep, caller: ReaderDep) -> FhirResponse:
    """Search the directory's locations; `near` orders them nearest first."""
    found = search.parse(request, params=PARAMS)
    rows, total = directory_fhir.search_locations(
        session=session, criteria=found.criteria, offset=found.offset, count=0 if found.summary_count else found.count
    )
    resources = [directory_fhir.to_location(loc) for loc in rows]
    return FhirResponse(searchset(request, resources=resources, total=total, search=found))


@router.get("/Location/{location_id}", operation_id="read_location")
def read_location(location_id: str, request: Request, session: SessionDep, caller: ReaderDep) -> Response:
    """Read one location of the directory (ETag, Last-Modified, 304 for If-None-Match)."""
    location = session.get(Location, location_id)
    if location is None:
        raise Problem(404, f"No Location with id {location_id}.")
    resource = directory_fhir.to_location(location)
    return read_response(request, resource, etag=content_tag(resource))
