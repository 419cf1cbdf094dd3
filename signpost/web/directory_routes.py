"""Directory pages: search (prescribers, clinicians, editors), a service's whole record, recording a signpost."""

import json
import uuid
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost.auth import users
from signpost.config import Settings, data_dir
from signpost.db import SessionDep
from signpost.directory import search
from signpost.directory import service as directory
from signpost.errors import Problem
from signpost.events.schemas import SignpostCreate
from signpost.flows import prescribing
from signpost.geography import service as geography
from signpost.template import conformance
from signpost.web import dates, deps, render
from signpost.web.deps import CsrfChecked, PrescriberViewer, RecorderViewer, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])
FormStr = Annotated[str, Form()]
DELIVERY = [("in_person", "In person"), ("phone", "By phone"), ("online", "Online")]
RADII = [("1", "1 km"), ("2", "2 km"), ("5", "5 km"), ("10", "10 km"), ("25", "25 km")]


@cache
def categories() -> list[tuple[str, str]]:
    """The directory's service categories (code, name), from the shipped taxonomy."""
    taxonomy = json.loads((data_dir("directory") / "taxonomy.json").read_text())
    return [(t["code"], t["name"]) for t in taxonomy.get("taxonomy_terms", []) if not t.get("parent_id")]


def needs() -> list[tuple[str, str]]:
    return [(code, concept.get("display", code)) for code, concept in conformance.need_concepts().items()]


def _query(params: dict[str, str]) -> tuple[search.ServiceQuery | None, dict[str, str]]:
    """The search form's fields as a ServiceQuery, or the errors that say which field is wrong."""
    errors: dict[str, str] = {}
    age: int | None = None
    if params.get("age"):
        if params["age"].isdigit() and int(params["age"]) <= 120:
            age = int(params["age"])
        else:
            errors["age"] = "Enter an age in whole years, like 45"
    radius = 5.0
    if params.get("radius"):
        try:
            radius = float(params["radius"])
        except ValueError:
            errors["radius"] = "Choose a distance"
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    if errors:
        return None, errors
    return search.ServiceQuery(
        text=params.get("text") or None,
        categories=[params["category"]] if params.get("category") else [],
        age=age,
        postcode=params.get("postcode") or None,
        radius_km=radius,
        open_now=params.get("open_now") == "on",
        delivery=params.get("delivery") or None,
        language=params.get("language") or None,
        free=True if params.get("free") == "on" else None,
        offset=(max(page, 1) - 1) * 20,
        limit=20,
    ), {}


@router.get("/directory", response_class=HTMLResponse, operation_id="web_directory_search")
def directory_search(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: PrescriberViewer
) -> HTMLResponse:
    """Search the directory: text, category, postcode and distance, age, open now, delivery, language, free."""
    params = {k: v.strip() for k, v in request.query_params.items()}
    searched = any(
        params.get(k)
        for k in ("text", "category", "postcode", "age", "open_now", "delivery", "language", "free", "search")
    )
    result = None
    errors: dict[str, str] = {}
    status = 200
    if searched:
        query, errors = _query(params)
        if query is not None:
            try:
                result = search.search_services(session=session, query=query)
            except Problem as problem:
                errors = {str(e.get("loc", "text")).split(".")[-1]: str(e.get("message")) for e in problem.errors}
                errors = errors or {"text": problem.detail}
        status = 422 if errors else 200
    hits = []
    if result:
        names = search.organization_names(session, [h.service.organization_id for h in result.hits])
        known = prescribing.standing(session=session, service_ids=[h.service.id for h in result.hits])
        hits = [
            {
                "hit": h,
                "organization": names.get(h.service.organization_id, ""),
                "verification": directory.verification(h.service, settings.review_months),
                "capacity": known.capacity.get(h.service.id),
                "reply_time": known.reply_time.get(h.service.id),
            }
            for h in result.hits
        ]
    page = int(params["page"]) if params.get("page", "").isdigit() else 1
    return render.page(
        request,
        settings,
        "directory/search.html",
        status=status,
        params=params,
        errors=errors,
        result=result,
        hits=hits,
        categories=categories(),
        delivery=DELIVERY,
        radii=RADII,
        page=page,
    )


