"""Every route × every role (plus anonymous and a revoked key) answers as its declared roles say.

Generated from the app's route table, so a route added tomorrow is covered without touching this file.
"""

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, FastAPI

from signpost.app import create_app
from signpost.auth.deps import enforce_declared_roles
from signpost.config import Settings
from tests.reliability.conftest import ANONYMOUS, CALLERS, REVOKED
from tests.reliability.routes import Operation, openapi_operations, operations

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = operations(create_app(Settings(secret_key="collection-only", database_url="sqlite://")))


def _reason(response: Any) -> str:
    """The words a denial gives, whatever the dialect (problem JSON, OperationOutcome, HTML)."""
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        body = response.json()
        if body.get("resourceType") == "OperationOutcome":
            return " ".join(i.get("diagnostics", "") for i in body.get("issue", []))
        return str(body.get("detail", ""))
    return response.text


def _is_login_redirect(response: Any) -> bool:
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and ("sign-in" in location or "login" in location)


def _verdict(op: Operation, caller: str, response: Any) -> str | None:
    """None if the answer is the one the declared roles call for, else what is wrong."""
    status = response.status_code
    allowed = op.public or caller in (op.roles or ())
    if allowed:
        if status in (401, 403):
            return f"{caller}: allowed but got {status} {_reason(response)[:120]}"
        if status >= 500:
            return f"{caller}: allowed but got {status}"
        return None
    expected = 401 if caller in (ANONYMOUS, REVOKED) else 403
    # A page sends a browser without a live session to sign in, rather than answering 401.
    if op.is_page and caller in (ANONYMOUS, REVOKED) and _is_login_redirect(response):
        return None
    if status != expected:
        return f"{caller}: expected {expected}, got {status}"
    if len(_reason(response).strip()) < 10:
        return f"{caller}: {status} without a reason in the body"
    return None


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_route_answers_every_caller_as_its_roles_declare(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    assert op.roles, f"{op.id} declares no roles"
    # Denied callers first, so an allowed call that changes something cannot change what they see.
    ordered = sorted(CALLERS, key=lambda c: op.public or c in op.roles)  # type: ignore[operator]
    wrong = []
    for caller in ordered:
        given = credentials[caller]
        kwargs = op.request_kwargs(given.csrf if op.is_page else "")
        headers = {**kwargs.pop("headers", {}), **({} if op.is_page else given.headers)}
        client.cookies.clear()
        client.cookies.update(given.cookies if op.is_page else {})
        response = client.request(op.method, op.url(), headers=headers, follow_redirects=False, **kwargs)
        problem = _verdict(op, caller, response)
        if problem:
            wrong.append(problem)
    assert not wrong, f"{op.id} (roles {op.roles}):\n" + "\n".join(wrong)


def test_openapi_yaml_states_the_roles_of_every_route() -> None:
    committed = openapi_operations(yaml.safe_load((ROOT / "openapi.yaml").read_text()))
    missing = [op.id for op in OPERATIONS if op.id in committed and "x-signpost-roles" not in committed[op.id]]
    differ = [
        op.id
        for op in OPERATIONS
        if op.id in committed and set(committed[op.id].get("x-signpost-roles", [])) != set(op.roles or ())
    ]
    assert not missing and not differ, f"without roles: {missing}; roles differ from the app: {differ}"


def test_a_route_without_declared_roles_stops_the_app() -> None:
    app = FastAPI()
    router = APIRouter()

    @router.get("/undeclared", operation_id="undeclared")
    def undeclared() -> dict[str, str]:
        return {}

    app.include_router(router)
    with pytest.raises(RuntimeError, match="/undeclared"):
        enforce_declared_roles(app)
