"""No directory or editor page does database work on the event loop: a blocked loop stalls every other request."""

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from signpost.web import directory_routes, editor_routes
from tests.directory.factories import make_service
from tests.web.factories import csrf_from, make_user, sign_in


@pytest.fixture
def statements(session: Session) -> Iterator[dict[str, list[str]]]:
    """Every statement the test session runs, sorted by whether the thread running it had an event loop running."""
    seen: dict[str, list[str]] = {"loop": [], "worker": []}
    # The test's own thread runs its set-up, not the app (TestClient serves from a thread of its own); it may also
    # appear to have a running loop while a browser test's Playwright session is alive, so it is left out.
    test_thread = threading.get_ident()

    def spy(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == test_thread:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seen["worker"].append(statement)
        else:
            seen["loop"].append(statement)

    bind = session.connection()
    event.listen(bind, "before_cursor_execute", spy)
    yield seen
    event.remove(bind, "before_cursor_execute", spy)


def _feed() -> bytes:
    return json.dumps(
        {
            "organizations": [{"id": "loop-org", "name": "Loop Organisation"}],
            "services": [{"id": "loop-svc", "organization_id": "loop-org", "name": "Loop test lunch club"}],
        }
    ).encode()


def _requests(service_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """One request for each (method, route path); form fields get the page's CSRF token added."""
    form = {"name": "Loop test café", "organization": "Loop Org", "version": "1", "description": "Lunch."}
    return {
        ("GET", "/directory"): {"url": "/directory?q=lunch"},
        ("GET", "/directory/services/{service_id}"): {"url": f"/directory/services/{service_id}"},
        ("POST", "/directory/services/{service_id}/record"): {
            "url": f"/directory/services/{service_id}/record",
            "data": {"needs": "food", "kind": "signposted"},
            "as": "prescriber",
        },
        ("GET", "/editor"): {"url": "/editor?filter=due"},
        ("POST", "/editor/suggestions"): {"url": "/editor/suggestions", "data": {"action": "confirm"}},
        ("GET", "/editor/services/new"): {"url": "/editor/services/new"},
        ("POST", "/editor/services/new"): {"url": "/editor/services/new", "data": form},
        ("GET", "/editor/services/{service_id}"): {"url": f"/editor/services/{service_id}"},
        ("POST", "/editor/services/{service_id}"): {"url": f"/editor/services/{service_id}", "data": form},
        ("POST", "/editor/services/{service_id}/verify"): {
            "url": f"/editor/services/{service_id}/verify",
            "data": {"version": "1"},
        },
        ("POST", "/editor/services/{service_id}/status"): {
            "url": f"/editor/services/{service_id}/status",
            "data": {"status": "inactive"},
        },
        ("POST", "/editor/services/{service_id}/retire"): {"url": f"/editor/services/{service_id}/retire", "data": {}},
        ("GET", "/editor/services/{service_id}/history"): {"url": f"/editor/services/{service_id}/history"},
        ("POST", "/editor/services/{service_id}/restore"): {
            "url": f"/editor/services/{service_id}/restore",
            "data": {"version": "1", "expected": "1"},
        },
        ("POST", "/editor/bulk"): {"url": "/editor/bulk", "data": {"service": f"{service_id}:1", "action": "verify"}},
        ("GET", "/editor/done"): {"url": f"/editor/done?action=verify&changed={service_id}:1"},
        ("POST", "/editor/undo"): {"url": "/editor/undo", "data": {"item": f"{service_id}:1"}},
        ("GET", "/editor/import"): {"url": "/editor/import"},
        ("POST", "/editor/import"): {
            "url": "/editor/import",
            "data": {"dry_run": "yes"},
            "files": {"file": ("feed.json", _feed(), "application/json")},
        },
    }


def _routes() -> set[tuple[str, str]]:
    found = set()
    for router in (directory_routes.router, editor_routes.router):
        for route in router.routes:
            assert isinstance(route, APIRoute)
            found |= {(method, route.path) for method in route.methods}
    return found


def test_no_directory_or_editor_page_touches_the_database_on_the_event_loop(
    app: Any, session: Session, statements: dict[str, list[str]]
) -> None:
    service = make_service(session, name="Loop test lunch club")
    requests = _requests(service.id)
    # A route added without a request here fails the test, so every route stays covered.
    assert set(requests) == _routes()
    clients = {}
    for role in ("editor", "prescriber"):
        clients[role] = TestClient(app, base_url="http://localhost", raise_server_exceptions=False)
        sign_in(clients[role], make_user(session, role))
    token = {role: csrf_from(client.get("/directory").text) for role, client in clients.items()}
    statements["worker"].clear()
    for (method, path), spec in requests.items():
        role = spec.get("as", "editor")
        client = clients[role]
        before = len(statements["worker"]) + len(statements["loop"])
        if method == "GET":
            answer = client.get(spec["url"], follow_redirects=False)
        else:
            data = {**spec["data"], "csrf_token": token[role]}
            answer = client.post(spec["url"], data=data, files=spec.get("files"), follow_redirects=False)
        assert answer.status_code < 500, (method, path, answer.status_code)
        assert len(statements["worker"]) + len(statements["loop"]) > before, f"{method} {path} read nothing"
        assert statements["loop"] == [], f"{method} {path} ran SQL on the event loop: {statements['loop'][:2]}"
    for client in clients.values():
        client.close()
