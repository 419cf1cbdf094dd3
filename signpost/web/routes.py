"""Pages for people: thin routes that parse forms, call the domain services and render templates."""

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session

from signpost.auth import service as keys
from signpost.auth import users
from signpost.auth.deps import Public
from signpost.auth.models import ApiKey, Role
from signpost.config import ROOT
from signpost.db import SessionDep
from signpost.errors import Problem
from signpost.web import (
    analytics_routes,
    deps,
    directory_routes,
    editor_routes,
    referral_routes,
    render,
    smart_routes,
    template_routes,
)
from signpost.web.deps import AdminViewer, AnyViewer, MaybeViewer, SettingsDep

router = APIRouter(include_in_schema=False, tags=["web"])
router.include_router(template_routes.router)
router.include_router(directory_routes.router)
router.include_router(editor_routes.router)
router.include_router(analytics_routes.router)
router.include_router(referral_routes.router)
router.include_router(smart_routes.router)

STATIC_DIR = Path(__file__).resolve().parent / "static"
NHSUK_DIR = ROOT / "node_modules" / "nhsuk-frontend" / "dist" / "nhsuk"
FormStr = Annotated[str, Form()]
ROLE_OPTIONS = [(r.value, r.value.capitalize()) for r in Role]


class StaticAssets(StaticFiles):
    """Starlette's static files (ranges, ETag and If-None-Match, no path escapes), kept an hour by browsers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "public, max-age=3600")
        return response


def mount_assets(app: FastAPI) -> None:
    """The pages' own stylesheets and scripts at /static, and the NHS design system's compiled assets (from
    node_modules, installed by npm ci) at /assets/nhsuk; after the routers, so the filtered stylesheet's route wins."""
    app.mount("/static", StaticAssets(directory=STATIC_DIR), name="static")
    app.mount("/assets/nhsuk", StaticAssets(directory=NHSUK_DIR, check_dir=False), name="nhsuk")


