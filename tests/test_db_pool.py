"""PostgreSQL's pooled connections are pinged only after sitting idle: one that died meanwhile is replaced before a
request gets it, and one in steady use costs no round trip."""

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

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
