"""Feed uploads may be larger than other request bodies (SIGNPOST_IMPORT_MAX_BODY_BYTES); nothing else may."""

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from signpost import db
from signpost.app import create_app
from signpost.config import request_settings
from signpost.directory.models import Service
from tests.conftest import SHARED_DATA
from tests.factories import bearer, make_key, request_session
from tests.openreferral.factories import oruk_service

REAL_FEED = SHARED_DATA / "oruk" / "north_lincolnshire_services_2024-12.json"
IMPORTS = "/api/v1/directory/imports"


def _feed_over(size: int) -> list[dict]:  # type: ignore[type-arg]
    """Distinct service records whose JSON is larger than `size` bytes."""
    records = []
    while len(json.dumps(records)) <= size:
        records.extend(oruk_service() for _ in range(100))
    return records


@pytest.fixture
def small_limit_client(settings, session) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app with a 2 MiB import limit, so going over it needs no 50 MiB body."""
    small = settings.model_copy(update={"import_max_body_bytes": 2 * 1024 * 1024})
    application = create_app(small)
    application.dependency_overrides[db.get_session] = request_session(session)
    application.dependency_overrides[request_settings] = lambda: small
    with TestClient(application, raise_server_exceptions=False) as test_client:
        yield test_client


def test_feed_larger_than_the_ordinary_limit_uploads_whole(client, session, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(session, "commit", session.flush)  # on SQLite a real commit would outlive the test
    records = _feed_over(settings.max_body_bytes + 100_000)
    response = client.post(
        IMPORTS,
        headers=bearer(make_key(session, "editor")),
        files={"file": ("feed.json", json.dumps(records).encode(), "application/json")},
    )
    assert response.status_code == 200, response.text[:300]
    assert response.json()["created"] == len(records)
    assert session.get(Service, records[-1]["id"]) is not None


@pytest.mark.skipif(not REAL_FEED.exists(), reason=f"shared data absent: {REAL_FEED}")
def test_real_feed_uploads_through_the_import_route(client, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(session, "commit", session.flush)
    response = client.post(
        IMPORTS,
        headers=bearer(make_key(session, "editor")),
        files={"file": (REAL_FEED.name, REAL_FEED.read_bytes(), "application/json")},
    )
    assert response.status_code == 200, response.text[:300]
    assert (response.json()["created"], response.json()["rejected"]) == (738, [])


def test_other_routes_keep_the_ordinary_limit(client, session, settings) -> None:  # type: ignore[no-untyped-def]
    body = b"[" + b" " * (settings.max_body_bytes + 10) + b"]"
    response = client.post(
        "/api/v1/directory/services",
        headers={**bearer(make_key(session, "editor")), "content-type": "application/json"},
        content=body,
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert str(settings.max_body_bytes) in response.json()["detail"]
    # Answered before the app, and still with the security headers and the request id.
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["x-request-id"]


def test_upload_over_the_import_limit_is_413_problem(small_limit_client, session) -> None:  # type: ignore[no-untyped-def]
    key = make_key(session, "editor")
    body = json.dumps(_feed_over(2 * 1024 * 1024)).encode()
    declared = small_limit_client.post(IMPORTS, headers=bearer(key), files={"file": ("feed.json", body)})
    assert declared.status_code == 413
    assert declared.headers["content-type"].startswith("application/problem+json")
    assert "2097152" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while the body streams in
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    streamed = small_limit_client.post(
        IMPORTS, headers={**bearer(key), "content-type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    assert streamed.headers["content-type"].startswith("application/problem+json")
    assert session.get(Service, json.loads(body)[0]["id"]) is None
