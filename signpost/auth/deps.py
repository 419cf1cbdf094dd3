"""Access declarations: every route states who may call it, or the app refuses to start."""

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from signpost import db
from signpost.auth import service
from signpost.auth.models import Role
from signpost.config import Settings, settings_for
from signpost.db import SessionDep
from signpost.errors import ROLES_KEY, Problem

ROLES_ATTR = "__signpost_roles__"
PUBLIC = "public"


def bearer_token(request: Request) -> str | None:
    """The key a request carries as 'Authorization: Bearer <key>', if any."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def allow(*roles: Role) -> Callable[..., Any]:
    """A dependency that admits the named roles only; its roles are read back for docs and tests."""
    names = tuple(r.value for r in roles)

    async def dependency(request: Request, session: SessionDep) -> service.Actor:
        secret = bearer_token(request)
        if not secret:
            raise Problem(
                401,
                "This needs an API key: send it as 'Authorization: Bearer <key>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        actor = service.remembered(secret, session)
        if actor is None:
            actor = await run_in_threadpool(service.authenticate, session=session, secret=secret)
        request.state.actor_role = actor.role.value
        if actor.role.value not in names:
            raise Problem(403, f"The {actor.role.value} role may not do this; it needs {' or '.join(names)}.")
        return actor

    setattr(dependency, ROLES_ATTR, names)
    return dependency


class HotEndpoint(Protocol):
    async def __call__(
        self, request: Request, *, caller: service.Actor, session: Session, settings: Settings
    ) -> Response: ...


def checks_caller(*roles: Role) -> Callable[[HotEndpoint], Callable[[Request], Awaitable[Response]]]:
    """For a hot route that takes no FastAPI dependencies (solving them cost `$signpost` a twentieth of its
    instructions): `endpoint(request, caller=, session=, settings=)` becomes a route of `request` alone that opens
    the session as `SessionDep` would, admits `roles` only, as `allow` does, and reads the settings, honouring the
    app's overrides of get_session and request_settings. The roles are declared as `allow` declares them."""
    guard = allow(*roles)

    def decorate(endpoint: HotEndpoint) -> Callable[[Request], Awaitable[Response]]:
        async def route(request: Request) -> Response:
            async with db.session_for(request) as session:
                caller = await guard(request, session)
                settings = await settings_for(request)
                return await endpoint(request, caller=caller, session=session, settings=settings)

        # Named and described as the endpoint (OpenAPI reads them); its signature stays `request` alone.
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(route, name, getattr(endpoint, name))
        setattr(route, ROLES_ATTR, getattr(guard, ROLES_ATTR))
        return route

    return decorate


async def public() -> None:
    """Open to everyone, without a key."""


setattr(public, ROLES_ATTR, (PUBLIC,))

Public = Depends(public)


def route_roles(route: APIRoute) -> tuple[str, ...] | None:
    """The roles a route declares: as `enforce_declared_roles` recorded them, else found in its dependency tree."""
    recorded = (route.openapi_extra or {}).get(ROLES_KEY)
    if recorded:
        return tuple(recorded)
    found: list[str] = list(getattr(route.endpoint, ROLES_ATTR, ()))  # checks_caller's
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        found.extend(getattr(dep.call, ROLES_ATTR, ()))
        stack.extend(dep.dependencies)
    return tuple(dict.fromkeys(found)) if found else None


def enforce_declared_roles(app: FastAPI) -> None:
    """Deny by default: a route that names no roles stops the app from starting.

    Each route's roles are recorded in its OpenAPI operation. `Public` is then taken out of the dependencies solved
    for each request: it declares, and checks nothing, and solving it cost the project floor's echo about 3.6 % of its
    instructions (bench/README.md)."""
    undeclared = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            roles = route_roles(route)
            if roles is None:
                undeclared.append(f"{sorted(route.methods)} {route.path}")
            else:
                route.openapi_extra = {**(route.openapi_extra or {}), ROLES_KEY: list(roles)}
                route.dependant.dependencies[:] = [d for d in route.dependant.dependencies if d.call is not public]
    if undeclared:
        raise RuntimeError("routes without declared roles: " + ", ".join(undeclared))
