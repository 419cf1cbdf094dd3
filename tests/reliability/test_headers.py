"""Security headers on every answer and page; CORS open on the Open Referral read API and nowhere else."""

import uuid

import pytest

from signpost.app import create_app
from signpost.config import Settings
from tests.reliability.routes import Operation, operations

OPERATIONS = operations(create_app(Settings(secret_key="collection-only", database_url="sqlite://")))
GETS = [op for op in OPERATIONS if op.method == "GET"]
PAGES = [op for op in GETS if op.is_page and ":path}" not in op.path]
ORIGIN = {"Origin": "https://elsewhere.example"}


@pytest.mark.parametrize("op", GETS, ids=[op.id for op in GETS])
def test_every_answer_carries_nosniff_and_cors_only_on_open_referral(op: Operation, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(op.url(), headers=ORIGIN, follow_redirects=False)
    assert response.headers["x-content-type-options"] == "nosniff"
    if op.path.startswith("/openreferral"):
        assert response.headers["access-control-allow-origin"] == "*"
    else:
        assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("op", PAGES, ids=[op.id for op in PAGES])
def test_pages_forbid_framing_and_foreign_scripts(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    roles = [r for r in (op.roles or ()) if r in credentials] or ["anonymous"]
    client.cookies.update(credentials[roles[0]].cookies)
    response = client.get(op.url(), follow_redirects=False)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[-1].split(";")[0]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_open_referral_preflight_is_answered_for_any_origin(client) -> None:  # type: ignore[no-untyped-def]
    response = client.options("/openreferral/services", headers={**ORIGIN, "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" not in response.headers["access-control-allow-methods"]
    assert uuid.UUID(response.headers["x-request-id"])


def test_preflight_elsewhere_opens_nothing(client) -> None:  # type: ignore[no-untyped-def]
    response = client.options("/api/v1/admin/keys", headers={**ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code in (401, 403, 404, 405)


def test_an_app_that_sets_its_own_cors_header_outside_open_referral_loses_it(client) -> None:  # type: ignore[no-untyped-def]
    from fastapi.responses import JSONResponse

    from signpost.auth import Public

    @client.app.get("/leaky-cors", dependencies=[Public])
    def leaky() -> JSONResponse:
        return JSONResponse({}, headers={"Access-Control-Allow-Origin": "*"})

    assert "access-control-allow-origin" not in client.get("/leaky-cors").headers
