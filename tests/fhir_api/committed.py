"""The app on a database of a test's own, where commits are real (not the rolled-back test session)."""

from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings, request_settings
from tests.factories import bearer, make_key
from tests.routing.factories import make_service


def signpost_app(settings: Settings, engine: Engine) -> tuple[FastAPI, dict[str, str]]:
    """The app with one employment service in `engine`'s database, and a clinician's headers for `$signpost`."""
    with Session(engine) as session:
        make_service(session, "Jobs Club", ["employment"])
        key = make_key(session, "clinician", practice_ods="B86001")
        session.commit()

    async def sessions() -> AsyncIterator[Session]:
        with Session(engine) as session:
            yield session

    app = create_app(settings)
    app.dependency_overrides[db.get_session] = sessions
    app.dependency_overrides[request_settings] = lambda: settings
    return app, {"Content-Type": "application/fhir+json", **bearer(key)}
