"""FHIR Organization: read and search over the directory's organisations."""

from typing import Annotated

from fastapi import Depends, Query, Request

from signpost.auth import Caller, Role, allow
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory.models import Organization
from signpost.errors import Problem
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size
from signpost.fhir_api.routes import fhir_router

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]


@router.get("/Organization", operation_id="search_organizations")
def search_organizations(
    request: Request,
    session: SessionDep,
    caller: ReaderDep,
    name: Annotated[str | None, Query(description="Name starts with")] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated", description="e.g. ge2026-01-01")] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search the organisations that run directory services."""
    size = page_size(count)
    rows, total = directory_fhir.search_organizations(
        session=session, name=name, last_updated=last_updated, offset=offset, count=size
    )
    resources = [directory_fhir.to_organization(o) for o in rows]
    return FhirResponse(
        searchset(request, resources=resources, total=total, offset=offset, count=size, base=fhir_base(request))
    )


@router.get("/Organization/{organization_id}", operation_id="read_organization")
def read_organization(organization_id: str, session: SessionDep, caller: ReaderDep) -> FhirResponse:
    """Read one organisation of the directory."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise Problem(404, f"No Organization with id {organization_id}.")
    return FhirResponse(directory_fhir.to_organization(org))
