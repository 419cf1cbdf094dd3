"""Test database built by the migrations; each test in a transaction rolled back at the end.

SQLite by default; PostgreSQL when SIGNPOST_TEST_DATABASE_URL is set.
"""

import functools
import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import psycopg_pool.base
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings, get_settings, request_settings
from tests.factories import request_session

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def pools_jitter_with_their_own_random() -> Iterator[None]:
    """psycopg_pool jitters each new connection's lifetime with the shared `random`, in the thread of an app's event
    loop, which goes on while Hypothesis draws. Hypothesis watches that generator and warns when something else moves
    it (the fuzz test on PostgreSQL did). Here the pools draw from a generator of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg_pool.base, "random", random.Random().random)
        yield


def _reset_postgres(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SIGNPOST_TEST_DATABASE_URL")
    if url:
        url = db.normalise_url(url)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Test settings, set through the environment so every reader of get_settings() sees them."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SIGNPOST_DATABASE_URL", database_url)
    patch.setenv("SIGNPOST_VAR_DIR", str(tmp_path_factory.mktemp("var")))
    patch.setenv("SIGNPOST_SECRET_KEY", "test-secret-key-for-hmac")
    patch.setenv("SIGNPOST_ENVIRONMENT", "development")
    # No background folding: tests share one database, and those that fold do it themselves (tests/indicators).
    patch.setenv("SIGNPOST_FOLD_SECONDS", "0")
    # Tests change the directory and route at once, each in its own transaction: routing reads it every time.
    patch.setenv("SIGNPOST_ROUTING_CACHE_SECONDS", "0")
    get_settings.cache_clear()
    yield get_settings()
    patch.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    db.upgrade(settings.database_url)
    engine = db.make_engine(settings.database_url)
    if engine.dialect.name == "sqlite":
        # pysqlite begins transactions lazily, so a released savepoint would really commit and leak between
        # tests; SQLAlchemy's documented recipe makes it emit BEGIN itself, so rollback undoes everything.
        event.listen(engine, "connect", lambda dbapi_connection, _: setattr(dbapi_connection, "isolation_level", None))
        event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test; commits become savepoints."""
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def app(settings: Settings, session: Session):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    application.dependency_overrides[db.get_session] = request_session(session)
    application.dependency_overrides[request_settings] = lambda: settings
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def committed_engine(settings: Settings, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A database of its own, migrated, where commits are real (not the rolled-back test session)."""
    if settings.database_url.startswith("postgresql"):
        name = f"signpost_committed_{uuid.uuid4().hex[:8]}"
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


def _name(function: Any) -> str:
    """A function's name; a partial's is its function's."""
    if isinstance(function, functools.partial):
        return _name(function.func)
    return str(getattr(function, "__name__", type(function).__name__))


@pytest.fixture
def thread_turns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to a worker thread through anyio, as FastAPI sends a plain route, its plain
    dependencies and its answer's check against the response model (ends of sessions included)."""
    turns: list[str] = []
    real = anyio.to_thread.run_sync

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        turns.append(_name(function))
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    return turns


@pytest.fixture
def thread_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the functions `db` sends to a worker thread (commits and rollbacks included)."""
    trips: list[str] = []
    real = db.run_in_threadpool

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(_name(function))
        return await real(function, *args, **kwargs)

    real_finish = db.finish

    async def counted_finish(end: Any) -> None:
        trips.append(_name(end))
        await real_finish(end)

    monkeypatch.setattr(db, "run_in_threadpool", counted)
    monkeypatch.setattr(db, "finish", counted_finish)
    yield trips
