"""Jinja2 rendering with what every page needs: the viewer, their navigation and the CSRF token."""

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from signpost.auth.models import Role
from signpost.config import Settings
from signpost.web import deps

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# What each role may reach from the header; a page is shown only to the roles that may use it.
NAVIGATION: list[tuple[str, str, tuple[Role, ...]]] = [
    ("/template", "Template", (Role.clinician,)),
    ("/directory", "Find a service", (Role.clinician, Role.prescriber, Role.editor)),
    ("/editor", "Edit the directory", (Role.editor,)),
    ("/referrals", "Your referrals", (Role.clinician, Role.prescriber)),
    ("/provider", "Referrals to you", (Role.provider,)),
    ("/analytics", "Analytics", (Role.analyst,)),
    ("/analytics/referrals", "Referral outcomes", (Role.analyst,)),
    ("/admin/users", "Users", (Role.admin,)),
    ("/admin/keys", "API keys", (Role.admin,)),
]


def navigation_for(role: Role | None) -> list[tuple[str, str]]:
    return [(href, label) for href, label, roles in NAVIGATION if role in roles]


def page(request: Request, settings: Settings, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page template for whoever is looking."""
    viewer = getattr(request.state, "viewer", None)
    role = viewer.actor.role if viewer else None
    response = templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "navigation": navigation_for(role),
            "csrf_token": deps.csrf_token(request, settings),
            "current_path": request.url.path,
            "errors": {},
            "notice": "",
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str) -> RedirectResponse:
    """After a successful POST, go somewhere with GET (so a reload does not resubmit)."""
    return RedirectResponse(location, status_code=303)


def error_messages(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Problem errors keyed by field, for messages beside each input."""
    found: dict[str, str] = {}
    for error in errors:
        found.setdefault(str(error.get("loc", "")), str(error.get("message", "")))
    return found
