"""The template launched from an EHR (SMART App Launch): launch, callback, the form, and the write-back result.

No Signpost sign-in: the EHR's authorization server vouches for the user. The launch (token, patient id, postcode,
birth date) stays in this process's memory, found by a random cookie; a problem drops it and says so on a page."""

import hashlib
import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signpost.auth.deps import Public
from signpost.auth.models import Role
from signpost.auth.service import Actor
from signpost.config import Settings
from signpost.db import SessionDep
from signpost.fhir_api.signposting import bundle as signpost_answer
from signpost.flows import signposting, smart_writeback
from signpost.geography import service as geography
from signpost.smart import ehr, sessions
from signpost.smart import launch as smart
from signpost.web import deps, render, template_routes
from signpost.web.deps import SettingsDep

router = APIRouter(prefix="/smart", include_in_schema=False, tags=["web"])
SMART_ACTOR = Actor(key_id=None, name="SMART launch", role=Role.clinician)


def _redirect_uri(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + "/smart/callback"


def _problem_page(request: Request, settings: Settings, status: int, title: str, detail: str) -> HTMLResponse:
    response = render.page(request, settings, "smart/problem.html", status=status, title=title, detail=detail)
    response.delete_cookie(sessions.COOKIE, path="/smart")
    return response


def _csrf(settings: Settings, key: str) -> str:
    csrf_key = hashlib.sha256(("smart-csrf:" + settings.secret_key).encode()).digest()
    return hmac.new(csrf_key, key.encode(), hashlib.sha256).hexdigest()


@router.get("/launch", response_class=HTMLResponse, dependencies=[Public], operation_id="smart_launch")
async def launch(request: Request, settings: SettingsDep, iss: str = "", launch: str = "") -> Response:
    """EHR launch: discover the EHR's SMART configuration and send the browser to authorise Signpost."""
    if not iss or not launch:
        return _problem_page(
            request,
            settings,
            400,
            "Open Signpost from the patient's record",
            "This address is opened by a clinical system, which adds the launch details. Open Signpost from the "
            "patient's record in your clinical system.",
        )
    try:
        started, location = await smart.begin(
            settings=settings, issuer=iss, launch_token=launch, redirect_uri=_redirect_uri(settings)
        )
    except smart.LaunchRefused as refused:
        return _problem_page(request, settings, 400, "Signpost could not be launched", str(refused))
    response = RedirectResponse(location, status_code=302)
    response.set_cookie(
        sessions.COOKIE,
        sessions.start(started),
        httponly=True,
        secure=deps.secure_cookies(request),
        samesite="lax",
        path="/smart",
    )
    return response


@router.get("/callback", response_class=HTMLResponse, dependencies=[Public], operation_id="smart_callback")
async def callback(
    request: Request, settings: SettingsDep, code: str = "", state: str = "", error: str = ""
) -> Response:
    """The authorization server's answer: check state, exchange the code with the PKCE verifier, read the patient."""
    key = request.cookies.get(sessions.COOKIE)
    held = sessions.find(key)
    if held is None or held.authorised or not state or not hmac.compare_digest(state, held.state):
        sessions.drop(key)
        return _problem_page(
            request,
            settings,
            400,
            "This launch could not be checked",
            "The answer from the clinical system does not match a launch started in this browser (its state "
            "differs, or the launch expired). Nothing was kept. Open Signpost from the patient's record again.",
        )
    if error or not code:
        sessions.drop(key)
        denied = error == "access_denied"
        return _problem_page(
            request,
            settings,
            403 if denied else 400,
            "Signpost was not given access" if denied else "Signpost could not be launched",
            "Access to the record was not granted, so the template cannot be opened from it. Nothing was kept."
            if denied
            else "The clinical system did not authorise the launch. Nothing was kept.",
        )
    try:
        await smart.authorise(settings=settings, launch=held, code=code, redirect_uri=_redirect_uri(settings))
        patient = await ehr.read(
            base=held.issuer, path=f"Patient/{held.patient_id}", token=held.access_token, timeout=settings.ehr_timeout_s
        )
    except (smart.LaunchRefused, ehr.EhrUnavailable) as refused:
        sessions.drop(key)
        return _problem_page(request, settings, 400, "Signpost could not be launched", str(refused))
    held.birth_date = patient.get("birthDate") if isinstance(patient.get("birthDate"), str) else None
    for address in patient.get("address") or []:
        if isinstance(address, dict) and isinstance(address.get("postalCode"), str):
            held.postcode = address["postalCode"]
            break
    return RedirectResponse("/smart/template", status_code=303)


def _launched(request: Request) -> tuple[str | None, sessions.Launch | None]:
    key = request.cookies.get(sessions.COOKIE)
    held = sessions.find(key)
    return key, held if held is not None and held.authorised else None


def _no_launch(request: Request, settings: Settings) -> HTMLResponse:
    return _problem_page(
        request,
        settings,
        400,
        "Open Signpost from the patient's record",
        "There is no launch from a clinical system in progress in this browser (it finished or expired). Open "
        "Signpost from the patient's record again.",
    )


def _form(
    request: Request,
    settings: Settings,
    key: str,
    held: sessions.Launch,
    form: dict[str, list[str]],
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return template_routes.form_page(
        request,
        settings,
        form,
        status=status,
        errors=errors,
        form_action="/smart/template",
        from_record={"postcode": bool(held.postcode), "birth_date": bool(held.birth_date)},
        csrf_token=_csrf(settings, key),
    )


@router.get("/template", response_class=HTMLResponse, dependencies=[Public], operation_id="smart_template_form")
def template_form(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The template, for the patient in the launching EHR's context."""
    key, held = _launched(request)
    if held is None or key is None:
        return _no_launch(request, settings)
    return _form(request, settings, key, held, {})


def _from_record(held: sessions.Launch) -> dict[str, list[str]]:
    """Postcode and birth date from the record, if usable (a bad one is left out, not shown as the user's error)."""
    found = {}
    if held.postcode:
        try:
            geography.normalise_postcode(held.postcode)
            found["postcode"] = [held.postcode]
        except geography.InvalidPostcode:
            pass
    if held.birth_date and not template_routes.patient_errors({"birth_date": [held.birth_date]}):
        found["birth_date"] = [held.birth_date]
    return found


@router.post("/template", response_class=HTMLResponse, dependencies=[Public], operation_id="smart_template_submit")
async def template_submit(request: Request, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Follow-ups, or: submit through `$signpost`, write back to the EHR where scopes allow, show the result."""
    key, held = _launched(request)
    if held is None or key is None:
        return _no_launch(request, settings)
    form = await template_routes.form_lists(request)
    if not hmac.compare_digest(template_routes.first(form, "csrf_token"), _csrf(settings, key)):
        return _problem_page(
            request,
            settings,
            403,
            "This form has expired",
            "The form did not come from this launch. Open Signpost from the patient's record again.",
        )
    form = {k: v for k, v in form.items() if k not in ("postcode", "birth_date")} | _from_record(held)
    if template_routes.first(form, "action") != "submit":
        return _form(request, settings, key, held, form)
    outcome, value = template_routes.form_submission(form)
    if outcome == "invalid":
        item_errors, _ = value
        return _form(request, settings, key, held, form, status=422, errors=item_errors)
    done = await signposting.signpost(
        session=session,
        recorder=request.app.state.recorder,
        submission=value,
        caller=SMART_ACTOR,
        settings=settings,
        idempotency_key=None,
    )
    view = await run_in_threadpool(template_routes.result_view, session, settings, done)
    fhir_base = settings.public_base_url.rstrip("/") + "/fhir"
    written = await smart_writeback.write_back(
        launch=held,
        response=value.response,
        bundle=signpost_answer(done, base=fhir_base),
        fhir_base=fhir_base,
        timeout=settings.ehr_timeout_s,
    )
    sessions.drop(key)  # done: the token, the patient id, postcode and birth date go with it
    page = render.page(request, settings, "smart/result.html", written=written, **view)
    page.delete_cookie(sessions.COOKIE, path="/smart")
    return page
