"""Directory editing pages (editors): review queue, create and edit with conflict handling, verify, status,
retire, audit history, and importing a file."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost.config import Settings
from signpost.db import SessionDep
from signpost.directory import categorise, importer, maintenance
from signpost.directory import service as directory
from signpost.directory.models import ServiceStatus
from signpost.directory.schemas import ServiceIn, ServicePatch
from signpost.errors import Problem
from signpost.web import deps, editor_form, render
from signpost.web.deps import CsrfChecked, EditorViewer, SettingsDep
from signpost.web.directory_routes import DELIVERY, categories

router = APIRouter(include_in_schema=False, tags=["web"])
FormStr = Annotated[str, Form()]
TEXT_FIELDS = [
    ("name", "Name"),
    ("alternate_name", "Other name"),
    ("description", "Description"),
    ("url", "Website"),
    ("email", "Email"),
    ("eligibility_description", "Who can use it"),
    ("application_process", "How to apply"),
    ("fees_description", "Cost"),
    ("interpretation_services", "Interpreting"),
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
    form["groups"] = editor_form.rows_from_detail(detail)
    return form


async def _posted(request: Request) -> dict[str, Any]:
    raw = await request.form()
    form: dict[str, Any] = {name: str(raw.get(name, "")).strip() for name, _ in TEXT_FIELDS + AGE_FIELDS}
    for name in ("organization", "csrf_token", "version", "action", "status", "allow_duplicate", "add"):
        form[name] = str(raw.get(name, "")).strip()
    for name in ("crisis_access",):
        form[name] = str(raw.get(name, "")).strip()
    # A conflict's choices: resolve_<field> = mine | theirs.
    form["resolve"] = {
        key.removeprefix("resolve_"): str(value)
        for key, value in raw.items()
        if key.startswith("resolve_") and str(value) in ("mine", "theirs")
    }
    form["delivery_modes"] = [str(v) for v in raw.getlist("delivery_modes")]
    form["categories"] = [str(v) for v in raw.getlist("categories")]
    form["groups"] = editor_form.rows_from_post(raw)
    return form


# The whole form, read on the event loop (no database work) so that the route itself can be a plain `def`.
PostedForm = Annotated[dict[str, Any], Depends(_posted)]


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
    lists, list_errors = editor_form.groups_data(form["groups"])
    data.update(lists)
    errors.update(list_errors)
    return data, errors


# What to do, in words, when a field's pattern does not match (pydantic's own message names the regex).
_HOW_TO_FIX = {
    "url": "enter a full address starting https://",
    "email": "enter an email address like name@example.org",
}


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    labels = dict(TEXT_FIELDS + AGE_FIELDS)
    found = editor_form.validation_errors(exc)
    for err in exc.errors():
        loc = str(err["loc"][0]) if err.get("loc") else "name"
        if loc in editor_form.BY_NAME:
            continue
        label = labels.get(loc, loc.replace("_", " ").capitalize())
        message = _HOW_TO_FIX.get(loc) if err.get("type") == "string_pattern_mismatch" else None
        found.setdefault(loc, f"{label}: {message or err['msg']}")
    return found


def _problem_errors(problem: Problem) -> dict[str, str]:
    found = {}
    for e in problem.errors:
        parts = str(e.get("loc", "name")).split(".")
        # A row's field (locations.0.postal_code) is shown on that row's box.
        key = "-".join(parts) if len(parts) == 3 and parts[0] in editor_form.BY_NAME else parts[0].split("[")[0]
        label = (
            dict(editor_form.BY_NAME[parts[0]].fields).get(parts[2], "")
            if len(parts) == 3 and parts[0] in editor_form.BY_NAME
            else ""
        )
        found[key] = f"{label}: {e.get('message')}" if label else str(e.get("message"))
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
        groups=editor_form.GROUPS,
        days=editor_form.DAYS,
        holiday_choices=editor_form.HOLIDAY_CHOICES,
        languages=editor_form.LANGUAGES,
        scopes=editor_form.SCOPES,
        **context,
    )


QUEUE_FILTERS = [
    ("due", "Due for review"),
    ("unverified", "Never verified"),
    ("suggested", "Suggested categories"),
    ("uncategorised", "No category"),
    ("batch", "Import batch"),
]
QUEUE_PAGE = 50


@router.get("/editor", response_class=HTMLResponse, operation_id="web_editor_queue")
def editor_queue(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    filter: str = "due",
    page: int = 1,
    decided: int | None = None,
    decision: str = "",
    organization: str = "",
    batch: str = "",
) -> HTMLResponse:
    """The review queue: services due for review or never verified (oldest first, of one organisation if
    chosen), or awaiting a decision on their categories; of one import batch if chosen."""
    kind = filter if filter in dict(QUEUE_FILTERS) else "due"
    page = max(1, page)
    offset = (page - 1) * QUEUE_PAGE
    org_names: dict[str, str] = {}
    items: list[directory.ReviewItem]
    category_items: list[categorise.QueueItem]
    batches = maintenance.import_batches(session=session)
    chosen = next((b for b in batches if str(b.id) == batch.strip()), None)
    if kind == "batch" and chosen is None and batches:
        chosen = batches[0]  # the latest import, until another is chosen
    run_id = chosen.id if chosen else None
    if kind == "batch" and run_id is None:
        items, total, category_items = [], 0, []
    elif kind in ("due", "unverified", "batch"):
        items, total = directory.review_queue(
            session=session,
            review_months=settings.review_months,
            limit=QUEUE_PAGE,
            offset=offset,
            unverified_only=kind == "unverified",
            organization_id=organization or None,
            import_run_id=run_id,
            whole_batch=kind == "batch",
        )
        ids = [i.service.organization_id for i in items] + ([organization] if organization else [])
        org_names = maintenance.organization_names(session=session, ids=ids)
        category_items = []
    else:
        items = []
        category_items, total = categorise.category_queue(
            session=session, kind=kind, limit=QUEUE_PAGE, offset=offset, import_run_id=run_id
        )
    organization = organization if organization in org_names else ""
    narrowed = (f"&organization={quote(organization)}" if organization else "") + (f"&batch={run_id}" if run_id else "")
    return _page(
        request,
        settings,
        "editor/queue.html",
        items=items,
        category_items=category_items,
        total=total,
        kind=kind,
        filters=QUEUE_FILTERS,
        page=page,
        pages=max(1, -(-total // QUEUE_PAGE)),
        decided=decided,
        decision=decision if decision in ("confirmed", "rejected") else "",
        errors={},
        organization=organization,
        org_names=org_names,
        batches=batches,
        batch=chosen,
        narrowed=narrowed,
        here=f"/editor?filter={kind}&page={page}{narrowed}",
    )


@router.post("/editor/suggestions", operation_id="web_editor_suggestions")
def editor_suggestions(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    choice: Annotated[list[str] | None, Form()] = None,
    action: Annotated[str, Form()] = "",
    page: Annotated[int, Form()] = 1,
) -> Response:
    """Confirm or reject the chosen suggested categories, all at once."""
    pairs = [tuple(c.split("|", 1)) for c in choice or [] if "|" in c]
    try:
        if action not in ("confirm", "reject"):
            raise Problem(
                422, "Choose Confirm or Reject.", errors=[{"loc": "action", "message": "Choose Confirm or Reject"}]
            )
        decided = categorise.decide(
            session=session,
            decisions=[(sid, code) for sid, code in pairs],
            accept=action == "confirm",
            actor=viewer.actor.name,
        )
    except Problem as problem:
        session.rollback()
        category_items, total = categorise.category_queue(
            session=session, kind="suggested", limit=QUEUE_PAGE, offset=(max(1, page) - 1) * QUEUE_PAGE
        )
        return _page(
            request,
            settings,
            "editor/queue.html",
            status=problem.status,
            items=[],
            category_items=category_items,
            total=total,
            kind="suggested",
            filters=QUEUE_FILTERS,
            page=max(1, page),
            pages=max(1, -(-total // QUEUE_PAGE)),
            decided=None,
            decision="",
            errors={"choice": problem.detail},
            batches=[],
            batch=None,
            narrowed="",
        )
    count = sum(len(codes) for codes in decided.values())
    word = "confirmed" if action == "confirm" else "rejected"
    return render.redirect(f"/editor?filter=suggested&page={max(1, page)}&decided={count}&decision={word}")


@router.get("/editor/services/new", response_class=HTMLResponse, operation_id="web_editor_new")
def editor_new(request: Request, settings: SettingsDep, viewer: EditorViewer) -> HTMLResponse:
    """The form for a new service."""
    return _page(request, settings, "editor/edit.html", service=None, form=_form_from({}), duplicates=[])


@router.post("/editor/services/new", response_class=HTMLResponse, operation_id="web_editor_create")
def editor_create(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    form: PostedForm,
) -> Response:
    """Add a service; a likely duplicate is shown and must be confirmed."""
    if form["add"] in editor_form.BY_NAME:
        form["groups"][form["add"]].append({})
        return _page(request, settings, "editor/edit.html", service=None, form=form, duplicates=[], focus=form["add"])
    data, errors = _fields(form)
    if not form["organization"]:
        errors["organization"] = "Enter the organisation that runs it"
    if not form["name"]:
        errors["name"] = "Enter the service's name"
    duplicates: list[Any] = []
    if not errors:
        try:
            payload = ServiceIn(**data, organization={"name": form["organization"]})
            created = directory.create_service(
                session=session, data=payload, actor=viewer.actor.name, allow_duplicate=form["allow_duplicate"] == "yes"
            )
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
    focus: str = "",
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
        warnings=editor_form.warnings(detail),
        focus=focus,
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
def editor_update(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    form: PostedForm,
) -> Response:
    """Save changes, merged with any saved since the page was opened; a field both changed asks which to keep."""
    if form["add"] in editor_form.BY_NAME:
        form["groups"][form["add"]].append({})
        return _edit_page(request, session, settings, service_id, form=form, focus=form["add"])
    return _save_edit(request, session, settings, service_id, form, viewer.actor.name)


def _save_edit(
    request: Request, session: Session, settings: Settings, service_id: str, form: dict[str, Any], actor: str
) -> Response:
    data, errors = _fields(form)
    version = int(form["version"]) if form["version"].isdigit() else None
    if not errors:
        try:
            current = _current_groups(session, settings, service_id)
            # A list left exactly as held is not sent: re-writing it would only churn its rows (and locations' ids).
            patch = ServicePatch(
                **{k: v for k, v in data.items() if k not in current or form["groups"][k] != current[k]}
            )
            directory.update_service(
                session=session,
                service_id=service_id,
                data=patch,
                actor=actor,
                expected_version=version,
                resolve=form["resolve"],
            )
            return render.redirect(f"/editor/services/{service_id}?saved=updated")
        except ValidationError as exc:
            errors = _validation_errors(exc)
        except Problem as problem:
            session.rollback()
            if problem.status == 412 and "conflicts" in problem.extra:
                return _conflict(request, session, settings, service_id, form, problem.extra)
            # Another edit was saved, or is being saved, meanwhile: the sentence says what to do, not a field.
            errors = {"save": problem.detail} if problem.status == 412 else _problem_errors(problem)
    return _edit_page(request, session, settings, service_id, status=422, form=form, errors=errors)


def _current_groups(session: Session, settings: Settings, service_id: str) -> dict[str, list[dict[str, str]]]:
    record = directory.get_service(session=session, service_id=service_id)
    detail = directory.service_detail(session=session, service=record, review_months=settings.review_months)
    return editor_form.rows_from_detail(detail)


def _shown(value: Any) -> str:
    if value in (None, "", []):
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(
            str(v)
            if not isinstance(v, dict)
            else ", ".join("closed all day" if k == "closed" else str(x) for k, x in v.items() if x)
            for v in value
        )
    return str(value)


def _conflict(
    request: Request,
    session: Any,
    settings: Settings,
    service_id: str,
    mine: dict[str, Any],
    found: dict[str, Any],
) -> HTMLResponse:
    """Both values of each field two editors changed, with a choice for each; everything else was merged."""
    rows = [
        {
            "field": c["field"],
            "label": c["label"],
            "mine": _shown(c["yours"]),
            "saved": _shown(c["theirs"]),
            "base": _shown(c["base"]),
        }
        for c in found["conflicts"]
    ]
    return _edit_page(
        request,
        session,
        settings,
        service_id,
        status=409,
        form={**mine, "version": str(found["base_version"])},
        conflict=rows,
        errors={
            "conflict": "Someone else saved this service after you opened it and changed the same fields. "
            "Choose whose value to keep for each; your other changes and theirs are both kept."
        },
    )


def _confirm_page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    action: str,
    items: list[tuple[str, int]],
    status: str = "",
    back: str,
    errors: dict[str, str] | None = None,
    code: int = 200,
) -> HTMLResponse:
    """Ask before verifying, retiring or changing the status of the chosen services."""
    services = [directory.get_service(session=session, service_id=sid) for sid, _ in items]
    return _page(
        request,
        settings,
        "editor/confirm.html",
        status=code,
        action=action,
        chosen_status=status,
        status_label=dict(STATUSES).get(status, status),
        services=services,
        items=[f"{sid}:{version}" for sid, version in items],
        back=back,
        errors=errors or {},
    )


def _apply_and_redirect(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    action: str,
    items: list[tuple[str, int]],
    status: str,
    actor: str,
    back: str,
) -> Response:
    try:
        done = maintenance.apply(session=session, action=action, items=items, status=status, actor=actor)
    except Problem as problem:
        session.rollback()
        return _confirm_page(
            request,
            session,
            settings,
            action=action,
            items=[(sid, directory.get_service(session=session, service_id=sid).version) for sid, _ in items],
            status=status,
            back=back,
            errors={"service": problem.detail},
            code=problem.status,
        )
    changed = ",".join(f"{d.service_id}:{d.version}" for d in done)
    return render.redirect(f"/editor/done?action={action}&changed={quote(changed)}&back={quote(back)}")


def _single(
    request: Request,
    session: Session,
    settings: Settings,
    service_id: str,
    action: str,
    *,
    version: str,
    status: str,
    confirmed: str,
    actor: str,
) -> Response:
    """A single verify, status change or retire: first a confirmation page, then the change."""
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    if action == "status" and status not in dict(STATUSES):
        return _edit_page(request, session, settings, service_id, status=422, errors={"status": "Choose a status"})
    items = [(service_id, int(version) if version.isdigit() else record.version)]
    back = f"/editor/services/{service_id}"
    if confirmed != "yes":
        return _confirm_page(request, session, settings, action=action, items=items, status=status, back=back)
    return _apply_and_redirect(
        request, session, settings, action=action, items=items, status=status, actor=actor, back=back
    )


@router.post("/editor/services/{service_id}/verify", operation_id="web_editor_verify")
def editor_verify(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    version: FormStr = "",
    confirmed: FormStr = "",
) -> Response:
    """Mark the service checked today (after a confirmation page)."""
    return _single(
        request,
        session,
        settings,
        service_id,
        "verify",
        version=version,
        status="",
        confirmed=confirmed,
        actor=viewer.actor.name,
    )


@router.post("/editor/services/{service_id}/status", operation_id="web_editor_status")
def editor_status(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    version: FormStr = "",
    status: FormStr = "",
    confirmed: FormStr = "",
) -> Response:
    """Change the service's status (after a confirmation page)."""
    return _single(
        request,
        session,
        settings,
        service_id,
        "status",
        version=version,
        status=status,
        confirmed=confirmed,
        actor=viewer.actor.name,
    )


