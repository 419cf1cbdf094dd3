"""The template pages (clinicians): the Questionnaire as a form, submitted through the same `$signpost` function."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from signpost.config import Settings
from signpost.db import SessionDep
from signpost.directory import read_model
from signpost.directory import service as directory
from signpost.errors import Problem
from signpost.flows import signposting
from signpost.geography import service as geography
from signpost.routing import Match, leaflet
from signpost.template import validate
from signpost.web import dates, render
from signpost.web import questionnaire as qform
from signpost.web.deps import ClinicianViewer, CsrfChecked, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])


async def _form_lists(request: Request) -> dict[str, list[str]]:
    form = await request.form()
    return {key: [str(v) for v in form.getlist(key)] for key in form}


def _first(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _form_page(
    request: Request,
    settings: Settings,
    form: dict[str, list[str]],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    errors = errors or {}
    summary = {
        qform.FIELD_PREFIX + link + "-1" if link in _link_ids() else link: message for link, message in errors.items()
    }
    summary.update(field_errors or {})
    return render.page(
        request,
        settings,
        "template/form.html",
        status=status,
        title=qform.template().get("title", "Template"),
        items=qform.form_items(form, errors),
        identifier=_first(form, "identifier") or str(uuid.uuid4()),
        postcode=_first(form, "postcode"),
        birth_date=dates.parts(_single(form), "birth_date"),
        errors=summary,
        **extra,
    )


def _single(form: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[0] for key, values in form.items() if values}


def _link_ids() -> set[str]:
    return {i.link_id for i in qform.form_items({})}


@router.get("/template", response_class=HTMLResponse, operation_id="web_template_form")
def template_form(request: Request, settings: SettingsDep, viewer: ClinicianViewer) -> HTMLResponse:
    """The social determinants template as a form."""
    return _form_page(request, settings, {})


def _patient_errors(form: dict[str, list[str]]) -> dict[str, str]:
    found = {}
    postcode = _first(form, "postcode")
    if postcode:
        try:
            geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            found["postcode"] = "Enter a real UK postcode, like LS1 4AP, or leave it empty"
    _, problem = dates.read(dates.parts(_single(form), "birth_date"))
    if problem:
        found["birth_date"] = problem
    return found


def form_submission(form: dict[str, list[str]]) -> tuple[str, Any]:
    """('invalid', (item errors, field errors)) or ('valid', the submission for the signposting flow)."""
    identifier = _first(form, "identifier")
    try:
        identifier = str(uuid.UUID(identifier))
    except ValueError:
        identifier = str(uuid.uuid4())
    response = qform.response_from_form(form, identifier=identifier)
    checked, issues = validate(response)
    item_errors = qform.errors_by_item(issues, response) if issues else {}
    field_errors = _patient_errors(form)
    if item_errors or field_errors:
        return "invalid", (item_errors, field_errors)
    born, _ = dates.read(dates.parts(_single(form), "birth_date"))
    return "valid", signposting.Submission(
        response=response, postcode=_first(form, "postcode") or None, birth_date=born.isoformat() if born else None
    )


def _shown(session: Any, settings: Settings, match: Match, records: dict[str, Any]) -> dict[str, Any]:
    """One offer as the page shows it: why, what it misses, how to reach it, how far it can be trusted."""
    record = records.get(match.service_id)
    return {
        "id": match.service_id,
        "name": match.name,
        "reasons": match.reasons,
        "misses": match.misses,
        "phone": match.phone,
        "url": match.url,
        "distance_km": match.distance_km,
        "verification": directory.verification(record, settings.review_months)
        if record
        else {"state": "unverified", "text": ""},
    }


def _result_view(session: Any, settings: Settings, done: signposting.Signposted) -> dict[str, Any]:
    """The page's view of what signposting found: the same domain objects `$signpost`'s Bundle is shaped from."""
    assessment, offers = done.assessment, done.offers
    shown = {m.service_id for o in offers for m in [*o.act_now, *o.matches]}
    records = read_model.services(session=session, service_ids=sorted(shown))
    needs = []
    by_code = {o.need.code: o for o in offers}
    for need in assessment.needs:
        offer = by_code.get(need.code)
        needs.append(
            {
                "code": need.code,
                "display": need.display,
                "urgent": need.urgent,
                "sensitive": need.sensitive,
                "call_999": bool(offer and offer.call_999),
                "note": offer.note if offer else None,
                "act_now": [_shown(session, settings, m, records) for m in offer.act_now] if offer else [],
                "act_now_note": offer.act_now_note if offer else None,
                "services": [_shown(session, settings, m, records) for m in offer.matches] if offer else [],
            }
        )
    # Notices about a need are shown at the top of that need (from its offer); the rest at the top of the page.
    content = done.leaflet
    return {
        "needs": needs,
        "consent": assessment.consent,
        "sms": done.sms or "",
        "warnings": [notice.text for notice in done.notices],
        "leaflet": content,
        "leaflet_html": leaflet.html_body(content, level=3) if content else "",
        "leaflet_html_large": leaflet.html_body(content, level=2) if content else "",
    }


@router.post("/template", response_class=HTMLResponse, operation_id="web_template_submit")
async def template_submit(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: ClinicianViewer, _csrf: CsrfChecked
) -> HTMLResponse:
    """Show follow-ups for the answers so far, or submit them through `$signpost` and show the services."""
    form = await _form_lists(request)
    if _first(form, "action") != "submit":
        return _form_page(request, settings, form)
    return await _finish(request, session, settings, viewer, form, leaflet_only=False)


async def _finish(
    request: Request, session: Any, settings: Settings, viewer: Any, form: dict[str, list[str]], *, leaflet_only: bool
) -> HTMLResponse:
    outcome, value = form_submission(form)
    if outcome == "invalid":
        item_errors, field_errors = value
        return _form_page(request, settings, form, status=422, errors=item_errors, field_errors=field_errors)
    try:
        done = await signposting.signpost(
            session=session,
            recorder=request.app.state.recorder,
            submission=value,
            caller=viewer.actor,
            settings=settings,
            idempotency_key=None,
        )
    except Problem as problem:
        await run_in_threadpool(session.rollback)
        return _form_page(request, settings, form, status=problem.status, errors={"template": problem.detail})
    view = await run_in_threadpool(_result_view, session, settings, done)
    kept = [
        (k, v)
        for k, v in form.items()
        if k.startswith(qform.FIELD_PREFIX) or k in ("identifier", "postcode") or k.startswith("birth_date")
    ]
    return render.page(
        request,
        settings,
        "template/result.html",
        form_fields=kept,
        leaflet_only=leaflet_only,
        large_print=_first(form, "large_print") == "1",
        **view,
    )


@router.post("/template/leaflet", response_class=HTMLResponse, operation_id="web_template_leaflet")
async def template_leaflet(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: ClinicianViewer, _csrf: CsrfChecked
) -> HTMLResponse:
    """The patient leaflet again (standard or large print): the same answers, recognised as a retry, not recounted."""
    form = await _form_lists(request)
    return await _finish(request, session, settings, viewer, form, leaflet_only=_first(form, "large_print") == "1")


# What the SMART launch's pages (smart_routes) use of the template pages.
form_page = _form_page
form_lists = _form_lists
first = _first
patient_errors = _patient_errors
result_view = _result_view
