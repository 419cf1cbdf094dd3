"""On PostgreSQL, a serving app answers `$signpost` on the event loop while routing and postcodes come from memory,
and stores its events with one statement through an async connection: counted once, committed before the answer.
When the reads need the database, they run in a worker thread; when the write cannot reach it, the answer is 503
and nothing is stored."""

import asyncio
import logging
import time
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from signpost import db, remember
from signpost.app import create_app
from signpost.config import Settings
from signpost.routing import service as routing
from tests.events.factories import stored
from tests.fhir_api.committed import served, signpost_app
from tests.routing.factories import make_service
from tests.template.builders import make_response

PATH = "/fhir/QuestionnaireResponse/$signpost"


@pytest.fixture
def pg_engine(committed_engine: Engine) -> Engine:
    if committed_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's async writes (SQLite writes on the loop through the session)")
    return committed_engine


def _body(identifier: str) -> dict[str, Any]:
    return make_response({"work": [True], "isolation": [True]}, identifier={"value": identifier})


def test_with_the_directory_in_memory_no_request_waits_for_a_thread(
    settings: Settings, pg_engine: Engine, thread_trips: list[str]
) -> None:
    app, headers = signpost_app(settings, pg_engine, routing_cache_seconds=60)

    async def scenario() -> list[tuple[int, int]]:
        async with served(app) as client:
            assert (await client.post(PATH, json=_body("first"), headers=headers)).status_code == 200
            thread_trips.clear()  # the first request read the directory and the geography in a thread
            seen = []
            for name in ("second", "third", "second"):
                answer = await client.post(PATH, json=_body(name), headers=headers)
                assert answer.status_code == 200, answer.text
                seen.append(stored(pg_engine))  # committed before the answer: another connection sees it
            assert app.state.async_writes.get_stats()["requests_num"] == 4
            return seen

    assert asyncio.run(scenario()) == [(2, 4), (3, 6), (3, 6)]  # the retry of "second" is counted once
    assert thread_trips == []


def _services(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    return sorted(e["resource"]["name"] for e in entries if e["resource"]["resourceType"] == "HealthcareService")


def test_past_half_the_routing_time_requests_go_on_from_memory_while_the_directory_is_read_again(
    settings: Settings, pg_engine: Engine, thread_trips: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, headers = signpost_app(settings, pg_engine, routing_cache_seconds=10)
    routing.forget_directory()  # what another test read, on the real clock, is not this test's directory
    clock = [time.monotonic()]
    monkeypatch.setattr(remember, "monotonic", lambda: clock[0])

    async def scenario() -> list[str]:
        async with served(app) as client:
            assert _services(await client.post(PATH, json=_body("first"), headers=headers)) == ["Jobs Club"]
            thread_trips.clear()
            with Session(pg_engine) as session:  # an editor adds a service
                make_service(session, "Work Club", ["employment"])
                session.commit()
            clock[0] += 6  # the clock stands still from here: only the background read can bring the edit in
            for number in range(250):
                found = _services(await client.post(PATH, json=_body(f"then-{number}"), headers=headers))
                if found != ["Jobs Club"]:
                    return found
                await asyncio.sleep(0.02)
            return found

    try:
        assert asyncio.run(scenario()) == ["Jobs Club", "Work Club"]
        # No request read the directory itself. (The clock's jump also ends the caller's key's few seconds in memory,
        # so the key is read again and that request's transaction ends in a worker thread: a "commit".)
        assert [trip for trip in thread_trips if trip != "commit"] == []
    finally:
        routing.forget_directory()  # read on this test's clock: not for the next test


def test_reads_that_need_the_database_run_in_a_thread_and_the_answer_is_the_same(
    settings: Settings, pg_engine: Engine, thread_trips: list[str]
) -> None:
    app, headers = signpost_app(settings, pg_engine, routing_cache_seconds=0)  # routing reads every time

    async def scenario() -> list[dict[str, Any]]:
        async with served(app) as client:
            answers = [await client.post(PATH, json=_body("read-each-time"), headers=headers) for _ in range(2)]
            assert [a.status_code for a in answers] == [200, 200]
            return [a.json() for a in answers]

    first, retry = asyncio.run(scenario())
    assert first["entry"] == retry["entry"]
    assert [e["resource"]["name"] for e in first["entry"] if e["resource"]["resourceType"] == "HealthcareService"] == [
        "Jobs Club"
    ]
    assert thread_trips.count("signposted") == 2  # the reads, once a request; the writes did not need a thread
    assert stored(pg_engine) == (1, 2)


def test_a_write_that_cannot_reach_the_database_is_answered_503_and_stores_nothing(
    settings: Settings, pg_engine: Engine
) -> None:
    app, headers = signpost_app(settings, pg_engine, routing_cache_seconds=60)

    async def scenario() -> Any:
        async with served(app) as client:
            assert (await client.post(PATH, json=_body("before"), headers=headers)).status_code == 200
            await app.state.async_writes.close()  # as when the server shuts down, or the pool cannot connect
            return await client.post(PATH, json=_body("after"), headers=headers)

    answer = asyncio.run(scenario())
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "database is unavailable" in outcome["issue"][0]["diagnostics"]
    assert stored(pg_engine) == (1, 2)


def test_an_async_connection_that_died_while_idle_is_replaced_before_the_write(
    settings: Settings, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, headers = signpost_app(settings, pg_engine, routing_cache_seconds=60)

    async def scenario() -> int:
        async with served(app) as client:
            assert (await client.post(PATH, json=_body("before"), headers=headers)).status_code == 200
            with pg_engine.connect() as connection:  # as a database restart would
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            await asyncio.sleep(0.1)  # the backends exit
            monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # as if they had all sat idle since
            return (await client.post(PATH, json=_body("after"), headers=headers)).status_code

    assert asyncio.run(scenario()) == 200
    assert stored(pg_engine) == (2, 4)


def test_the_pool_does_not_log_each_connection_it_hands_out(settings: Settings) -> None:
    create_app(settings.model_copy(update={"log_level": "INFO"}))
    assert logging.getLogger().isEnabledFor(logging.INFO)
    assert not logging.getLogger("psycopg.pool").isEnabledFor(logging.INFO)  # three lines a request