@router.get("/assets/nhsuk/nhsuk-frontend.min.css", dependencies=[Public], operation_id="web_nhsuk_css")
def nhsuk_css() -> Response:
    """The NHS design system's stylesheet, without its third-party web fonts."""
    return Response(_nhsuk_css(), media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@cache
def _nhsuk_css() -> str:
    # The stylesheet loads the Frutiger web font from assets.nhs.uk; pages here fetch nothing from third
    # parties (the CSP says 'self'), so those @font-face rules are dropped and the Arial fallback is used.
    css = (NHSUK_DIR / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    return re.sub(r"@font-face\{[^}]*https?://[^}]*\}", "", css)


@router.get("/", response_class=HTMLResponse, operation_id="web_home")
def home(request: Request, settings: SettingsDep, viewer: AnyViewer) -> HTMLResponse:
    """The start page: what this role can do."""
    return render.page(request, settings, "home.html")


@router.get("/sign-in", response_class=HTMLResponse, dependencies=[Public], operation_id="web_sign_in_form")
def sign_in_form(request: Request, settings: SettingsDep, viewer: MaybeViewer, next: str = "/") -> Response:
    """The sign-in form."""
    pre_cookie = deps.new_pre_cookie(request)
    response = render.page(request, settings, "sign_in.html", next=_safe_next(next), username="")
    if pre_cookie:
        deps.set_cookie(request, response, deps.PRE_COOKIE, pre_cookie)
    return response


def _safe_next(target: str) -> str:
    # Only paths on this site: never an open redirect.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Public], operation_id="web_sign_in")
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: MaybeViewer,
    csrf_token: FormStr = "",
    username: FormStr = "",
    password: FormStr = "",
    key: FormStr = "",
    next: FormStr = "/",
) -> Response:
    """Check a username and password, or a key, and start a browser session."""
    deps.check_csrf(request, settings, csrf_token)
    try:
        token = _start_session(session, username=username, password=password, key=key)
    except Problem as problem:
        field = "key" if key.strip() and not username.strip() else "username"
        errors = render.error_messages(problem.errors) or {field: problem.detail}
        return render.page(
            request,
            settings,
            "sign_in.html",
            status=problem.status,
            errors=errors,
            next=_safe_next(next),
            username=username,
        )
    response = render.redirect(_safe_next(next))
    deps.set_cookie(request, response, deps.SESSION_COOKIE, token, max_age=users.SESSION_HOURS * 3600)
    response.delete_cookie(deps.PRE_COOKIE, path="/")
    return response


def _start_session(session: Session, *, username: str, password: str, key: str) -> str:
    if key.strip() and not username.strip():
        actor = keys.authenticate(session=session, secret=key.strip())
        return users.start_session(session=session, key_id=actor.key_id)
    if not username.strip() or not password:
        errors = []
        if not username.strip():
            errors.append({"loc": "username", "message": "Enter your username, or sign in with an API key"})
        if not password:
            errors.append({"loc": "password", "message": "Enter your password"})
        raise Problem(422, "Enter a username and password.", errors=errors)
    user = users.check_password(session=session, username=username, password=password)
    return users.start_session(session=session, user=user)


@router.post("/sign-out", operation_id="web_sign_out")
def sign_out(
    request: Request, session: SessionDep, settings: SettingsDep, viewer: AnyViewer, csrf_token: FormStr = ""
) -> Response:
    """End this browser's session."""
    deps.check_csrf(request, settings, csrf_token)
    users.end_session(session=session, token=viewer.token)
    response = render.redirect("/sign-in")
    response.delete_cookie(deps.SESSION_COOKIE, path="/")
    return response


# --- admin: keys and users ---------------------------------------------------------------------------------------


def _keys_page(
    request: Request,
    session: Session,
    settings: SettingsDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    new_secret: str = "",
    new_name: str = "",
) -> HTMLResponse:
    return render.page(
        request,
        settings,
        "admin/keys.html",
        status=status,
        keys=keys.list_keys(session=session),
        roles=ROLE_OPTIONS,
        errors=errors or {},
        form=form or {"name": "", "role": "clinician", "practice_ods": ""},
        new_secret=new_secret,
        new_name=new_name,
    )


# A new key's secret waits in this cookie for the one page view after the redirect, which deletes it: a reload
# neither creates another key nor shows the secret again.
NEW_KEY_COOKIE = "signpost_new_key"


@router.get("/admin/keys", response_class=HTMLResponse, operation_id="web_admin_keys")
def admin_keys(request: Request, session: SessionDep, settings: SettingsDep, viewer: AdminViewer) -> HTMLResponse:
    """API keys: list, create, revoke; a key just created is shown once."""
    key_id, _, secret = request.cookies.get(NEW_KEY_COOKIE, "").partition(":")
    record = session.get(ApiKey, int(key_id)) if key_id.isdigit() and secret else None
    if record is None or not secret.startswith(record.prefix):
        secret = ""
    name = record.name if secret and record else ""
    response = _keys_page(request, session, settings, new_secret=secret, new_name=name)
    response.headers["Cache-Control"] = "no-store"
    if NEW_KEY_COOKIE in request.cookies:
        response.delete_cookie(NEW_KEY_COOKIE, path="/admin/keys")
    return response


@router.post("/admin/keys", operation_id="web_admin_create_key")
def admin_create_key(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
    name: FormStr = "",
    role: FormStr = "",
    practice_ods: FormStr = "",
) -> Response:
    """Create a key and show its secret once (after a redirect, so a reload creates nothing)."""
    deps.check_csrf(request, settings, csrf_token)
    form = {"name": name, "role": role, "practice_ods": practice_ods}
    try:
        record, secret = keys.create_key(session=session, role=role, name=name, practice_ods=practice_ods or None)
    except Problem as problem:
        return _keys_page(
            request, session, settings, status=problem.status, errors=render.error_messages(problem.errors), form=form
        )
    response = render.redirect("/admin/keys")
    response.set_cookie(
        NEW_KEY_COOKIE,
        f"{record.id}:{secret}",
        max_age=300,
        httponly=True,
        secure=deps.secure_cookies(request),
        samesite="strict",
        path="/admin/keys",
    )
    return response


@router.post("/admin/keys/{key_id}/revoke", operation_id="web_admin_revoke_key")
def admin_revoke_key(
    key_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
) -> Response:
    """Revoke a key."""
    deps.check_csrf(request, settings, csrf_token)
    keys.revoke_key(session=session, key_id=key_id)
    return render.redirect("/admin/keys")


def _users_page(
    request: Request,
    session: Session,
    settings: SettingsDep,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    notice: str = "",
) -> HTMLResponse:
    return render.page(
        request,
        settings,
        "admin/users.html",
        status=status,
        users=users.list_users(session=session),
        roles=ROLE_OPTIONS,
        errors=errors or {},
        notice=notice,
        form=form or {"username": "", "role": "prescriber", "practice_ods": ""},
    )


USER_NOTICES = {
    "disabled": "{user} is disabled and signed out.",
    "enabled": "{user} can sign in again.",
    "password": "{user} has a new password and has been signed out everywhere.",
}


@router.get("/admin/users", response_class=HTMLResponse, operation_id="web_admin_users")
def admin_users(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    done: str = "",
    user: int | None = None,
) -> HTMLResponse:
    """Users: list, add, disable, enable, reset a password."""
    # The name comes from the database, not the address, so a crafted link cannot put words on the page.
    named = session.get(users.User, user) if user is not None else None
    notice = USER_NOTICES[done].format(user=named.username) if done in USER_NOTICES and named else ""
    return _users_page(request, session, settings, notice=notice)


@router.post("/admin/users", response_class=HTMLResponse, operation_id="web_admin_create_user")
def admin_create_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
    username: FormStr = "",
    password: FormStr = "",
    role: FormStr = "",
    practice_ods: FormStr = "",
) -> HTMLResponse:
    """Add a user."""
    deps.check_csrf(request, settings, csrf_token)
    form = {"username": username, "role": role, "practice_ods": practice_ods}
    try:
        user = users.create_user(
            session=session, username=username, password=password, role=role, practice_ods=practice_ods or None
        )
    except Problem as problem:
        return _users_page(
            request, session, settings, status=problem.status, errors=render.error_messages(problem.errors), form=form
        )
    return _users_page(request, session, settings, notice=f"{user.username} can now sign in as {user.role}.")


