"""FHIR Organization: read and search over the directory's organisations."""

from typing import Annotated

from fastapi import Depends, Request, Response

from signpost.auth import Caller, Role, allow
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory.models import Organization
from signpost.errors import Problem
from signpost.fhir_api import search
from signpost.fhir_api.bundle import searchset
from signpost.fhir_api.io import FhirResponse, content_tag, read_response
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.search import Param

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]

PARAMS = (
    Param("_id", "token", "The organisation's id."),
    Param("_lastUpdated", "date", "When the organisation last changed, e.g. ge2026-01-01."),
    Param("identifier", "token", "Directory id, charity number or company number (system|value)."),
    Param("name", "string", "Name starts with (case-insensitive).", ("exact", "contains")),
)


@router.get("/Organization", operation_id="search_organizations", openapi_extra=search.route_extra(PARAMS))
def search_organizations(request: Request, session: SessionDep, caller: ReaderDep) -> FhirResponse:
    """Search the organisations that run directory services."""
    found = search.parse(request, params=PARAMS)
    rows, total = directory_fhir.search_organizations(
        session=session, criteria=found.criteria, offset=found.offset, count=0 if found.summary_count else found.count
    )
    resources = [directory_fhir.to_organization(o) for o in rows]
    return FhirResponse(searchset(request, resources=resources, total=total, search=found))


@router.get("/Organization/{organization_id}", operation_id="read_organization")
def read_organization(organization_id: str, request: Request, session: SessionDep, caller: ReaderDep) -> Response:
    """Read one organisation of the directory (ETag, Last-Modified, 304 for If-None-Match)."""
    org = session.get(Organization, organization_id)
    if org is None:
        raise Problem(404, f"No Organization with id {organization_id}.")
    resource = directory_fhir.to_organization(org)
    return read_response(request, resource, etag=content_tag(resource))
