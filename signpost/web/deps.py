"""Who is looking at a page: the session cookie, CSRF tokens, and role declarations that redirect to sign-in."""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request, Response

from signpost.auth import users
from signpost.auth.deps import ROLES_ATTR
from signpost.auth.models import Role
from signpost.config import Settings, SettingsDep
from signpost.db import SessionDep
from signpost.errors import Problem

SESSION_COOKIE = "signpost_session"
# Before sign-in there is no session; this random cookie anchors the sign-in form's CSRF token.
PRE_COOKIE = "signpost_pre"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class PageProblem(Problem):
    """A problem met on a page: answered as an HTML page (or a redirect), never as JSON."""


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure everywhere except plain-HTTP development on this machine."""
    return (request.url.hostname or "") not in LOCAL_HOSTS


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=secure_cookies(request), samesite="lax", path="/"
    )


def csrf_token(request: Request, settings: Settings) -> str:
    """A token bound to this browser's session (or pre-session) cookie, keyed by the server secret."""
    anchor = request.cookies.get(SESSION_COOKIE) or getattr(request.state, "pre_cookie", None)
    anchor = anchor or request.cookies.get(PRE_COOKIE) or ""
    key = hashlib.sha256(("csrf:" + settings.secret_key).encode()).digest()
    return hmac.new(key, anchor.encode(), hashlib.sha256).hexdigest()


def new_pre_cookie(request: Request) -> str | None:
    """A fresh pre-session cookie value for an anonymous browser that has none (the caller sets it)."""
    if request.cookies.get(PRE_COOKIE) or request.cookies.get(SESSION_COOKIE):
        return None
    value = secrets.token_urlsafe(24)
    request.state.pre_cookie = value
    return value


def check_csrf(request: Request, settings: Settings, submitted: str) -> None:
    """Refuse a form that did not come from a page this server rendered for this browser."""
    anchor = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE)
    if not anchor or not submitted or not hmac.compare_digest(submitted, csrf_token(request, settings)):
        raise PageProblem(403, "This form has expired or did not come from this site. Go back, reload and try again.")


def as_page_problem(problem: Problem) -> PageProblem:
    """A domain Problem (for example 404 for an unknown service) re-raised to be answered as a page."""
    return PageProblem(problem.status, problem.detail, errors=problem.errors)


async def csrf_checked(request: Request, settings: SettingsDep, csrf_token: Annotated[str, Form()] = "") -> None:
    """The CSRF check as a dependency, for routes that read the rest of their form themselves."""
    check_csrf(request, settings, csrf_token)


CsrfChecked = Annotated[None, Depends(csrf_checked)]


def _sign_in_redirect(request: Request) -> PageProblem:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return PageProblem(303, "Sign in to see this page.", headers={"Location": "/sign-in?next=" + quote(target)})


def page(*roles: Role) -> Callable[..., Any]:
    """A page for the named roles: anonymous visitors are sent to sign in, other roles are told no."""
    names = tuple(r.value for r in roles)

    def dependency(request: Request, session: SessionDep) -> users.Viewer:
        token = request.cookies.get(SESSION_COOKIE)
        viewer = users.viewer_for(session=session, token=token) if token else None
        if viewer is None:
            raise _sign_in_redirect(request)
        request.state.viewer = viewer
        request.state.actor_role = viewer.actor.role.value
        if viewer.actor.role.value not in names:
            raise PageProblem(403, f"Your role ({viewer.actor.role.value}) cannot use this page.")
        return viewer

    setattr(dependency, ROLES_ATTR, names)
    return dependency


def anyone_signed_in() -> Callable[..., Any]:
    return page(*Role)


def optional_viewer(request: Request, session: SessionDep) -> users.Viewer | None:
    """The viewer if signed in (for public pages that change when someone is)."""
    token = request.cookies.get(SESSION_COOKIE)
    viewer = users.viewer_for(session=session, token=token) if token else None
    request.state.viewer = viewer
    return viewer


AnyViewer = Annotated[users.Viewer, Depends(page(*Role))]
ClinicianViewer = Annotated[users.Viewer, Depends(page(Role.clinician))]
PrescriberViewer = Annotated[users.Viewer, Depends(page(Role.prescriber, Role.editor, Role.clinician))]
RecorderViewer = Annotated[users.Viewer, Depends(page(Role.prescriber))]
EditorViewer = Annotated[users.Viewer, Depends(page(Role.editor))]
AnalystViewer = Annotated[users.Viewer, Depends(page(Role.analyst))]
AdminViewer = Annotated[users.Viewer, Depends(page(Role.admin))]
MaybeViewer = Annotated[users.Viewer | None, Depends(optional_viewer)]
