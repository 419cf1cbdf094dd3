"""Hostile input: every write route and search parameter answers cleanly (4xx naming the problem), never 5xx.

Routes are taken from the app's route table, so new ones are covered as they land.
"""

import json
import socket
import time
from typing import Any

import httpx
import pytest
from starlette.routing import Mount

from signpost import db
from signpost.app import UPLOAD_PATHS, create_app
from signpost.config import Settings
from tests.reliability.conftest import Credentials
from tests.reliability.routes import Operation, operations

APP = create_app(Settings(secret_key="collection-only", database_url="sqlite://"))
OPERATIONS = operations(APP)
WRITES = [op for op in OPERATIONS if op.body_kind() is not None]
# Feed uploads have their own, larger limit: tests/ops/test_upload_limit.py holds them to it.
CAPPED_WRITES = [op for op in WRITES if op.path not in UPLOAD_PATHS]
JSON_WRITES = [op for op in WRITES if op.body_kind() in ("json", "fhir")]
SEARCHES = [op for op in OPERATIONS if op.method == "GET" and op.route.dependant.query_params]

SQL_INJECTIONS = [
    "'; DROP TABLE api_key; --",
    "1 OR 1=1",
    "x' UNION SELECT key_hash FROM api_key --",
    "%' OR '1'='1",
    "\\'; SELECT pg_sleep(5); --",
]
HTML_INJECTIONS = ['<script>alert("x")</script>', '"><img src=x onerror=alert(1)>', "{{7*7}}{% raw %}"]
ODD_TEXT = ["\x00", "\u202e\ufeff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "A" * 700]


def _call(client, op: Operation, given: Credentials, **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = {**kwargs.pop("headers", {}), **({} if op.is_page else given.headers)}
    client.cookies.clear()
    client.cookies.update(given.cookies if op.is_page else {})
    return client.request(op.method, op.url(), headers=headers, follow_redirects=False, **kwargs)


def _allowed(op: Operation, credentials: dict[str, Credentials]) -> Credentials:
    """Credentials of a role the operation admits, so the input reaches the code behind the door."""
    roles = [r for r in (op.roles or ()) if r in credentials]
    return credentials[roles[0]] if roles else credentials["anonymous"]


def _assert_clean(op: Operation, response: Any, allowed: tuple[int, ...] = ()) -> None:
    assert response.status_code < 500, f"{op.id}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.status_code not in allowed and not op.is_page:
        kind = response.headers.get("content-type", "")
        assert "problem+json" in kind or "fhir+json" in kind, f"{op.id}: error answered as {kind}"


def _media(op: Operation) -> str:
    return {"fhir": "application/fhir+json", "form": "application/x-www-form-urlencoded"}.get(
        op.body_kind() or "", "application/json"
    )


@pytest.mark.parametrize("op", CAPPED_WRITES, ids=[op.id for op in CAPPED_WRITES])
def test_oversized_body_is_refused_with_413(op: Operation, client, settings, credentials) -> None:  # type: ignore[no-untyped-def]
    body = b"{" + b" " * (settings.max_body_bytes + 10) + b"}"
    declared = _call(client, op, _allowed(op, credentials), content=body, headers={"content-type": _media(op)})
    assert declared.status_code == 413, declared.text[:200]
    assert "limit" in declared.text

    def chunks():  # no Content-Length: the limit must hold while the body streams in
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    streamed = _call(client, op, _allowed(op, credentials), content=chunks(), headers={"content-type": _media(op)})
    assert streamed.status_code == 413, streamed.text[:200]


@pytest.mark.parametrize("op", JSON_WRITES, ids=[op.id for op in JSON_WRITES])
def test_deeply_nested_json_is_refused_cleanly(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    depth = 100_000
    for body in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
        response = _call(client, op, _allowed(op, credentials), content=body, headers={"content-type": _media(op)})
        _assert_clean(op, response)
        assert response.status_code >= 400


@pytest.mark.parametrize("op", JSON_WRITES, ids=[op.id for op in JSON_WRITES])
def test_huge_arrays_are_answered_cleanly(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    items = ",".join(["{}"] * 150_000)
    properties = _body_properties(client.app, op) or ["items"]
    everywhere = "{" + ",".join(f'"{name}": [{items}]' for name in properties[:3]) + "}"
    for body in (f"[{items}]", everywhere):
        response = _call(
            client, op, _allowed(op, credentials), content=body.encode(), headers={"content-type": _media(op)}
        )
        _assert_clean(op, response)


@pytest.mark.parametrize("op", JSON_WRITES, ids=[op.id for op in JSON_WRITES])
def test_invalid_utf8_is_refused_with_400_or_422(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    body = b'{"name": "caf\xe9 \xff\xfe", "resourceType": "Questionnaire\xc3\x28"}'
    response = _call(client, op, _allowed(op, credentials), content=body, headers={"content-type": _media(op)})
    _assert_clean(op, response)
    assert response.status_code in (400, 413, 415, 422), response.text[:200]


@pytest.mark.parametrize("op", SEARCHES, ids=[op.id for op in SEARCHES])
def test_injection_in_search_parameters_is_only_text(op: Operation, client, session, credentials) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import func, select

    from signpost.auth.models import ApiKey

    keys_before = session.exec(select(func.count()).select_from(ApiKey)).one()
    for text in SQL_INJECTIONS + HTML_INJECTIONS + ODD_TEXT:
        params = {p.alias or p.name: text for p in op.route.dependant.query_params}
        response = _call(client, op, _allowed(op, credentials), params=params)
        _assert_clean(op, response)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert "<script>alert(" not in response.text and "onerror=alert" not in response.text
    assert session.exec(select(func.count()).select_from(ApiKey)).one() == keys_before


def test_injection_in_a_stored_name_comes_back_as_the_same_text(client, credentials) -> None:  # type: ignore[no-untyped-def]
    admin = credentials["admin"]
    for text in SQL_INJECTIONS + HTML_INJECTIONS:
        created = client.post("/api/v1/admin/keys", headers=admin.headers, json={"role": "analyst", "name": text})
        assert created.status_code == 201, created.text
    names = {k["name"] for k in client.get("/api/v1/admin/keys", headers=admin.headers).json()}
    assert set(SQL_INJECTIONS + HTML_INJECTIONS) <= {n for n in names}


def test_injected_html_in_a_stored_name_is_escaped_on_pages(client, credentials) -> None:  # type: ignore[no-untyped-def]
    admin = credentials["admin"]
    for text in HTML_INJECTIONS:
        client.post("/api/v1/admin/keys", headers=admin.headers, json={"role": "analyst", "name": text})
    client.cookies.clear()
    client.cookies.update(admin.cookies)
    page = client.get("/admin/keys")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(" in page.text
    assert "<script>alert(" not in page.text and "<img src=x" not in page.text


TRAVERSALS = [
    "../../pyproject.toml",
    "..%2f..%2fpyproject.toml",
    "%2e%2e/%2e%2e/pyproject.toml",
    "....//....//etc/passwd",
]
# The folders the app serves files from (its mounts), and any route that takes a path.
FILE_PREFIXES = [route.path for route in APP.routes if isinstance(route, Mount)] + [
    op.url("") for op in OPERATIONS if ":path}" in op.path
]


@pytest.mark.parametrize("prefix", FILE_PREFIXES)
def test_path_traversal_in_file_routes_finds_nothing(prefix: str, client) -> None:  # type: ignore[no-untyped-def]
    assert len(FILE_PREFIXES) >= 2  # /static and /assets/nhsuk at least
    for attempt in TRAVERSALS:
        response = client.get(f"{prefix.rstrip('/')}/{attempt}")
        assert response.status_code in (400, 404), f"{attempt}: {response.status_code}"
        assert "[project]" not in response.text and "root:" not in response.text


IMPORT_ROUTES = [op for op in WRITES if "import" in op.path]


@pytest.mark.parametrize("op", IMPORT_ROUTES, ids=[op.id for op in IMPORT_ROUTES])
def test_path_traversal_in_file_imports_is_refused(op: Operation, client, credentials) -> None:  # type: ignore[no-untyped-def]
    for attempt in ["../../../etc/passwd", "/etc/passwd", "..\\..\\pyproject.toml", "file:///etc/passwd"]:
        body = {"path": attempt, "file": attempt, "url": attempt, "source": attempt}
        response = _call(client, op, _allowed(op, credentials), json=body)
        _assert_clean(op, response)
        assert "root:x:" not in response.text


def _body_properties(app, op: Operation) -> list[str]:  # type: ignore[no-untyped-def]
    body = (app.openapi()["paths"].get(op.path, {}).get(op.method.lower(), {})).get("requestBody", {})
    schema = next(iter(body.get("content", {}).values()), {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref:
        schema = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return list(schema.get("properties", {}))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real service under uvicorn on loopback, on its own committed SQLite database."""
    from bench.common import server

    where = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{where / 'live.db'}"
    db.upgrade(url)
    env = {"SIGNPOST_DATABASE_URL": url, "SIGNPOST_VAR_DIR": str(where), "SIGNPOST_SECRET_KEY": "live-test-secret"}
    with server("signpost.app:create_app", env=env) as base:
        yield base


def _slow_client(port: int, partial: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(partial)
    return sock


@pytest.mark.slow
def test_slow_clients_holding_connections_do_not_stop_others(live_server: str) -> None:
    port = int(live_server.rsplit(":", 1)[1])
    held = []
    try:
        for i in range(40):
            # Half send headers a byte at a time and stop; half promise a body and send a little of it.
            if i % 2:
                held.append(_slow_client(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
            else:
                start = b"POST /api/v1/admin/keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                held.append(_slow_client(port, start + b'Content-Length: 100000\r\n\r\n{"na'))
        time.sleep(0.5)
        for _ in range(5):
            answer = httpx.get(live_server + "/healthz", timeout=10)
            assert answer.status_code == 200
        assert httpx.get(live_server + "/openreferral/", timeout=10).status_code < 500
    finally:
        for sock in held:
            sock.close()
    assert httpx.get(live_server + "/readyz", timeout=10).json()["status"] == "ready"


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/etc/passwd", "..\\..\\pyproject.toml", "file:///etc/passwd"])
def test_an_uploaded_file_name_is_only_a_label(name: str, client, session, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The upload's own bytes are imported; its name never makes the service open or write a path."""
    from tests.factories import bearer, make_key
    from tests.openreferral.factories import oruk_service

    monkeypatch.chdir(tmp_path)
    record = oruk_service()
    response = client.post(
        "/api/v1/directory/imports",
        headers=bearer(make_key(session, "editor")),
        files={"file": (name, json.dumps([record]).encode(), "application/json")},
        params={"dry_run": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert "root:x:" not in response.text and "[project]" not in response.text
    assert list(tmp_path.iterdir()) == []