@router.post("/admin/users/{user_id}/disable", operation_id="web_admin_disable_user")
def admin_disable_user(
    user_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
) -> Response:
    """Disable a user and end their sessions."""
    deps.check_csrf(request, settings, csrf_token)
    try:
        user = users.disable_user(session=session, user_id=user_id)
    except Problem as problem:
        return _users_page(request, session, settings, status=problem.status, errors={"user": problem.detail})
    return render.redirect(f"/admin/users?done=disabled&user={user.id}")


@router.post("/admin/users/{user_id}/enable", operation_id="web_admin_enable_user")
def admin_enable_user(
    user_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
) -> Response:
    """Let a disabled user sign in again."""
    deps.check_csrf(request, settings, csrf_token)
    try:
        user = users.enable_user(session=session, user_id=user_id)
    except Problem as problem:
        raise deps.as_page_problem(problem) from None
    return render.redirect(f"/admin/users?done=enabled&user={user.id}")


@router.post("/admin/users/{user_id}/password", operation_id="web_admin_reset_password")
def admin_reset_password(
    user_id: int,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: AdminViewer,
    csrf_token: FormStr = "",
    password: FormStr = "",
) -> Response:
    """Set a new password for a user (their sessions end)."""
    deps.check_csrf(request, settings, csrf_token)
    try:
        user = users.reset_password(session=session, user_id=user_id, password=password)
    except Problem as problem:
        if problem.status == 404:
            raise deps.as_page_problem(problem) from None
        return _users_page(
            request,
            session,
            settings,
            status=problem.status,
            errors={f"password-{user_id}": f"New password: {problem.errors[0]['message']}"},
        )
    return render.redirect(f"/admin/users?done=password&user={user.id}")
