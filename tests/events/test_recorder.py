"""Group commit: submissions recorded together go to the database in one batch, each counted once, none acknowledged
before it is stored; a batch that fails fails each of its callers and stores nothing. On SQLite and PostgreSQL."""

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from signpost import db, events
from signpost.directory.models import Service
from signpost.events import Recorder, store
from tests.events.factories import make_event, stored
from tests.factories import bearer, make_key
from tests.fhir_api.committed import served, signpost_app
from tests.fhir_api.test_questionnaire_response_writing import _a_thread_of_this_process, _another_process
from tests.template.builders import make_response


@asynccontextmanager
async def _recorder(engine: Engine) -> AsyncIterator[Recorder]:
    """A recorder as the app's lifespan makes one (PostgreSQL: with its async pool open)."""
    pool = db.async_pool(engine)
    if pool is None:
        yield Recorder(engine)
        return
    async with pool:
        recorder = Recorder(engine, pool)
        yield recorder
        await recorder.close()


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The keys of each batch written, on either database."""
    written: list[list[str]] = []
    sync, on_driver, async_ = store.record_many, store.record_many_sqlite, store.record_many_async

    def record_many(session: Session, *, source: str, submissions: list[tuple[str, Any]]) -> list[bool]:
        written.append([key for key, _ in submissions])
        return sync(session, source=source, submissions=submissions)

    def record_many_sqlite(connection: Any, *, source: str, submissions: list[tuple[str, Any]]) -> list[bool]:
        written.append([key for key, _ in submissions])
        return on_driver(connection, source=source, submissions=submissions)

    async def record_many_async(connection: Any, source: str, submissions: list[tuple[str, Any]]) -> set[str]:
        written.append([key for key, _ in submissions])
        return await async_(connection, source, submissions)

    monkeypatch.setattr(store, "record_many", record_many)
    monkeypatch.setattr(store, "record_many_sqlite", record_many_sqlite)
    monkeypatch.setattr(store, "record_many_async", record_many_async)
    return written


def _run(engine: Engine, scenario: Callable[[Recorder], Any]) -> Any:
    async def main() -> Any:
        async with _recorder(engine) as recorder:
            return await scenario(recorder)

    return asyncio.run(main())


def test_submissions_that_arrive_together_are_written_in_one_batch(
    committed_engine: Engine, batches: list[list[str]]
) -> None:
    async def scenario(recorder: Recorder) -> list[bool]:
        return await asyncio.gather(
            *(
                recorder.record(key=f"key-{n}", source="template", events=[make_event(), make_event(need_code="debt")])
                for n in range(20)
            )
        )

    assert _run(committed_engine, scenario) == [True] * 20
    assert batches == [[f"key-{n}" for n in range(20)]]
    assert stored(committed_engine) == (20, 40)


def test_a_key_given_twice_in_one_batch_or_seen_before_is_stored_once(
    committed_engine: Engine, batches: list[list[str]]
) -> None:
    async def scenario(recorder: Recorder) -> list[bool]:
        first = await recorder.record(key="seen", source="template", events=[make_event()])
        together = await asyncio.gather(
            recorder.record(key="twice", source="template", events=[make_event()]),
            recorder.record(key="twice", source="template", events=[make_event()]),
            recorder.record(key="seen", source="template", events=[make_event()]),
        )
        return [first, *together]

    assert _run(committed_engine, scenario) == [True, True, False, False]
    assert batches == [["seen"], ["twice", "seen"]]
    assert stored(committed_engine) == (2, 2)


def test_more_than_a_batch_waiting_is_written_in_batches_in_order(
    committed_engine: Engine, batches: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from signpost.events import recorder as recorder_module

    monkeypatch.setattr(recorder_module, "BATCH", 4)

    async def scenario(recorder: Recorder) -> list[bool]:
        return await asyncio.gather(
            *(recorder.record(key=f"key-{n}", source="template", events=[make_event()]) for n in range(10))
        )

    assert _run(committed_engine, scenario) == [True] * 10
    assert batches == [[f"key-{n}" for n in range(start, min(start + 4, 10))] for start in (0, 4, 8)]
    assert stored(committed_engine) == (10, 10)


def test_a_batch_that_fails_fails_each_caller_stores_nothing_and_the_next_batch_is_written(
    committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync, on_driver, async_ = store.record_many, store.record_many_sqlite, store.record_many_async
    failing = [True]

    def record_many(session: Session, **kwargs: Any) -> list[bool]:
        answer = sync(session, **kwargs)  # written, then the database goes away before the commit
        if failing[0]:
            raise OperationalError("COMMIT", {}, Exception("the database went away"))
        return answer

    def record_many_sqlite(connection: Any, **kwargs: Any) -> list[bool]:
        answer = on_driver(connection, **kwargs)  # written, then the disk fails before the commit
        if failing[0]:
            raise sqlite3.OperationalError("disk I/O error")  # the driver's own: callers get SQLAlchemy's (a 503)
        return answer

    async def record_many_async(connection: Any, source: str, submissions: Any) -> set[str]:
        if failing[0]:
            raise OperationalError("INSERT", {}, Exception("the database went away"))
        return await async_(connection, source, submissions)

    monkeypatch.setattr(store, "record_many", record_many)
    monkeypatch.setattr(store, "record_many_sqlite", record_many_sqlite)
    monkeypatch.setattr(store, "record_many_async", record_many_async)

    async def scenario(recorder: Recorder) -> tuple[list[Any], bool]:
        lost = await asyncio.gather(
            *(recorder.record(key=f"lost-{n}", source="template", events=[make_event()]) for n in range(3)),
            return_exceptions=True,
        )
        failing[0] = False
        return lost, await recorder.record(key="after", source="template", events=[make_event()])

    lost, after = _run(committed_engine, scenario)
    assert [type(error) for error in lost] == [OperationalError] * 3
    assert after is True
    assert stored(committed_engine) == (1, 1)


@pytest.mark.parametrize("hold", [_another_process, _a_thread_of_this_process])
def test_a_batch_waits_off_the_loop_while_another_writer_holds_sqlite_and_is_then_written(
    committed_engine: Engine, hold: Callable[[Engine], Callable[[], None]]
) -> None:
    if committed_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock (PostgreSQL batches go through the async pool)")

    async def scenario(recorder: Recorder) -> tuple[list[bool], list[bool]]:
        # One batch first, so the pool has a connection to lend on the loop (a new pool's would be made in a thread).
        assert await recorder.record(key="first", source="template", events=[make_event()])
        release = hold(committed_engine)
        waiting = [
            asyncio.create_task(recorder.record(key=f"held-{n}", source="template", events=[make_event()]))
            for n in range(3)
        ]
        still_waiting = []
        for _ in range(3):
            asked = time.monotonic()
            await asyncio.sleep(0.05)
            assert time.monotonic() - asked < 1  # the loop was not held up by the wait
            still_waiting.append(not any(task.done() for task in waiting))
        release()
        return still_waiting, list(await asyncio.gather(*waiting))

    assert _run(committed_engine, scenario) == ([True] * 3, [True] * 3)
    assert stored(committed_engine) == (4, 4)


def test_a_batch_is_written_in_a_thread_when_every_pooled_connection_is_taken(
    committed_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if committed_engine.dialect.name != "sqlite":
        pytest.skip("SQLite's pool (PostgreSQL batches go through the async pool)")
    loop_thread = threading.get_ident()
    threads: list[int] = []
    on_driver = store.record_many_sqlite

    def record_many_sqlite(connection: Any, **kwargs: Any) -> list[bool]:
        threads.append(threading.get_ident())
        return on_driver(connection, **kwargs)

    monkeypatch.setattr(store, "record_many_sqlite", record_many_sqlite)
    monkeypatch.setattr(db, "_pool_would_wait_for", lambda engine: True)

    async def scenario(recorder: Recorder) -> bool:
        return await recorder.record(key="pool-busy", source="template", events=[make_event()])

    assert _run(committed_engine, scenario) is True
    assert threads and threads[0] != loop_thread
    assert stored(committed_engine) == (1, 1)


def test_concurrent_signposts_through_the_app_are_each_counted_once_and_committed_before_the_answer(
    settings: Any, committed_engine: Engine, batches: list[list[str]]
) -> None:
    # Routing reads the directory each time: nothing of this test's database stays in the process's memory.
    app, headers = signpost_app(settings, committed_engine, routing_cache_seconds=0)
    path = "/fhir/QuestionnaireResponse/$signpost"

    def body(identifier: str) -> dict[str, Any]:
        return make_response({"work": [True], "isolation": [True]}, identifier={"value": identifier})

    def recorded(name: str) -> bool:
        key = events.key_hmac(settings.secret_key, "template:B86001", f"identifier:|{name}")
        with Session(committed_engine) as session:
            return events.is_recorded(session=session, key=key)

    async def scenario() -> list[tuple[int, bool]]:
        async with served(app) as client:

            async def one(name: str) -> tuple[int, bool]:
                answer = await client.post(path, json=body(name), headers=headers)
                return answer.status_code, recorded(name)  # committed by the time it is answered

            return await asyncio.gather(*(one(f"patient-{n % 12}") for n in range(16)))  # 4 retries among them

    assert asyncio.run(scenario()) == [(200, True)] * 16
    assert stored(committed_engine) == (12, 24)  # two needs each, counted once however often sent
    assert len(batches) < 16  # requests shared batches
    assert sum(len(batch) for batch in batches) <= 16


def test_concurrent_prescriber_signposts_through_the_app_are_each_counted_once_and_a_retry_is_replayed(
    settings: Any, committed_engine: Engine, batches: list[list[str]]
) -> None:
    app, _ = signpost_app(settings, committed_engine, routing_cache_seconds=0)
    with Session(committed_engine) as session:
        service_id = session.exec(select(Service.id)).one()
        headers = bearer(make_key(session, "prescriber"))
        session.commit()
    body = {"services": [service_id], "needs": ["homeless", "carer"], "kind": "signposted"}

    async def scenario() -> list[tuple[int, int, str]]:
        async with served(app) as client:

            async def one(key: str) -> tuple[int, int, str]:
                answer = await client.post("/api/v1/signposts", json=body, headers={**headers, "Idempotency-Key": key})
                assert answer.status_code == 201, answer.text
                return answer.status_code, answer.json()["recorded"], answer.headers["Idempotent-Replayed"]

            first = await asyncio.gather(*(one(f"visit-{n}") for n in range(12)))
            return [*first, await one("visit-3")]  # a retry, once the first is stored

    answers = asyncio.run(scenario())
    assert answers == [(201, 2, "false")] * 12 + [(201, 2, "true")]
    assert stored(committed_engine) == (12, 24)  # two needs each; the retry counted nothing
    if committed_engine.dialect.name == "sqlite":
        assert len(batches) < 13  # requests shared batches
    else:  # each request's checks read PostgreSQL in a worker thread, which writes and commits them there
        assert len(batches) == 13