def _service_page(
    request: Request,
    session: Any,
    settings: Settings,
    service_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    notice: str = "",
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    detail = directory.service_detail(session=session, service=record, review_months=settings.review_months)
    known = prescribing.standing(session=session, service_ids=[record.id])
    return render.page(
        request,
        settings,
        "directory/service.html",
        status=status,
        service=detail,
        errors=errors or {},
        notice=notice,
        needs=needs(),
        category_names=dict(categories()),
        form=form or {"kind": "signposted", "needs": [], "postcode": "", "birth_date": {}},
        idempotency=str(uuid.uuid4()),
        capacity=known.capacity.get(record.id),
        reply_time=known.reply_time.get(record.id),
    )


@router.get("/directory/services/{service_id}", response_class=HTMLResponse, operation_id="web_directory_service")
def directory_service(
    service_id: str, request: Request, session: SessionDep, settings: SettingsDep, viewer: PrescriberViewer
) -> HTMLResponse:
    """Everything held about one service."""
    return _service_page(request, session, settings, service_id)


@router.post(
    "/directory/services/{service_id}/record", response_class=HTMLResponse, operation_id="web_directory_record"
)
async def directory_record(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: RecorderViewer,
    _csrf: CsrfChecked,
) -> Response:
    """Record that someone was signposted or referred to this service (an anonymised count, one per need)."""
    form = await request.form()
    chosen = [str(v) for v in form.getlist("needs")]
    kept: dict[str, Any] = {
        "kind": str(form.get("kind", "")),
        "needs": chosen,
        "postcode": str(form.get("postcode", "")),
        "birth_date": dates.parts(form, "birth_date"),
    }
    idempotency = str(form.get("idempotency", "")) or uuid.uuid4().hex
    # The database work runs in a worker thread, off the event loop.
    return await run_in_threadpool(_record, request, session, settings, service_id, kept, idempotency, viewer)


def _record(
    request: Request,
    session: Session,
    settings: Settings,
    service_id: str,
    kept: dict[str, Any],
    idempotency: str,
    viewer: users.Viewer,
) -> HTMLResponse:
    chosen = kept["needs"]
    errors: dict[str, str] = {}
    if not chosen:
        errors["needs"] = "Choose at least one need"
    if kept["kind"] not in ("signposted", "referred"):
        errors["kind"] = "Choose signposted or referred"
    # Each check names its own field: a bad postcode is never reported against the date of birth.
    postcode = kept["postcode"].strip() or None
    if postcode:
        try:
            geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            errors["postcode"] = "Enter a real UK postcode, like LS1 4AP, or leave it empty"
    born, problem = dates.read(kept["birth_date"])
    if problem:
        errors["birth_date"] = problem
    data = None
    if not errors:
        try:
            data = SignpostCreate(
                services=[service_id],
                needs=chosen,
                kind=kept["kind"],  # type: ignore[arg-type]
                postcode=postcode,
                birth_date=born,
            )
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err.get("loc") else "needs"
                errors.setdefault(field if field in kept else "needs", str(err["msg"]))
    if data is not None:
        try:
            count, _ = prescribing.record_signpost(
                session=session,
                data=data,
                idempotency_key=idempotency,
                scope=f"prescriber-web:{viewer.actor.key_id or viewer.username}",
                secret_key=settings.secret_key,
            )
        except Problem as problem:
            session.rollback()
            errors = {str(e.get("loc", "needs")).split("[")[0]: str(e.get("message")) for e in problem.errors}
        else:
            word = "signposting" if data.kind == "signposted" else "referral"
            notice = f"Recorded: one {word} for {count} need{'s' if count != 1 else ''}. Nothing identifying was kept."
            return _service_page(request, session, settings, service_id, notice=notice)
    return _service_page(request, session, settings, service_id, status=422, errors=errors, form=kept)
