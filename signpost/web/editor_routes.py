"""Directory editing pages (editors): review queue, create and edit with conflict handling, verify, status,
retire, audit history, and importing a file."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost.config import Settings
from signpost.db import SessionDep
from signpost.directory import importer
from signpost.directory import service as directory
from signpost.directory.models import ServiceStatus
from signpost.directory.schemas import ServiceIn, ServicePatch
from signpost.errors import Problem
from signpost.web import deps, render
from signpost.web.deps import CsrfChecked, EditorViewer, SettingsDep
from signpost.web.directory_routes import DELIVERY, categories

router = APIRouter(include_in_schema=False, tags=["web"])
TEXT_FIELDS = [
    ("name", "Name"),
    ("description", "Description"),
    ("url", "Website"),
    ("email", "Email"),
    ("eligibility_description", "Who can use it"),
    ("application_process", "How to apply"),
    ("fees_description", "Cost"),
]
AGE_FIELDS = [("minimum_age", "Youngest age"), ("maximum_age", "Oldest age")]
CRISIS = [("", "No"), ("24-hour", "Yes, 24 hours a day"), ("same-day", "Yes, the same day")]
STATUSES = [(s.value, s.value.replace("_", " ").capitalize()) for s in ServiceStatus]


def _form_from(detail: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {name: detail.get(name) or "" for name, _ in TEXT_FIELDS}
    form.update({name: "" if detail.get(name) is None else str(detail[name]) for name, _ in AGE_FIELDS})
    form["delivery_modes"] = list(detail.get("delivery_modes") or [])
    form["crisis_access"] = detail.get("crisis_access") or ""
    form["categories"] = list(detail.get("categories") or [])
    form["organization"] = (detail.get("organization") or {}).get("name", "")
    form["phone"] = (detail.get("phones") or [{}])[0].get("number", "") if detail.get("phones") else ""
    return form


async def _posted(request: Request) -> dict[str, Any]:
    raw = await request.form()
    form: dict[str, Any] = {name: str(raw.get(name, "")).strip() for name, _ in TEXT_FIELDS + AGE_FIELDS}
    for name in ("organization", "phone", "csrf_token", "version", "action", "status", "allow_duplicate"):
        form[name] = str(raw.get(name, "")).strip()
    for name in ("crisis_access",):
        form[name] = str(raw.get(name, "")).strip()
    form["delivery_modes"] = [str(v) for v in raw.getlist("delivery_modes")]
    form["categories"] = [str(v) for v in raw.getlist("categories")]
    return form


def _fields(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as ServiceFields data, or messages for fields that are not right."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {name: form[name] or None for name, _ in TEXT_FIELDS}
    for name, label in AGE_FIELDS:
        value = form[name]
        if value and not value.isdigit():
            errors[name] = f"{label}: enter a whole number of years"
        data[name] = int(value) if value.isdigit() else None
    data["delivery_modes"] = form["delivery_modes"]
    data["crisis_access"] = form["crisis_access"] or None
    data["categories"] = form["categories"]
    return data, errors


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = str(err["loc"][0]) if err.get("loc") else "name"
        found.setdefault(loc, f"{loc.replace('_', ' ').capitalize()}: {err['msg']}")
    return found


def _problem_errors(problem: Problem) -> dict[str, str]:
    found = {str(e.get("loc", "name")).split(".")[0].split("[")[0]: str(e.get("message")) for e in problem.errors}
    return found or {"name": problem.detail}


def _page(request: Request, settings: Settings, name: str, **context: Any) -> HTMLResponse:
    return render.page(
        request,
        settings,
        name,
        categories=categories(),
        delivery=DELIVERY,
        crisis=CRISIS,
        text_fields=TEXT_FIELDS,
        age_fields=AGE_FIELDS,
        statuses=STATUSES,
        **context,
    )


@router.get("/editor", response_class=HTMLResponse, operation_id="web_editor_queue")
def editor_queue(request: Request, session: SessionDep, settings: SettingsDep, viewer: EditorViewer) -> HTMLResponse:
    """The review queue: services never verified or due for review, oldest first."""
    items, total = directory.review_queue(session=session, review_months=settings.review_months)
    return _page(request, settings, "editor/queue.html", items=items, total=total)


@router.get("/editor/services/new", response_class=HTMLResponse, operation_id="web_editor_new")
def editor_new(request: Request, settings: SettingsDep, viewer: EditorViewer) -> HTMLResponse:
    """The form for a new service."""
    return _page(request, settings, "editor/edit.html", service=None, form=_form_from({}), duplicates=[])


@router.post("/editor/services/new", response_class=HTMLResponse, operation_id="web_editor_create")
async def editor_create(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: EditorViewer, _csrf: CsrfChecked
) -> Response:
    """Add a service; a likely duplicate is shown and must be confirmed."""
    form = await _posted(request)
    data, errors = _fields(form)
    if not form["organization"]:
        errors["organization"] = "Enter the organisation that runs it"
    if not form["name"]:
        errors["name"] = "Enter the service's name"
    duplicates: list[Any] = []
    if not errors:
        try:
            payload = ServiceIn(
                **data,
                organization={"name": form["organization"]},
                phones=[{"number": form["phone"]}] if form["phone"] else None,
            )
            created = directory.create_service(
                session=session, data=payload, actor=viewer.actor.name, allow_duplicate=form["allow_duplicate"] == "yes"
            )
            session.commit()
            return render.redirect(f"/editor/services/{created.id}?saved=created")
        except ValidationError as exc:
            errors = _validation_errors(exc)
        except Problem as problem:
            session.rollback()
            if problem.status == 409:
                duplicates = list(problem.extra.get("duplicates", [])) or [{"name": problem.detail}]
                errors = {"allow_duplicate": "This looks like a service already held. Check, then confirm below."}
            else:
                errors = _problem_errors(problem)
    return _page(
        request, settings, "editor/edit.html", status=422, service=None, form=form, errors=errors, duplicates=duplicates
    )


def _edit_page(
    request: Request,
    session: Any,
    settings: Settings,
    service_id: str,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str = "",
    conflict: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    detail = directory.service_detail(session=session, service=record, review_months=settings.review_months)
    return _page(
        request,
        settings,
        "editor/edit.html",
        status=status,
        service=detail,
        form=form or _form_from(detail),
        errors=errors or {},
        notice=notice,
        conflict=conflict or [],
        duplicates=[],
    )


@router.get("/editor/services/{service_id}", response_class=HTMLResponse, operation_id="web_editor_edit")
def editor_edit(
    service_id: str, request: Request, session: SessionDep, settings: SettingsDep, viewer: EditorViewer, saved: str = ""
) -> HTMLResponse:
    """Edit a service, verify it, change its status or retire it."""
    notices = {
        "created": "Service added.",
        "updated": "Changes saved.",
        "verify": "Marked as verified today.",
        "status": "Status changed.",
        "retire": "Service retired: it no longer appears in search.",
    }
    return _edit_page(request, session, settings, service_id, notice=notices.get(saved, ""))


@router.post("/editor/services/{service_id}", response_class=HTMLResponse, operation_id="web_editor_update")
async def editor_update(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
) -> Response:
    """Save changes if nobody saved first; otherwise show both versions and let the editor choose."""
    form = await _posted(request)
    data, errors = _fields(form)
    version = int(form["version"]) if form["version"].isdigit() else None
    if not errors:
        try:
            patch = ServicePatch(**data)
            directory.update_service(
                session=session, service_id=service_id, data=patch, actor=viewer.actor.name, expected_version=version
            )
            session.commit()
            return render.redirect(f"/editor/services/{service_id}?saved=updated")
        except ValidationError as exc:
            errors = _validation_errors(exc)
        except Problem as problem:
            session.rollback()
            if problem.status == 412:
                return _conflict(request, session, settings, service_id, form)
            errors = _problem_errors(problem)
    return _edit_page(request, session, settings, service_id, status=422, form=form, errors=errors)


def _conflict(
    request: Request, session: Any, settings: Settings, service_id: str, mine: dict[str, Any]
) -> HTMLResponse:
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    saved = _form_from(directory.service_detail(session=session, service=record, review_months=settings.review_months))
    more = [("delivery_modes", "How to use it"), ("crisis_access", "Helps in a crisis"), ("categories", "Categories")]
    labels = dict(TEXT_FIELDS + AGE_FIELDS + more)
    rows = [
        {"field": name, "label": label, "mine": mine.get(name), "saved": saved.get(name)}
        for name, label in labels.items()
        if (mine.get(name) or "") != (saved.get(name) or "")
    ]
    return _edit_page(
        request,
        session,
        settings,
        service_id,
        status=409,
        form={**mine, "version": ""},
        conflict=rows or [{"field": "", "label": "(no field differs)", "mine": "", "saved": ""}],
        errors={
            "conflict": "Someone else saved this service after you opened it. Compare the two "
            "versions and choose which to keep."
        },
    )


def _action(
    request: Request, session: Any, settings: Settings, service_id: str, action: str, form: dict[str, Any], actor: str
) -> Response:
    version = int(form["version"]) if form["version"].isdigit() else None
    try:
        if action == "verify":
            directory.verify_service(session=session, service_id=service_id, actor=actor, expected_version=version)
        elif action == "status":
            status = ServiceStatus(form["status"])
            directory.change_status(
                session=session, service_id=service_id, status=status, actor=actor, expected_version=version
            )
        else:
            directory.retire_service(session=session, service_id=service_id, actor=actor, expected_version=version)
    except ValueError:
        return _edit_page(request, session, settings, service_id, status=422, errors={"status": "Choose a status"})
    except Problem as problem:
        session.rollback()
        message = (
            "Someone else changed this service after you opened it; here it is as saved now. Try again."
            if problem.status == 412
            else problem.detail
        )
        return _edit_page(request, session, settings, service_id, status=problem.status, errors={action: message})
    session.commit()
    return render.redirect(f"/editor/services/{service_id}?saved={action}")


@router.post("/editor/services/{service_id}/verify", operation_id="web_editor_verify")
async def editor_verify(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
) -> Response:
    """Mark the service checked today."""
    form = await _posted(request)
    return _action(request, session, settings, service_id, "verify", form, viewer.actor.name)


@router.post("/editor/services/{service_id}/status", operation_id="web_editor_status")
async def editor_status(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
) -> Response:
    """Change the service's status."""
    form = await _posted(request)
    return _action(request, session, settings, service_id, "status", form, viewer.actor.name)


