"""Ten identical `$signpost` submissions at once, against a committed database, are one event set."""

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, func, select

from signpost import db
from signpost.config import Settings
from signpost.events.models import EventSubmission, SignpostEvent
from tests.fhir_api.committed import signpost_app
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


@pytest.fixture
def committed_engine(settings: Settings, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database of its own, migrated, where commits are real (not the rolled-back test session)."""
    if settings.database_url.startswith("postgresql"):
        name = f"signpost_tpl_concurrency_{uuid.uuid4().hex[:8]}"
        admin = create_engine(db.normalise_url(settings.database_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = db.normalise_url(settings.database_url).rsplit("/", 1)[0] + f"/{name}"
    else:
        admin, name, url = None, "", f"sqlite:///{tmp_path / 'committed.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_ten_concurrent_identical_submissions_store_one_event_set(settings: Settings, committed_engine: Engine) -> None:
    app, headers = signpost_app(settings, committed_engine)
    body = make_response({"work": [True], "isolation": [True]}, identifier={"value": "same-response-10x"})

    async def submit_ten() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post(PATH, json=body, headers=headers) for _ in range(10)))

    responses = asyncio.run(submit_ten())
    assert [r.status_code for r in responses] == [200] * 10
    entries = [r.json()["entry"] for r in responses]
    assert all(e == entries[0] for e in entries)
    with Session(committed_engine) as session:
        assert session.exec(select(func.count()).select_from(EventSubmission)).one() == 1
        assert session.exec(select(func.count()).select_from(SignpostEvent)).one() == 2
