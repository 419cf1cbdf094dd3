"""FastAPI runs a plain function dependency in a worker thread: a dependency that does no I/O is async, so a
request's only trip to a thread is for its database work."""

import inspect
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

# Dependencies that read the database (a user's browser session) and so belong in a worker thread.
READS_THE_DATABASE = {"page.<locals>.dependency", "optional_viewer"}


def _sync_dependencies(dependant: Any) -> list[str]:
    found = []
    for sub in dependant.dependencies:
        call = sub.call
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
            found.append(call.__qualname__)
        found += _sync_dependencies(sub)
    return found


def test_dependencies_without_io_are_async(app: FastAPI) -> None:
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    plain = {name for r in routes for name in _sync_dependencies(r.dependant)}
    assert plain <= READS_THE_DATABASE, plain - READS_THE_DATABASE


def test_the_signpost_route_goes_to_a_thread_once(app: FastAPI) -> None:
    [route] = [r for r in app.routes if isinstance(r, APIRoute) and r.path == "/fhir/QuestionnaireResponse/$signpost"]
    assert inspect.iscoroutinefunction(route.endpoint)
    assert _sync_dependencies(route.dependant) == []


def test_liveness_is_answered_on_the_event_loop(client: Any, thread_turns: list[str]) -> None:
    # Under load the route threads have a queue: a liveness probe waiting in it could fail a busy, healthy worker.
    assert client.get("/healthz").json() == {"status": "ok"}
    assert thread_turns == []
