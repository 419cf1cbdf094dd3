"""On SQLite, `$signpost` writes on the event loop, and never waits there: while another writer holds the database
(another process, or a thread of this one), the loop goes on answering, and the submission is stored once that
writer is done."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from signpost import db
from signpost.config import Settings
from signpost.events.models import SignpostEvent
from tests.fhir_api.committed import signpost_app
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


@pytest.fixture
def engine_on_file(settings: Settings, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite's write lock (PostgreSQL work always runs in a worker thread)")
    url = f"sqlite:///{tmp_path / 'writing.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def _another_process(engine: Engine) -> Callable[[], None]:
    """A second connection, as another process would have, holding SQLite's write lock; returns its release."""
    other = sqlite3.connect(str(engine.url.database), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")

    def release() -> None:
        other.execute("ROLLBACK")
        other.close()

    return release


def _a_thread_of_this_process(engine: Engine) -> Callable[[], None]:
    """The engine's writer lock, held as a writer in a worker thread (say, the roll-up folder) holds it."""
    with engine.connect() as connection:
        lock = connection.connection.dbapi_connection.writer_lock  # type: ignore[union-attr]
    taken = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            done.wait(10)

    threading.Thread(target=hold, daemon=True).start()
    taken.wait(5)
    return done.set


@pytest.mark.parametrize("hold", [_another_process, _a_thread_of_this_process])
def test_the_loop_answers_while_a_submission_waits_for_another_writer(
    settings: Settings, engine_on_file: Engine, hold: Callable[[Engine], Callable[[], None]]
) -> None:
    app, headers = signpost_app(settings, engine_on_file)
    body = make_response({"work": [True], "isolation": [True]}, identifier={"value": "waits-for-a-writer"})

    async def scenario() -> tuple[httpx.Response, list[int]]:
        release = hold(engine_on_file)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            submission = asyncio.create_task(client.post(PATH, json=body, headers=headers))
            answered = []
            for _ in range(3):
                asked = time.monotonic()
                await asyncio.sleep(0.1)
                answered.append((await client.get("/healthz")).status_code)
                # Not held up by SQLite's busy wait (BUSY_SECONDS), as it would be if the loop waited for the lock.
                assert time.monotonic() - asked < db.BUSY_SECONDS / 2
                assert not submission.done()  # still waiting for the other writer
            release()
            return await submission, answered

    response, answered = asyncio.run(scenario())
    assert answered == [200, 200, 200]
    assert response.status_code == 200, response.text
    with Session(engine_on_file) as session:
        assert session.exec(select(func.count()).select_from(SignpostEvent)).one() == 2
