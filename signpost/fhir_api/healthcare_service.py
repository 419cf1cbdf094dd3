"""FHIR HealthcareService: read, vread, history and search over the directory's services."""

from typing import Annotated, Any

from fastapi import Depends, Request, Response
from sqlmodel import Session, col, select

from signpost.auth import Caller, Role, allow
from signpost.config import SettingsDep
from signpost.db import SessionDep
from signpost.directory import fhir as directory_fhir
from signpost.directory import read_model
from signpost.directory import service as directory
from signpost.directory.models import Location, Organization
from signpost.errors import Problem
from signpost.fhir_api import search, service_capacity
from signpost.fhir_api.bundle import fhir_base, searchset
from signpost.fhir_api.io import FhirResponse, read_response
from signpost.fhir_api.routes import fhir_router
from signpost.fhir_api.search import Param

router = fhir_router(["fhir", "directory"])
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]

PARAMS = (
    Param("_id", "token", "The service's id."),
    Param("_lastUpdated", "date", "When the service last changed, e.g. ge2026-01-01."),
    Param("identifier", "token", f"{directory_fhir.CANONICAL}/directory/service|<id>."),
    Param("name", "string", "Name starts with (case-insensitive).", ("exact", "contains")),
    Param(
        "service-category",
        "token",
        f"Category code ({directory_fhir.CATEGORY_SYSTEM}); :not excludes.",
        ("not",),
    ),
    Param("service-type", "token", f"Local Government Service List id ({directory_fhir.LGSL_SYSTEM})."),
    Param("active", "token", "true: open to referrals; false: retired or not active."),
    Param("organization", "reference", "The Organization that provides the service."),
    Param("location", "reference", "A Location where the service is offered."),
)
INCLUDES = ("HealthcareService:organization", "HealthcareService:location")
KINDS: dict[str, tuple[Any, Any]] = {
    "Organization": (Organization, directory_fhir.to_organization),
    "Location": (Location, directory_fhir.to_location),
}


def _included(session: Any, found: list[dict[str, Any]], include: tuple[str, ...]) -> list[dict[str, Any]]:
    """The Organizations and Locations the page's services point at, once each (`_include`), read together."""
    refs: list[str] = []
    for resource in found:
        if "HealthcareService:organization" in include:
            refs.append(resource["providedBy"]["reference"])
        if "HealthcareService:location" in include:
            refs += [r["reference"] for r in resource.get("location", [])]
    refs = list(dict.fromkeys(refs))
    wanted = {kind: [ref.partition("/")[2] for ref in refs if ref.startswith(kind + "/")] for kind in KINDS}
    drawn: dict[str, dict[str, Any]] = {}
    for kind, (model, draw) in KINDS.items():
        if wanted[kind]:
            for row in session.exec(select(model).where(col(model.id).in_(wanted[kind]))).all():
                drawn[f"{kind}/{row.id}"] = draw(row)
    return [drawn[ref] for ref in refs if ref in drawn]


@router.get(
    "/HealthcareService",
    operation_id="search_healthcare_services",
    openapi_extra=search.route_extra(PARAMS, INCLUDES),
)
def search_healthcare_services(
    request: Request, session: SessionDep, caller: ReaderDep, settings: SettingsDep
) -> FhirResponse:
    """Search directory services as HealthcareService resources."""
    found = search.parse(request, params=PARAMS, includes=INCLUDES)
    rows, total = directory_fhir.search_healthcare_services(
        session=session, criteria=found.criteria, offset=found.offset, count=0 if found.summary_count else found.count
    )
    # The page's services read together (a handful of queries for the page, not five per service).
    resources = [
        directory_fhir.to_healthcare_service(view.service, review_months=settings.review_months, view=view)
        for view in read_model.views(session=session, services=rows)
    ]
    resources = service_capacity.add_capacity(session, resources)
    included = _included(session, resources, found.include)
    return FhirResponse(searchset(request, resources=resources, total=total, search=found, included=included))


