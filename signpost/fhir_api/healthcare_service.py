"""FHIR HealthcareService: read and search over the directory's services."""

from typing import Annotated

from fastapi import Depends, Query, Request

from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory import service as directory
from signpost.fhir_api import service_capacity
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, page_size
from signpost.fhir_api.routes import fhir_router

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]


@router.get("/HealthcareService", operation_id="search_healthcare_services")
def search_healthcare_services(
    request: Request,
    session: SessionDep,
    caller: ReaderDep,
    settings: SettingsDep,
    name: Annotated[str | None, Query(description="Name starts with")] = None,
    name_contains: Annotated[str | None, Query(alias="name:contains", description="Name contains")] = None,
    service_category: Annotated[
        str | None, Query(alias="service-category", description="Category token (system|code), comma for any")
    ] = None,
    service_type: Annotated[str | None, Query(alias="service-type", description="LGSL service id token")] = None,
    active: Annotated[str | None, Query(description="true or false")] = None,
    organization: Annotated[str | None, Query(description="Organization reference")] = None,
    location: Annotated[str | None, Query(description="Location reference")] = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated", description="e.g. ge2026-01-01")] = None,
    count: Annotated[int | None, Query(alias="_count")] = None,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> FhirResponse:
    """Search directory services as HealthcareService resources."""
    size = page_size(count)
    params = directory_fhir.HealthcareServiceSearch(
        name=name,
        name_contains=name_contains,
        service_category=service_category,
        service_type=service_type,
        active=active,
        last_updated=last_updated,
        organization=organization,
        location=location,
    )
    rows, total = directory_fhir.search_healthcare_services(session=session, params=params, offset=offset, count=size)
    resources = [directory_fhir.to_healthcare_service(s, review_months=settings.review_months) for s in rows]
    resources = service_capacity.add_capacity(session, resources)
    return FhirResponse(
        searchset(request, resources=resources, total=total, offset=offset, count=size, base=fhir_base(request))
    )


@router.get("/HealthcareService/{service_id}", operation_id="read_healthcare_service")
def read_healthcare_service(
    service_id: str, session: SessionDep, caller: ReaderDep, settings: SettingsDep
) -> FhirResponse:
    """Read one directory service as a HealthcareService."""
    service = directory.get_service(session=session, service_id=service_id)
    resource = directory_fhir.to_healthcare_service(service, review_months=settings.review_months)
    [resource] = service_capacity.add_capacity(session, [resource])
    return FhirResponse(resource, headers={"ETag": f'W/"{service.version}"'})