@router.post("/editor/services/{service_id}/retire", operation_id="web_editor_retire")
def editor_retire(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    version: FormStr = "",
    confirmed: FormStr = "",
) -> Response:
    """Retire the service: out of search and routing, still counted (after a confirmation page)."""
    return _single(
        request,
        session,
        settings,
        service_id,
        "retire",
        version=version,
        status="",
        confirmed=confirmed,
        actor=viewer.actor.name,
    )


@router.post("/editor/bulk", response_class=HTMLResponse, operation_id="web_editor_bulk")
def editor_bulk(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    service: Annotated[list[str] | None, Form()] = None,
    action: FormStr = "",
    status: FormStr = "",
    back: FormStr = "/editor",
    confirmed: FormStr = "",
) -> Response:
    """Verify, retire or set the status of the chosen services: a confirmation page first, then all or none."""
    back = back if back.startswith("/editor") else "/editor"
    try:
        items = maintenance.parse_items(service or [])
        if action not in maintenance.ACTIONS:
            raise Problem(422, "Choose verify, retire or a status.")
        if action == "status" and status not in dict(STATUSES):
            raise Problem(422, "Choose the status to set.")
        for sid, _ in items:
            directory.get_service(session=session, service_id=sid)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    if confirmed != "yes":
        return _confirm_page(request, session, settings, action=action, items=items, status=status, back=back)
    return _apply_and_redirect(
        request, session, settings, action=action, items=items, status=status, actor=viewer.actor.name, back=back
    )


