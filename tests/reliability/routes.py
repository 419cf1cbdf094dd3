"""The app's route table as the proofs see it: every operation, its declared roles, a request that reaches it."""

import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from signpost.auth.deps import PUBLIC, route_roles

PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")
# A path parameter value that names nothing stored, so an allowed caller changes no real record.
ABSENT_ID = "999999"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute
    roles: tuple[str, ...] | None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def public(self) -> bool:
        return self.roles is not None and PUBLIC in self.roles

    @property
    def is_page(self) -> bool:
        """A page for people (signed in by cookie), not an API operation (signed in by key)."""
        stack = list(self.route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            if getattr(dep.call, "__module__", "") == "signpost.web.deps":
                return True
            stack.extend(dep.dependencies)
        return not self.route.include_in_schema

    @property
    def is_fhir(self) -> bool:
        return self.path == "/fhir" or self.path.startswith("/fhir/")

    def url(self, value: str = ABSENT_ID) -> str:
        return PATH_PARAM.sub(value, self.path)

    def body_kind(self) -> str | None:
        """'json', 'form' or None, from the body the route declares (FHIR routes read raw JSON themselves)."""
        body = self.route.body_field
        if body is None:
            return "fhir" if self.is_fhir and self.method in {"POST", "PUT", "PATCH"} else None
        media = getattr(body.field_info, "media_type", "application/json")
        return "form" if "form" in media else "json"

    def request_kwargs(self, csrf: str = "") -> dict[str, Any]:
        kind = self.body_kind()
        if kind == "json":
            return {"json": {}}
        if kind == "fhir":
            return {"content": b"{}", "headers": {"content-type": "application/fhir+json"}}
        if kind == "form" or (self.is_page and self.method == "POST"):
            # Pages that read their form themselves declare no body, but check the CSRF token all the same.
            return {"data": {"csrf_token": csrf} if csrf else {}}
        return {}


def operations(app: FastAPI) -> list[Operation]:
    """Every (method, path) the app answers, with the roles it declares."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            found.append(Operation(method, route.path, route, route_roles(route)))
    return found


def openapi_operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """'METHOD /path' -> the OpenAPI operation object."""
    return {
        f"{method.upper()} {path}": op
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
