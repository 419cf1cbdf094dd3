"""The app on a database of a test's own, where commits are real (not the rolled-back test session)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from signpost.app import create_app
from signpost.config import Settings, request_settings
from tests.factories import bearer, make_key
from tests.routing.factories import make_service


def signpost_app(settings: Settings, engine: Engine, **changes: object) -> tuple[FastAPI, dict[str, str]]:
    """The app on `engine`'s database (settings `changes` applied), with one employment service there, and a
    clinician's headers for `$signpost`."""
    with Session(engine) as session:
        make_service(session, "Jobs Club", ["employment"])
        key = make_key(session, "clinician", practice_ods="B86001")
        session.commit()

    url = engine.url.render_as_string(hide_password=False)
    settings = settings.model_copy(update={"database_url": url, **changes})
    app = create_app(settings)
    app.state.engine = engine  # the test's own engine on the database the settings name
    app.dependency_overrides[request_settings] = lambda: settings
    return app, {"Content-Type": "application/fhir+json", **bearer(key)}


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app as a server runs it: its lifespan started (on PostgreSQL, the async write pool open)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