@router.get("/HealthcareService/{service_id}", operation_id="read_healthcare_service")
def read_healthcare_service(
    service_id: str, request: Request, session: SessionDep, caller: ReaderDep, settings: SettingsDep
) -> Response:
    """Read one directory service as a HealthcareService (ETag, Last-Modified, 304 for If-None-Match)."""
    service = directory.get_service(session=session, service_id=service_id)
    resource = directory_fhir.to_healthcare_service(service, review_months=settings.review_months)
    [resource] = service_capacity.add_capacity(session, [resource])
    return read_response(request, resource)


def _version_entry(base: str, row: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    lastmod = directory_fhir.instant(row.at)
    entry: dict[str, Any] = {
        "fullUrl": f"{base}/HealthcareService/{row.service_id}",
        "request": {
            "method": "POST" if row.action == "create" else "PUT",
            "url": "HealthcareService" if row.action == "create" else f"HealthcareService/{row.service_id}",
        },
        "response": {
            "status": "201 Created" if row.action == "create" else "200 OK",
            "etag": f'W/"{row.version}"',
            "lastModified": lastmod,
        },
    }
    if current is not None:
        entry["resource"] = current
    return entry


@router.get("/HealthcareService/{service_id}/_history", operation_id="history_healthcare_service")
def history_healthcare_service(
    service_id: str, request: Request, session: SessionDep, caller: ReaderDep, settings: SettingsDep
) -> FhirResponse:
    """The versions of one service, newest first, from the directory's audit trail."""
    service = directory.get_service(session=session, service_id=service_id)
    current = directory_fhir.to_healthcare_service(service, review_months=settings.review_months)
    rows = directory.history(session=session, service_id=service_id)
    # One entry per version: the audit holds each change, the database holds the newest version whole.
    latest = {row.version: row for row in rows}
    base = fhir_base(request)
    entries = [
        _version_entry(base, row, current if version == service.version else None)
        for version, row in sorted(latest.items(), reverse=True)
    ]
    return FhirResponse(
        {
            "resourceType": "Bundle",
            "type": "history",
            "total": len(entries),
            "link": [{"relation": "self", "url": f"{base}/HealthcareService/{service_id}/_history"}],
            **({"entry": entries} if entries else {}),
        }
    )


def _as_it_was(session: Session, service: Any, version: int, *, review_months: int) -> dict[str, Any]:
    """An earlier version, drawn by the same code as the current one: the audit trail holds what each change altered,
    not whole resources, so its fields are put back inside a savepoint that is rolled back once drawn."""
    savepoint = session.begin_nested()
    try:
        directory.restore_version(
            session=session, service_id=service.id, version=version, actor="vread", expected_version=service.version
        )
        return directory_fhir.to_healthcare_service(service, review_months=review_months)
    finally:
        savepoint.rollback()


@router.get("/HealthcareService/{service_id}/_history/{version_id}", operation_id="vread_healthcare_service")
def vread_healthcare_service(
    service_id: str,
    version_id: str,
    request: Request,
    session: SessionDep,
    caller: ReaderDep,
    settings: SettingsDep,
) -> Response:
    """One version of a service: the current one, or an earlier one worked back from the audit trail."""
    service = directory.get_service(session=session, service_id=service_id)
    if version_id == str(service.version):
        return read_response(
            request, directory_fhir.to_healthcare_service(service, review_months=settings.review_months)
        )
    written = {str(row.version): row.at for row in directory.history(session=session, service_id=service_id)}
    if version_id in written:
        resource = _as_it_was(session, service, int(version_id), review_months=settings.review_months)
        resource["meta"] = {"versionId": version_id, "lastUpdated": directory_fhir.instant(written[version_id])}
        return read_response(request, resource)
    raise Problem(404, f"HealthcareService/{service_id} has no version {version_id}.")
