"""The template pages (clinicians): the Questionnaire as a form, submitted through the same `$signpost` function."""

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from signpost.config import Settings
from signpost.db import SessionDep
from signpost.directory import service as directory
from signpost.directory.models import Service
from signpost.errors import Problem
from signpost.geography import service as geography
from signpost.routing import submission as signposting
from signpost.template import assess, validate
from signpost.web import questionnaire as qform
from signpost.web import render
from signpost.web.deps import ClinicianViewer, CsrfChecked, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The posted form, each field with all its values."""
    form = await request.form()
    return {key: [str(v) for v in form.getlist(key)] for key in form}


def first(form: dict[str, list[str]], name: str) -> str:
    """A field's first value, trimmed."""
    return (form.get(name) or [""])[0].strip()


def form_page(
    request: Request,
    settings: Settings,
    form: dict[str, list[str]],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The template form with these answers and messages (`extra`: more for the page, e.g. another form action)."""
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
        identifier=first(form, "identifier") or str(uuid.uuid4()),
        postcode=first(form, "postcode"),
        birth_date=first(form, "birth_date"),
        errors=summary,
        **extra,
    )


def _link_ids() -> set[str]:
    return {i.link_id for i in qform.form_items({})}


@router.get("/template", response_class=HTMLResponse, operation_id="web_template_form")
def template_form(request: Request, settings: SettingsDep, viewer: ClinicianViewer) -> HTMLResponse:
    """The social determinants template as a form."""
    return form_page(request, settings, {})


def patient_errors(form: dict[str, list[str]]) -> dict[str, str]:
    """Messages for a postcode or birth date that cannot be used."""
    found = {}
    postcode = first(form, "postcode")
    if postcode:
        try:
            geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            found["postcode"] = "Enter a real UK postcode, like LS1 4AP, or leave it empty"
    born = first(form, "birth_date")
    if born:
        try:
            if date.fromisoformat(born) > date.today():
                found["birth_date"] = "Date of birth must be in the past"
        except ValueError:
            found["birth_date"] = "Enter the date of birth as year-month-day, like 1980-03-27"
    return found


def prepare_form(session: Any, settings: Settings, actor: Any, form: dict[str, list[str]]) -> tuple[str, Any]:
    """('invalid', (item errors, field errors)) or ('done', (response, signposted, assessment)); stores nothing."""
    identifier = first(form, "identifier")
    try:
        identifier = str(uuid.UUID(identifier))
    except ValueError:
        identifier = str(uuid.uuid4())
    response = qform.response_from_form(form, identifier=identifier)
    checked, issues = validate(response)
    item_errors = qform.errors_by_item(issues, response) if issues else {}
    field_errors = patient_errors(form)
    if item_errors or field_errors:
        return "invalid", (item_errors, field_errors)
    parameters: list[dict[str, Any]] = [{"name": "response", "resource": response}]
    if first(form, "postcode"):
        parameters.append({"name": "postcode", "valueString": first(form, "postcode")})
    if first(form, "birth_date"):
        parameters.append({"name": "birthDate", "valueDate": first(form, "birth_date")})
    done = signposting.prepare(
        session=session,
        body={"resourceType": "Parameters", "parameter": parameters},
        caller=actor,
        settings=settings,
        idempotency_key=None,
        base=settings.public_base_url.rstrip("/") + "/fhir",
    )
    assert checked is not None  # prepare() refuses a response that does not validate
    return "done", (response, done, assess(checked))


def _submit(session: Any, settings: Settings, viewer: Any, form: dict[str, list[str]]) -> tuple[str, Any]:
    """('invalid', (item errors, field errors)) or ('done', result view); commits only a complete submission."""
    outcome, value = prepare_form(session, settings, viewer.actor, form)
    if outcome == "invalid":
        return outcome, value
    _, done, assessment = value
    done.record(session)
    session.commit()
    return "done", result_view(session, settings, done.answer, assessment)


def result_view(session: Any, settings: Settings, bundle: dict[str, Any], assessment: Any) -> dict[str, Any]:
    """The result page's needs, services, SMS text and warnings, from `$signpost`'s answer."""
    resources = [entry["resource"] for entry in bundle.get("entry", [])]
    services = {r["id"]: r for r in resources if r["resourceType"] == "HealthcareService"}
    needs = []
    for need in assessment.needs:
        offered = []
        for request in (r for r in resources if r["resourceType"] == "ServiceRequest"):
            codes = [c.get("code") for rc in request.get("reasonCode", []) for c in rc.get("coding", [])]
            if need.code not in codes:
                continue
            service_id = request["performer"][0]["reference"].split("/", 1)[1]
            healthcare = services.get(service_id, {})
            record = session.get(Service, service_id)
            telecom = {t["system"]: t["value"] for t in healthcare.get("telecom", [])}
            offered.append(
                {
                    "id": service_id,
                    "name": healthcare.get("name", ""),
                    "reasons": [e["valueString"] for e in healthcare.get("extension", []) if "valueString" in e],
                    "phone": telecom.get("phone"),
                    "url": telecom.get("url"),
                    "verification": directory.verification(record, settings.review_months)
                    if record
                    else {"state": "unverified", "text": ""},
                }
            )
        needs.append(
            {
                "code": need.code,
                "display": need.display,
                "urgent": need.urgent,
                "sensitive": need.sensitive,
                "services": offered,
            }
        )
    sms = next((r["payload"][0]["contentString"] for r in resources if r["resourceType"] == "Communication"), "")
    warnings = [
        i["diagnostics"]
        for r in resources
        if r["resourceType"] == "OperationOutcome"
        for i in r.get("issue", [])
        if i.get("severity") in ("warning", "information")
        and i.get("code") != "informational"
        or (i.get("code") == "informational" and "need(s) found" not in i.get("diagnostics", ""))
    ]
    return {"needs": needs, "sms": sms, "warnings": warnings}


@router.post("/template", response_class=HTMLResponse, operation_id="web_template_submit")
async def template_submit(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: ClinicianViewer, _csrf: CsrfChecked
) -> HTMLResponse:
    """Show follow-ups for the answers so far, or submit them through `$signpost` and show the services."""
    form = await form_lists(request)
    if first(form, "action") != "submit":
        return form_page(request, settings, form)
    return await _finish(request, session, settings, viewer, form, leaflet_only=False)


async def _finish(
    request: Request, session: Any, settings: Settings, viewer: Any, form: dict[str, list[str]], *, leaflet_only: bool
) -> HTMLResponse:
    try:
        outcome, value = await run_in_threadpool(_submit, session, settings, viewer, form)
    except Problem as problem:
        session.rollback()
        return form_page(request, settings, form, status=problem.status, errors={"template": problem.detail})
    if outcome == "invalid":
        item_errors, field_errors = value
        return form_page(request, settings, form, status=422, errors=item_errors, field_errors=field_errors)
    kept = [
        (k, v)
        for k, v in form.items()
        if k.startswith(qform.FIELD_PREFIX) or k in ("identifier", "postcode", "birth_date")
    ]
    return render.page(
        request,
        settings,
        "template/result.html",
        form_fields=kept,
        leaflet_only=leaflet_only,
        large_print=first(form, "large_print") == "1",
        **value,
    )


@router.post("/template/leaflet", response_class=HTMLResponse, operation_id="web_template_leaflet")
async def template_leaflet(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: ClinicianViewer, _csrf: CsrfChecked
) -> HTMLResponse:
    """The patient leaflet again (standard or large print): the same answers, recognised as a retry, not recounted."""
    form = await form_lists(request)
    return await _finish(request, session, settings, viewer, form, leaflet_only=first(form, "large_print") == "1")
