"""PostgreSQL's pooled connections are pinged only after sitting idle: one that died meanwhile is replaced before a
request gets it, and one in steady use costs no round trip. Work run from memory on the event loop sends nothing
from it."""

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from signpost import db


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