DONE_WORDS = {"verify": "Verified", "retire": "Retired", "status": "Status changed for", "undo": "Undone for"}


@router.get("/editor/done", response_class=HTMLResponse, operation_id="web_editor_done")
def editor_done(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    action: str = "",
    changed: str = "",
    back: str = "/editor",
) -> HTMLResponse:
    """What a verify, retire or status change did, with an Undo button."""
    try:
        items = maintenance.parse_items([c for c in changed.split(",") if c])
        services = [directory.get_service(session=session, service_id=sid) for sid, _ in items]
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    return _page(
        request,
        settings,
        "editor/done.html",
        action=action,
        words=DONE_WORDS.get(action, "Changed"),
        notice="Done. You can undo it below."
        if action in maintenance.UNDOABLE
        else "Undone: the earlier values are back.",
        services=services,
        items=[f"{sid}:{version}" for sid, version in items],
        # Undo is offered while every service is still at the version the action left.
        undoable=action in maintenance.UNDOABLE
        and all(s.version == v for s, (_, v) in zip(services, items, strict=True)),
        back=back if back.startswith("/editor") else "/editor",
    )


@router.post("/editor/undo", operation_id="web_editor_undo")
def editor_undo(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    item: Annotated[list[str] | None, Form()] = None,
    back: FormStr = "/editor",
) -> Response:
    """Put back what the last verify, retire or status change did (itself an audited edit)."""
    back = back if back.startswith("/editor") else "/editor"
    try:
        items = maintenance.parse_items(item or [])
        done = maintenance.undo(session=session, items=items, actor=viewer.actor.name)
    except Problem as problem:
        session.rollback()
        raise deps.as_page_problem(problem) from None
    changed = ",".join(f"{d.service_id}:{d.version}" for d in done)
    return render.redirect(f"/editor/done?action=undo&changed={quote(changed)}&back={quote(back)}")


