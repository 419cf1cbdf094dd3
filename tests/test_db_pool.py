"""PostgreSQL's pooled connections are pinged only after sitting idle: one that died meanwhile is replaced before a
request gets it, and one in steady use costs no round trip. Work run from memory on the event loop sends nothing
from it."""

import asyncio
import sys
import threading
import time
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from signpost import db
from signpost.app import SWITCH_INTERVAL_SECONDS, create_app
from signpost.config import Settings


@pytest.fixture
def pg_engine(database_url: str) -> Iterator[Engine]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL connection pool")
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    killer = db.make_engine(str(engine.url.render_as_string(hide_password=False)))
    with killer.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()
    time.sleep(0.1)  # the backend exits


def test_a_connection_that_died_while_idle_is_replaced_before_use(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    _terminate(pg_engine, first)
    later = time.monotonic() + db.IDLE_PING_SECONDS
    monkeypatch.setattr(db.time, "monotonic", lambda: later)
    assert _backend(pg_engine) != first


def test_a_pinged_connection_is_handed_over_outside_a_transaction(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend(pg_engine)
    later = time.monotonic() + db.IDLE_PING_SECONDS
    monkeypatch.setattr(db.time, "monotonic", lambda: later)
    with pg_engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None and raw.info.transaction_status.name == "IDLE"
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() == first  # alive: kept


def test_a_connection_in_steady_use_is_not_pinged_so_its_death_fails_one_request(pg_engine: Engine) -> None:
    _terminate(pg_engine, _backend(pg_engine))
    with pytest.raises(OperationalError), pg_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert _backend(pg_engine) > 0  # the pool let the dead connection go: the next request works


def _loop_and_work_threads(
    engine: Engine, reads: bool, may_block: bool = False, connected: bool = False
) -> tuple[int, int, int]:
    """(the loop's thread, the thread the work finished in, the work's answer), for work run by `run_from_memory`
    in a session that has (`connected`) or has not yet got its connection."""
    statements: list[int] = []
    event.listen(engine, "after_cursor_execute", lambda *_: statements.append(threading.get_ident()))

    async def scenario() -> tuple[int, int, int]:
        with Session(engine) as session:
            if connected:  # as when the request's key was looked up
                await asyncio.to_thread(session.connection)

            def work() -> tuple[int, int]:
                answer = session.connection().execute(text("SELECT 42")).scalar_one() if reads else 7
                return threading.get_ident(), answer

            worked_in, answer = await db.run_from_memory(session, work, may_block=may_block)
        return threading.get_ident(), worked_in, answer

    loop, worked_in, answer = asyncio.run(scenario())
    assert all(thread == worked_in for thread in statements)  # nothing was sent from the loop
    return loop, worked_in, answer


def test_work_that_needs_nothing_from_the_database_runs_on_the_loop(pg_engine: Engine) -> None:
    loop, worked_in, answer = _loop_and_work_threads(pg_engine, reads=False)
    assert (worked_in, answer) == (loop, 7)


@pytest.mark.parametrize("connected", [False, True], ids=["at-checkout", "at-its-statement"])
def test_work_that_reads_is_refused_on_the_loop_and_done_again_in_a_thread(pg_engine: Engine, connected: bool) -> None:
    loop, worked_in, answer = _loop_and_work_threads(pg_engine, reads=True, connected=connected)
    assert worked_in != loop and answer == 42


def test_work_that_may_block_goes_straight_to_a_thread(pg_engine: Engine) -> None:
    loop, worked_in, answer = _loop_and_work_threads(pg_engine, reads=False, may_block=True)
    assert worked_in != loop and answer == 7


def test_a_request_ends_its_transaction_even_when_every_route_thread_is_taken() -> None:
    """Routes' threads may all be waiting on a row lock that a finished request holds until it commits: its commit
    runs in a thread of its own pool, so it gives the lock back rather than wait for them."""

    async def commit_with_route_threads_taken() -> list[str]:
        routes = anyio.to_thread.current_default_thread_limiter()
        routes.total_tokens = 1
        ended: list[str] = []
        async with routes:  # the only route thread, held (as by a route waiting on the lock)
            with anyio.fail_after(5):
                await db.finish(lambda: ended.append(threading.current_thread().name))
        return ended

    ended = asyncio.run(commit_with_route_threads_taken())
    assert len(ended) == 1 and ended[0] != threading.current_thread().name  # in a worker thread, not the loop's


@pytest.mark.parametrize("threads", [1, 3])
def test_blocking_routes_take_turns_on_settings_worker_threads_on_postgresql_and_40_on_sqlite(
    settings: Settings, threads: int
) -> None:
    tokens = _route_threads(settings.model_copy(update={"worker_threads": threads}))
    assert tokens == (threads if settings.database_url.startswith("postgresql") else 40)


def test_the_event_loop_waits_a_millisecond_for_the_interpreter_while_serving_postgresql(settings: Settings) -> None:
    before = sys.getswitchinterval()
    with TestClient(create_app(settings)):
        during = sys.getswitchinterval()
    assert during == (SWITCH_INTERVAL_SECONDS if settings.database_url.startswith("postgresql") else before)
    assert sys.getswitchinterval() == before


def _route_threads(settings: Settings) -> float:
    """How many threads the app's blocking routes may use at once, read inside its running lifespan."""
    with TestClient(create_app(settings)) as client:
        return float(client.portal.call(_tokens))


async def _tokens() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens
