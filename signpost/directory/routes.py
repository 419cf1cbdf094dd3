"""Directory maintenance and search API (`/api/v1/directory`): thin routes over the service module."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse, ORJSONResponse

from signpost.auth import Caller, Role, allow
from signpost.config import Settings, SettingsDep
from signpost.db import SessionDep
from signpost.directory import categorise, maintenance
from signpost.directory import search as directory_search
from signpost.directory import service as directory
from signpost.directory.models import Service, TaxonomyTerm
from signpost.directory.schemas import ServiceIn, ServicePatch, StatusIn, SuggestionDecision, VerifyIn
from signpost.errors import Problem

EditorDep = Annotated[Caller, Depends(allow(Role.editor))]
ReaderDep = Annotated[Caller, Depends(allow(Role.clinician, Role.prescriber, Role.editor))]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])


def _expected_version(service_id: str, if_match: str | None) -> int | None:
    """The version an If-Match names (None when absent: the service layer answers 428)."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    sid, _, version = value.rpartition(".")
    if sid != service_id or not version.isdigit():
        raise Problem(
            412,
            "If-Match does not name this service's ETag; fetch the service and use its ETag.",
            errors=[{"loc": "If-Match", "message": "does not match"}],
        )
    return int(version)


def _answer(session: Any, service: Service, settings: Settings, status: int = 200) -> JSONResponse:
    body = directory.service_detail(session=session, service=service, review_months=settings.review_months)
    headers = {"ETag": directory.etag(service)}
    if status == 201:
        headers["Location"] = f"/api/v1/directory/services/{service.id}"
    return JSONResponse(body, status_code=status, headers=headers)


def _written_answer(session: Any, service: Service, settings: Settings, status: int = 200) -> JSONResponse:
    session.flush()
    session.refresh(service)
    return _answer(session, service, settings, status)


@router.post("/services", operation_id="directory_create_service", status_code=201)
def create_service(
    data: ServiceIn,
    session: SessionDep,
    caller: EditorDep,
    settings: SettingsDep,
    allow_duplicate: Annotated[bool, Query(description="Add it even if it looks like one held.")] = False,
) -> JSONResponse:
    """Add a service; a likely duplicate is refused (409) with the match unless allow_duplicate=true."""
    service = directory.create_service(session=session, data=data, actor=caller.name, allow_duplicate=allow_duplicate)
    return _written_answer(session, service, settings, 201)


@router.get("/services/{service_id}", operation_id="directory_read_service")
def read_service(service_id: str, session: SessionDep, caller: ReaderDep, settings: SettingsDep) -> JSONResponse:
    """One service, retired ones included, with its verification state and ETag."""
    return _answer(session, directory.get_service(session=session, service_id=service_id), settings)