@router.get("/editor/services/{service_id}/history", response_class=HTMLResponse, operation_id="web_editor_history")
def editor_history(
    service_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: EditorViewer,
    restored: int | None = None,
) -> HTMLResponse:
    """Who changed what, and when."""
    try:
        record = directory.get_service(session=session, service_id=service_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    entries = directory.history(session=session, service_id=service_id)
    notice = f"Restored version {restored}: every field is as it was then." if restored else ""
    return _page(
        request,
        settings,
        "editor/history.html",
        service=record,
        entries=list(reversed(entries)),
        labels=directory.FIELD_LABELS,
        shown=_shown,
        notice=notice,
    )


@router.post("/editor/services/{service_id}/restore", operation_id="web_editor_restore")
def editor_restore(
    service_id: str,
    session: SessionDep,
    viewer: EditorViewer,
    _csrf: CsrfChecked,
    version: Annotated[int, Form()],
    expected: Annotated[int, Form()],
) -> Response:
    """Put the service back as it was at an earlier version (an audited edit, itself undoable)."""
    try:
        directory.restore_version(
            session=session, service_id=service_id, version=version, actor=viewer.actor.name, expected_version=expected
        )
    except Problem as problem:
        session.rollback()
        raise deps.as_page_problem(problem) from None
    return render.redirect(f"/editor/services/{service_id}/history?restored={version}")


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
        await run_in_threadpool(session.rollback)
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
    """Import, then commit (or, for a dry run, roll back) in the same worker thread: no lock waits on a thread.

    An import keeps this control rather than leave it to the request: a dry run must write nothing."""
    importer.import_records(session=session, records=records, report=report, actor=actor)
    if report.dry_run:
        session.rollback()
    else:
        session.commit()