@router.post("/editor/services/{service_id}/retire", operation_id="web_editor_retire")
async def editor_retire(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
) -> Response:
    """Retire the service (out of search and routing; still counted)."""
    form = await _posted(request)
    return _action(request, session, settings, service_id, "retire", form, viewer.actor.name)


@router.get("/editor/services/{service_id}/history", response_class=HTMLResponse, operation_id="web_editor_history")
def editor_history(
    service_id: str, request: Request, session: SessionDep, settings: SettingsDep, viewer: EditorViewer
) -> HTMLResponse:
    """Who changed what, and when."""
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    entries = directory.history(session=session, service_id=service_id)
    return _page(request, settings, "editor/history.html", service=record, entries=list(reversed(entries)))


@router.get("/editor/import", response_class=HTMLResponse, operation_id="web_editor_import_form")
def editor_import_form(request: Request, settings: SettingsDep, viewer: EditorViewer) -> HTMLResponse:
    """Upload an Open Referral file (JSON or CSV)."""
    return _page(request, settings, "editor/import.html", report=None)


@router.post("/editor/import", response_class=HTMLResponse, operation_id="web_editor_import")
async def editor_import(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: EditorViewer, _csrf: CsrfChecked
) -> HTMLResponse:
    """Import the uploaded file (or try it without saving) and show the report."""
    raw = await request.form()
    upload = raw.get("file")
    dry_run = raw.get("dry_run") == "yes"
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _page(
            request,
            settings,
            "editor/import.html",
            status=422,
            report=None,
            errors={"file": "Choose a JSON or CSV file to import"},
        )
    # The upload waits in a temporary file (the body limit for imports is SIGNPOST_IMPORT_MAX_BODY_BYTES); it is
    # read twice, streamed, in a worker thread: once to refuse a broken file before anything is written, then to import.
    report = importer.ImportReport(source=upload.filename, format="file", dry_run=dry_run)
    try:
        await run_in_threadpool(importer.scan_file, upload.file, None, upload.filename)
        records = importer.iter_file_records(upload.file, None, upload.filename)
        await run_in_threadpool(_import_and_finish, session, records, report, viewer.actor.name)
    except importer.FeedError as exc:
        session.rollback()
        return _page(
            request,
            settings,
            "editor/import.html",
            status=422,
            report=None,
            errors={"file": f"The file could not be read: {exc}"},
        )
    return _page(request, settings, "editor/import.html", report=report)


def _import_and_finish(session: Session, records: Any, report: importer.ImportReport, actor: str) -> None:
    """Import, then commit (or, for a dry run, roll back) in the same worker thread: no lock waits on a thread."""
    importer.import_records(session=session, records=records, report=report, actor=actor)
    if report.dry_run:
        session.rollback()
    else:
        session.commit()