@router.patch("/services/{service_id}", operation_id="directory_update_service")
def update_service(
    service_id: str,
    data: ServicePatch,
    session: SessionDep,
    caller: EditorDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Change the fields sent; needs If-Match with the current ETag (428 without, 412 when stale)."""
    service = directory.update_service(
        session=session,
        service_id=service_id,
        data=data,
        actor=caller.name,
        expected_version=_expected_version(service_id, if_match),
    )
    return _written_answer(session, service, settings)


@router.post("/services/{service_id}/verify", operation_id="directory_verify_service")
def verify_service(
    service_id: str,
    session: SessionDep,
    caller: EditorDep,
    settings: SettingsDep,
    data: VerifyIn | None = None,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Record that the service was checked: sets assured_date (today by default) and the assurer."""
    data = data or VerifyIn()
    service = directory.verify_service(
        session=session,
        service_id=service_id,
        actor=caller.name,
        expected_version=_expected_version(service_id, if_match),
        assured_date=data.assured_date,
        assurer_email=data.assurer_email,
    )
    return _written_answer(session, service, settings)


@router.post("/services/{service_id}/status", operation_id="directory_change_service_status")
def change_status(
    service_id: str,
    data: StatusIn,
    session: SessionDep,
    caller: EditorDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    """Set the status: active, temporarily closed, inactive or defunct."""
    service = directory.change_status(
        session=session,
        service_id=service_id,
        status=data.status,
        actor=caller.name,
        expected_version=_expected_version(service_id, if_match),
    )
    return _written_answer(session, service, settings)


@router.post("/services/{service_id}/retire", operation_id="directory_retire_service")
def retire_service(
    service_id: str, session: SessionDep, caller: EditorDep, settings: SettingsDep, if_match: IfMatch = None
) -> JSONResponse:
    """Retire softly: gone from search and routing, still readable for the counts that name it."""
    service = directory.retire_service(
        session=session,
        service_id=service_id,
        actor=caller.name,
        expected_version=_expected_version(service_id, if_match),
    )
    return _written_answer(session, service, settings)


@router.get("/services/{service_id}/history", operation_id="directory_service_history")
def service_history(service_id: str, session: SessionDep, caller: ReaderDep) -> dict[str, Any]:
    """The audit trail of a service: who changed what, when, before and after, oldest first."""
    rows = directory.history(session=session, service_id=service_id)
    return {
        "service_id": service_id,
        "changes": [
            {"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "version": r.version, "fields": r.changes}
            for r in rows
        ],
    }


@router.post("/services/{service_id}/restore/{version}", operation_id="directory_restore_version")
def restore_version(
    service_id: str, version: int, session: SessionDep, caller: EditorDep, response: Response, if_match: IfMatch = None
) -> dict[str, Any]:
    """Put the service back as it was at an earlier version (an audited edit); needs If-Match like any edit."""
    service, skipped = directory.restore_version(
        session=session,
        service_id=service_id,
        version=version,
        actor=caller.name,
        expected_version=_expected_version(service_id, if_match),
    )
    response.headers["ETag"] = directory.etag(service)
    return {"id": service.id, "version": service.version, "restored_from": version, "not_restored": skipped}


@router.get("/review-queue", operation_id="directory_review_queue")
def review_queue(
    session: SessionDep,
    caller: EditorDep,
    settings: SettingsDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    import_run: Annotated[int | None, Query(ge=1, description="only services an import run last wrote")] = None,
) -> dict[str, Any]:
    """Services due or overdue for review, or with failed links, oldest first (of one import run if given)."""
    items, total = directory.review_queue(
        session=session,
        review_months=settings.review_months,
        limit=per_page,
        offset=(page - 1) * per_page,
        import_run_id=import_run,
    )
    return {
        "total": total,
        "page": page,
        "per_page": per_page,
        "review_months": settings.review_months,
        "items": [
            {
                "id": i.service.id,
                "name": i.service.name,
                "status": i.service.status,
                "verification": directory.verification(i.service, settings.review_months),
                "reasons": i.reasons,
            }
            for i in items
        ],
    }


@router.get("/category-queue", operation_id="directory_category_queue")
def category_queue(
    session: SessionDep,
    caller: EditorDep,
    kind: Annotated[str, Query(pattern="^(suggested|uncategorised)$", description="suggested or uncategorised")],
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    import_run: Annotated[int | None, Query(ge=1, description="only services an import run last wrote")] = None,
) -> dict[str, Any]:
    """Services whose suggested categories await an editor, or that have no category (never offered)."""
    items, total = categorise.category_queue(
        session=session, kind=kind, limit=per_page, offset=(page - 1) * per_page, import_run_id=import_run
    )
    return {
        "kind": kind,
        "total": total,
        "page": page,
        "per_page": per_page,
        "items": [
            {
                "id": i.service_id,
                "name": i.name,
                "organization": i.organization,
                "suggestions": [{"category": s.code, "words": s.words} for s in i.suggestions],
            }
            for i in items
        ],
    }


@router.get("/import-runs", operation_id="directory_import_runs")
def import_runs(session: SessionDep, caller: EditorDep) -> dict[str, Any]:
    """The latest import runs that still mark live services (newest first): the review queues filter on their id."""
    return {
        "items": [
            {
                "id": b.id,
                "started_at": b.started_at.isoformat(),
                "source": b.source,
                "actor": b.actor,
                "services": b.services,
            }
            for b in maintenance.import_batches(session=session)
        ]
    }


@router.post("/category-suggestions", operation_id="directory_decide_suggestions")
def decide_suggestions(session: SessionDep, caller: EditorDep, body: SuggestionDecision) -> dict[str, Any]:
    """Confirm or reject suggested categories in bulk; nothing changes unless every one named is pending."""
    decided = categorise.decide(
        session=session,
        decisions=[(s.service_id, s.category) for s in body.suggestions],
        accept=body.action == "confirm",
        actor=caller.name,
    )
    return {"action": body.action, "decided": [{"service_id": k, "categories": v} for k, v in decided.items()]}


@router.get("/categories", operation_id="directory_categories")
def categories(session: SessionDep, caller: ReaderDep) -> dict[str, Any]:
    """The service categories, with the Local Government Service List ids each maps to."""
    from sqlmodel import select

    terms = session.exec(
        select(TaxonomyTerm).where(TaxonomyTerm.taxonomy == directory.CATEGORY_TAXONOMY).order_by(TaxonomyTerm.code)
    ).all()
    return {
        "categories": [
            {"id": t.id, "code": t.code, "name": t.name, "description": t.description, "lgsl_ids": t.lgsl_ids}
            for t in terms
        ]
    }


@router.get("/search", operation_id="directory_search", response_model=dict[str, Any])
def search(
    request: Request,
    response: Response,
    session: SessionDep,
    caller: ReaderDep,
    settings: SettingsDep,
    text: Annotated[str | None, Query(max_length=200, description="Words to find (every word must match).")] = None,
    category: Annotated[list[str] | None, Query(description="Service category codes (any of).")] = None,
    need: Annotated[str | None, Query(description="A social-need code, routed to its categories.")] = None,
    age: Annotated[int | None, Query(ge=0, le=130)] = None,
    ward: Annotated[str | None, Query(pattern=r"^[EW]05\d{6}$", description="Ward GSS code served.")] = None,
    delivery: Annotated[str | None, Query(pattern="^(in_person|phone|online)$")] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-zA-Z]{2,3}$")] = None,
    free: Annotated[bool | None, Query()] = None,
    open_now: Annotated[bool, Query()] = False,
    status: Annotated[list[str] | None, Query(description="Statuses to include (default active).")] = None,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
    radius_km: Annotated[float, Query(gt=0, le=200)] = 5.0,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Search the directory: full text, filters, proximity; each hit says why it matched."""
    statuses = status or ["active"]
    allowed = {"active", "inactive", "defunct", "temporarily closed"}
    for i, value in enumerate(statuses):
        if value not in allowed:
            raise Problem(
                422, f"status: {value!r} is not a status", errors=[{"loc": f"status.{i}", "message": "unknown"}]
            )
    query = directory_search.ServiceQuery(
        text=text,
        categories=category or [],
        need=need,
        age=age,
        ward_code=ward,
        local_authorities=settings.local_authorities,
        delivery=delivery,
        language=language,
        free=free,
        open_now=open_now,
        statuses=statuses,
        postcode=postcode,
        radius_km=radius_km,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    result = directory_search.search_services(session=session, query=query)
    # Written straight to JSON: the answer is plain strings and numbers, and FastAPI's generic encoder, walking
    # every value of twenty hits, took longer than a search's own Python.
    body = {
        "total": result.total,
        "page": page,
        "per_page": per_page,
        "place": {"postcode": result.place.postcode} if result.place else None,
        "hits": [
            {
                "id": hit.service.id,
                "name": hit.service.name,
                "description": hit.service.description,
                "url": hit.service.url,
                "status": hit.service.status,
                "categories": hit.categories,
                "distance_km": hit.distance_km,
                "no_premises": hit.no_premises,
                "verification": directory.verification(hit.service, settings.review_months),
                "reasons": hit.reasons,
            }
            for hit in result.hits
        ],
    }
    return ORJSONResponse(body)
