"""Engines and sessions for SQLite (embedded) and PostgreSQL (production)."""

import logging
import re
import sqlite3
import threading
import time
import traceback
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
import psycopg
from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import QueuePool, StaticPool
from sqlmodel import Session, SQLModel
from starlette.concurrency import run_in_threadpool

from signpost.config import ROOT, Settings, get_settings

# Set before any model is declared, so constraint names are stable on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata
T = TypeVar("T")
log = logging.getLogger(__name__)
# How long a SQLite writer waits for the others before it gives up with "database is locked".
BUSY_SECONDS = 10


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver the URL names."""
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# SQLite's own default: a commit that takes the WAL past this many pages writes it back to the database file.
_SQLITE_AUTOCHECKPOINT = 1000


# Statements that take SQLite's write lock. A WITH statement writes when its body does: a read queued as a writer
# (routing's, renewed in a background thread) kept every request waiting behind it for up to 230 ms.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_WRITES_WITHIN = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class _QueuedWriter(sqlite3.Connection):
    """A pysqlite connection whose transactions take turns at writing through a lock shared by the engine.

    SQLite lets one connection write at a time. One that finds the database locked polls with back-off sleeps of up
    to 100 ms, so under load some writers waited seconds while later ones went ahead. Here a transaction takes the
    engine's lock at its first write and gives it back once its commit or rollback is done: writers queue in turn.
    """

    writer_lock: threading.Lock
    lock_timeout: float
    holds_lock = False
    impatient = False  # busy timeout 0 until the transaction ends (refuse_when_busy)
    autocheckpoint = _SQLITE_AUTOCHECKPOINT  # pages; 0 while a thread checkpoints instead (`checkpointing`)

    def take_writer_lock(self, *, wait: bool = True) -> bool:
        """Take the lock, waiting up to lock_timeout (then OperationalError); with wait=False, only if it is free."""
        taken = self.writer_lock.acquire(timeout=self.lock_timeout) if wait else self.writer_lock.acquire(False)
        if not taken and wait:
            raise sqlite3.OperationalError("database is locked (waited for the other writers)")
        self.holds_lock = taken
        return taken

    def wait_for_writer_lock(self) -> None:
        """Wait up to lock_timeout (then OperationalError) until no writer holds the lock; leave it free."""
        self.take_writer_lock()
        self._give_back()

    def let_go_unless_writing(self) -> None:
        """Give the lock back now if this transaction has written nothing (else its commit or rollback will)."""
        if not self.in_transaction:
            self._give_back()

    def refuse_when_busy(self) -> None:
        """Until the transaction ends, SQLite refuses at once ("database is locked") where it would wait for another
        process's writer."""
        self.execute("PRAGMA busy_timeout = 0")
        self.impatient = True

    def _give_back(self, *, open_: bool = True) -> None:
        if self.impatient:
            self.impatient = False
            if open_:
                self.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")
        if self.holds_lock:
            self.holds_lock = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back(open_=False)


@lru_cache(maxsize=512)
def _writes(statement: str) -> bool:
    # Cached: searching routing's statement (3 KB) took 87 µs, and SQLAlchemy sends the same string object each time.
    start = statement.lstrip()[:7].upper()
    return start.startswith(_WRITES) or (start.startswith("WITH") and _WRITES_WITHIN.search(statement) is not None)


def _queue_writes(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
    dbapi_connection = cursor.connection
    if not dbapi_connection.holds_lock and _writes(statement):
        dbapi_connection.take_writer_lock()


def make_engine(url: str) -> Engine:
    """An engine with the project's connection settings for either database."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        connect_args = {"check_same_thread": False, "timeout": BUSY_SECONDS, "factory": _QueuedWriter}
        if not path or path == ":memory:":
            # An in-memory database lives as long as its one connection, so every thread shares that one.
            engine = create_engine(url, connect_args=connect_args, poolclass=StaticPool)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Pools hold as many connections as the 40 worker threads sync routes run in (anyio's default limit),
            # so no thread waits on a connection whose holder needs a thread to give it back.
            engine = create_engine(url, connect_args=connect_args, pool_size=20, max_overflow=20)

            def checkpoint_as_the_engine_does(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
                # A connection writes the WAL back in its commits unless a thread does it for the engine.
                pages = 0 if engine in _CHECKPOINTING else _SQLITE_AUTOCHECKPOINT
                if dbapi_connection.autocheckpoint != pages:
                    dbapi_connection.execute(f"PRAGMA wal_autocheckpoint = {pages}")
                    dbapi_connection.autocheckpoint = pages

            event.listen(engine, "checkout", checkpoint_as_the_engine_does)
        writer_lock = threading.Lock()

        def on_connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.writer_lock = writer_lock
            dbapi_connection.lock_timeout = BUSY_SECONDS
            _sqlite_pragmas(dbapi_connection, record)

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "before_cursor_execute", _queue_writes)
        return engine
    # Kept open: as many as the requests the app lets in at once (ops.middleware's gate, half the 40). A connection
    # opened for a request and closed after it costs PostgreSQL a new backend whose catalog caches start cold, and
    # loses its prepared statements: with 10 kept, $signpost cost PostgreSQL 9.6 ms of CPU a request; with 20, 2.9.
    engine = create_engine(url, pool_size=20, max_overflow=20)
    # First, so that a connection refused on the loop is not pinged either.
    event.listen(engine, "checkout", _refuse_on_loop)
    event.listen(engine, "before_cursor_execute", _refuse_on_loop)
    _ping_when_idle(engine)
    return engine


# Engines whose WAL a thread writes back (`checkpointing`), with how many servers' lifespans have asked for it.
_CHECKPOINTING: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
CHECKPOINT_SECONDS = 1.0


@contextmanager
def checkpointing(engine: Engine, seconds: float = CHECKPOINT_SECONDS) -> Iterator[None]:
    """While the block runs (a server's lifespan), a thread writes a SQLite file's WAL back to the database every
    `seconds`, and the engine's commits no longer do. Nothing for PostgreSQL or an in-memory database.

    The commit that takes the WAL past 1,000 pages does the write-back and its two fsyncs itself: a server's commits
    run on the event loop, so that held every request for some 20 ms every second or two under load. A passive
    checkpoint in a thread waits for no reader or writer, and sqlite3 lets go of the interpreter while it works.
    """
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_checkpoint_every, args=(path, seconds, stop), name="wal-checkpoint", daemon=True)
    _CHECKPOINTING[engine] = _CHECKPOINTING.get(engine, 0) + 1
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _CHECKPOINTING[engine] -= 1
        if not _CHECKPOINTING[engine]:
            del _CHECKPOINTING[engine]


# A WAL file larger than this is cut back to nothing once QUIET_TURNS turns of the checkpointing thread in a row
# saw no commit: else the file keeps the size of its largest burst, though SQLite writes it again from the start.
# Cutting it holds the write lock while the file system frees the file (bench/README.md), so it waits for a lull,
# and gives up at once if anyone reads or writes then.
WAL_KEEP_BYTES = 16 * 1024 * 1024
QUIET_TURNS = 3


def _checkpoint_every(path: str, seconds: float, stop: threading.Event) -> None:
    connection = sqlite3.connect(path, timeout=BUSY_SECONDS)
    failing = False
    frames_before, quiet_turns = None, 0
    try:
        while not stop.wait(seconds):
            try:
                _busy, frames, written_back = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                quiet_turns = quiet_turns + 1 if frames == frames_before == written_back else 0
                frames_before = frames
                if quiet_turns >= QUIET_TURNS and _wal_bytes(path) > WAL_KEEP_BYTES:
                    _truncate_wal(connection)
            except sqlite3.Error as error:  # tried again next time; meanwhile the WAL grows
                if not failing:
                    log.warning("writing SQLite's WAL back to the database failed (%s)", error)
                failing = True
            else:
                failing = False
    finally:
        connection.close()


def _truncate_wal(connection: sqlite3.Connection) -> None:
    # No busy timeout: else, while it waited for a reader, every writer would wait for it.
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_SECONDS * 1000}")


def _wal_bytes(path: str) -> int:
    try:
        return Path(f"{path}-wal").stat().st_size
    except OSError:  # no WAL file (yet)
        return 0


# A pooled PostgreSQL connection left unused this long is checked before a request gets it.
IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a connection at checkout only when it has sat in the pool for IDLE_PING_SECONDS.

    A ping on every checkout (pool_pre_ping) is a round trip per request: $signpost made four, and went from 237 to
    271 req/s without it. A connection in steady use needs none: if the server went away meanwhile, the request
    fails once (answered 503) and SQLAlchemy discards every pooled connection. The ones that sat idle, as after a
    quiet night and a database restart, are the ones worth checking, so that the first request of the day works.
    """

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if _idle_too_long(record.info.get("idle_since")):
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:  # the pool then replaces this connection and tries again
                raise DisconnectionError("a pooled connection did not answer its ping") from error

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def _idle_too_long(idle_since: float | None) -> bool:
    """Whether a pooled connection returned at `idle_since` (None: new) has sat long enough to need a ping."""
    return idle_since is not None and time.monotonic() - idle_since >= IDLE_PING_SECONDS


def _sqlite_connection(session: Session) -> _QueuedWriter | None:
    """The session's SQLite connection; None for PostgreSQL, or when getting one would wait for the pool."""
    if session.get_bind().dialect.name != "sqlite" or _pool_would_wait(session):
        return None
    raw = session.connection().connection.dbapi_connection
    return raw if isinstance(raw, _QueuedWriter) else None


def _pool_would_wait(session: Session) -> bool:
    """Whether the session's first statement might wait for the pool to hand it a connection."""
    bind = session.get_bind()
    return not session.in_transaction() and isinstance(bind, Engine) and _pool_would_wait_for(bind)


def _pool_would_wait_for(engine: Engine) -> bool:
    return isinstance(engine.pool, QueuePool) and engine.pool.checkedin() == 0


def _busy(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and "locked" in str(error.orig)


# Set while a loop-safe helper below runs database work on the event loop on purpose (tests tell it from a mistake).
_by_helper: ContextVar[bool] = ContextVar("signpost_db_by_helper", default=False)


def _on_loop_by_helper(work: Callable[..., T], *args: Any) -> T:
    marked = _by_helper.set(True)
    try:
        return work(*args)
    finally:
        _by_helper.reset(marked)


def on_loop_by_helper() -> bool:
    """Whether the database work now running on the event loop was put there by run_and_commit or run_from_memory."""
    return _by_helper.get()


async def run_and_commit(session: Session, work: Callable[[], T], *, may_block: bool = False) -> T:
    """Run a request's synchronous database work, which writes, and commit it.

    On SQLite the work runs here on the event loop, holding the write lock from its start. In a worker thread it
    cost a millisecond more of CPU a request: sqlite3 lets go of the interpreter at every statement, and the thread
    and the event loop hand it back and forth ($signpost: 319 req/s in threads, 442 on the loop). Nothing on the
    loop waits: when another writer in this process (a thread) holds the lock, a worker thread waits for it; and if
    another process is writing, SQLite refuses at once and the work is done again in a worker thread, where waiting
    blocks nobody else. On PostgreSQL (round trips), or for work that `may_block` on the network, the work runs in
    a worker thread.
    """
    raw = None if may_block else _on_loop_by_helper(_sqlite_connection, session)
    if raw is not None:
        await _writer_lock_on_loop(raw)
        marked = _by_helper.set(True)
        try:
            result = work()
        except Exception as error:
            if not (isinstance(error, OperationalError) and _busy(error)):
                raw.let_go_unless_writing()  # a refusal (4xx) comes before any write: free the lock now
                raise
            session.rollback()  # another process is writing: wait for it in a thread
        else:
            session.commit()
            return result
        finally:
            _by_helper.reset(marked)
    return await run_in_threadpool(_work_and_commit, session, work)


async def _writer_lock_on_loop(raw: _QueuedWriter) -> None:
    """Take the engine's writer lock for work on the event loop, SQLite refusing at once (rather than waiting) while
    another process writes. While a thread of this process holds it, wait off the loop until it is free, then take it
    here. (Taken in the thread, it would stay held until this request's turn on the loop came round, and every request
    after it would find it held and queue behind.)"""
    while not raw.holds_lock and not raw.take_writer_lock(wait=False):
        await run_in_threadpool(raw.wait_for_writer_lock)
    raw.refuse_when_busy()


async def run_reads(session: Session, work: Callable[[], T], *, may_block: bool = False) -> T:
    """Run work that only reads, on the event loop where that waits for nothing, else in a worker thread.

    PostgreSQL: as `run_from_memory`. SQLite: a read waits for no writer (WAL), so the work runs here unless it
    `may_block` on the network or would wait for a pooled connection; its read transaction is ended here too (else
    the request's session would end it in a worker thread).
    """
    if session.get_bind().dialect.name == "postgresql":
        return await run_from_memory(session, work, may_block=may_block)
    if may_block or _on_loop_by_helper(_pool_would_wait, session):
        return await run_in_threadpool(_read, session, work)
    return _on_loop_by_helper(_read, session, work)


async def run_and_commit_on_driver(engine: Engine, work: Callable[[sqlite3.Connection], T]) -> T:
    """SQLite: run writing `work` on a pooled pysqlite connection of `engine`, with no session, and commit it; as
    `run_and_commit` does, on the event loop unless another writer holds the lock or another process is writing.

    For the group commit, which sends its statements to the driver itself: a session and SQLAlchemy's connection
    around one batch cost more than the batch's own statements (bench/README.md, "The group commit on SQLite").
    """
    if _on_loop_by_helper(_pool_would_wait_for, engine):
        return await run_in_threadpool(_on_driver_and_commit, engine, work)
    pooled = _on_loop_by_helper(engine.raw_connection)
    try:
        raw = pooled.driver_connection
        assert isinstance(raw, _QueuedWriter), "run_and_commit_on_driver is for SQLite"
        await _writer_lock_on_loop(raw)
        marked = _by_helper.set(True)
        try:
            return _work_and_commit_on(raw, work)
        except OperationalError as error:
            if not _busy(error):
                raise
        finally:
            _by_helper.reset(marked)
    finally:
        _on_loop_by_helper(pooled.close)
    # Another process is writing: wait for it in a thread.
    return await run_in_threadpool(_on_driver_and_commit, engine, work)


def _on_driver_and_commit(engine: Engine, work: Callable[[sqlite3.Connection], T]) -> T:
    pooled = engine.raw_connection()
    try:
        raw = pooled.driver_connection
        assert isinstance(raw, _QueuedWriter), "run_and_commit_on_driver is for SQLite"
        raw.take_writer_lock()
        return _work_and_commit_on(raw, work)
    finally:
        pooled.close()


def _work_and_commit_on(raw: _QueuedWriter, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` and commit, or roll back; the driver's errors raised as SQLAlchemy's."""
    try:
        result = work(raw)
        raw.commit()
    except sqlite3.Error as error:
        raw.rollback()
        raise _in_sqlalchemy_terms(error) from error
    except BaseException:
        raw.rollback()
        raise
    return result


@contextmanager
def driver_writer(session: Session) -> Iterator[sqlite3.Connection]:
    """The session's pysqlite connection, for writes sent to the driver itself: holding the writer lock (the hook
    that takes it at a transaction's first write sees only what goes through SQLAlchemy), and its errors raised as
    SQLAlchemy's, as if they had gone through it."""
    raw = session.connection().connection.dbapi_connection
    if isinstance(raw, _QueuedWriter) and not raw.holds_lock:
        raw.take_writer_lock()
    assert isinstance(raw, sqlite3.Connection)
    try:
        yield raw
    except sqlite3.Error as error:
        raise _in_sqlalchemy_terms(error) from error


def _in_sqlalchemy_terms(error: sqlite3.Error) -> Exception:
    """The driver's error as SQLAlchemy's (OperationalError, IntegrityError …), which the app answers 503 or 409."""
    return DBAPIError.instance(None, None, error, sqlite3.Error)


def _read(session: Session, work: Callable[[], T]) -> T:
    try:
        return work()
    finally:
        if session.in_transaction():
            session.rollback()  # it only read: nothing to keep


def _work_and_commit(session: Session, work: Callable[[], T]) -> T:
    result = work()
    session.commit()
    return result


# --- PostgreSQL: reads answered from memory on the event loop, and writes through an async connection -------------


class WouldWait(Exception):
    """Work running on the event loop reached for the PostgreSQL database (`run_from_memory` then uses a thread)."""


_on_loop: ContextVar[bool] = ContextVar("signpost_db_on_loop", default=False)


def _refuse_on_loop(*_args: Any) -> None:
    if _on_loop.get():
        raise WouldWait


async def run_from_memory(session: Session, work: Callable[[], T], *, may_block: bool = False) -> T:
    """Run work that only reads (PostgreSQL) on the event loop while what it needs is in memory, else in a thread.

    Routing and postcode lookups keep what they read, so most requests need nothing from the database until their
    write. Such work runs here, without the worker-thread trip that cost $signpost a millisecond of CPU a request.
    Should it reach for the database (a cache ran out), the statement is refused before anything is sent, and the
    work is done again from the start in a worker thread, where waiting for PostgreSQL blocks no other request.
    Work that `may_block` on the network goes straight to a thread.
    """
    if not may_block:
        marked, helped = _on_loop.set(True), _by_helper.set(True)
        try:
            return work()
        except WouldWait as refused:
            # Its traceback holds the frames that reached for the database, one of which (SQLAlchemy's error
            # handling) keeps the exception: cleared, they are freed now rather than by the garbage collector.
            traceback.clear_frames(refused.__traceback__)
        finally:
            _on_loop.reset(marked)
            _by_helper.reset(helped)
    return await run_in_threadpool(work)


# Connections each worker keeps for its async writes and folds (PostgreSQL), besides the engine's pool.
ASYNC_WRITERS = 10
_idle_since: "weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float]" = weakref.WeakKeyDictionary()


async def _note_idle(connection: psycopg.AsyncConnection[Any]) -> None:
    _idle_since[connection] = time.monotonic()


async def _ping_if_idle(connection: psycopg.AsyncConnection[Any]) -> None:
    """As for the engine's pool: check a connection that sat idle IDLE_PING_SECONDS (the pool replaces it if dead)."""
    if _idle_too_long(_idle_since.get(connection)):
        await connection.execute("SELECT 1")


@asynccontextmanager
async def async_connection(pool: AsyncConnectionPool) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """One of `pool`'s connections, for the block."""
    async with pool.connection() as connection:
        yield connection
        # Noted here rather than in the pool's reset callback, which would cost a hand-off to its worker task.
        _idle_since[connection] = time.monotonic()


def async_pool(engine: Engine) -> AsyncConnectionPool | None:
    """A pool of autocommit async connections to `engine`'s PostgreSQL database, not yet open; None on SQLite.

    A single-statement write sent through one of these is one round trip (it commits by itself), and the event loop
    serves other requests while it waits.
    """
    if engine.dialect.name != "postgresql":
        return None
    return AsyncConnectionPool(
        _conninfo(engine.url),
        kwargs={"autocommit": True},
        min_size=2,
        max_size=ASYNC_WRITERS,
        open=False,
        configure=_note_idle,
        check=_ping_if_idle,
        name="signpost-async-writes",
    )


@lru_cache
def _conninfo(url: URL) -> str:
    """What psycopg connects with, from a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine(settings: Settings | None = None) -> Engine:
    """The engine for `settings`' database (the environment's when None), one per database in the process.

    Apps built by create_app keep theirs in app.state.engine; requests reach it there, commands through this.
    """
    return _engine_for((settings or get_settings()).effective_database_url)


def app_engine(request: Request) -> Engine:
    """The engine of the app serving `request` (create_app's settings name its database)."""
    engine: Engine = request.app.state.engine
    return engine


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request on the app's own engine, committed once if the route succeeds, rolled back if it raises.

    Routes and services do not commit; a route that needs finer control (the `$signpost` fast path, imports) does,
    and says why. A route that answers a refusal without raising rolls back what it wrote itself.
    """
    # Async, so a request does not pay two trips to a worker thread for it: making a session does no I/O, and
    # ending one does only when the request left a transaction open (then it runs in a worker thread).
    session = Session(app_engine(request))
    try:
        async with request_transaction(session):
            yield session
    finally:
        if session.in_transaction():
            await finish(session.close)
        else:
            session.close()


@asynccontextmanager
async def request_transaction(session: Session) -> AsyncIterator[Session]:
    """Commit what the block did to `session` once it ends well; roll it back if it raises (both off the loop)."""
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await finish(session.rollback)
        raise
    if session.in_transaction():
        await finish(session.commit)


# Threads that end transactions, apart from those routes run in: on PostgreSQL a server process runs its routes in
# a few threads (settings.worker_threads), and a request holding a row lock must not wait for one of them to commit
# while they wait for its lock. Never fewer than the requests let in at once (ops.middleware's gate: half the pool's
# 40 connections), so no request waits here for another's commit.
_FINISHING = anyio.lowlevel.RunVar[anyio.CapacityLimiter]("signpost_finishing")


async def finish(end: Callable[[], Any]) -> None:
    """Commit, roll back or close a request's session in a worker thread of the finishing pool."""
    try:
        limiter = _FINISHING.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(40)
        _FINISHING.set(limiter)
    await anyio.to_thread.run_sync(end, limiter=limiter)


_request_session = asynccontextmanager(get_session)


@asynccontextmanager
async def session_for(request: Request) -> AsyncIterator[Session]:
    """The session `SessionDep` gives a route, for a route that opens its own (`auth.deps.checks_caller`): from
    get_session, or from the app's override of it (a test's, called without arguments), and ended the same way."""
    override = request.app.dependency_overrides.get(get_session)
    async with asynccontextmanager(override)() if override else _request_session(request) as session:
        yield session


# Function scope: the commit happens before the response is sent, so a commit that fails (a conflict, the database
# gone) is answered as the error it is, never after a 2xx went out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# A partition of a partitioned table (PostgreSQL: events.store names them <table>_2026_12 and <table>_default): the
# database's, not a model's.
_PARTITION = re.compile(r"_(\d{4}_\d{2}|default)$")


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Alembic comparison filter: leave out what a model declares for another database only (`ddl_if`), and the
    partitions PostgreSQL holds a partitioned table in."""

    def include(found: Any, name: Any, type_: Any, reflected: Any, compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None and _PARTITION.search(str(name)):
            return False
        wanted = getattr(getattr(found, "_ddl_if", None), "dialect", None)
        return wanted is None or (wanted == dialect if isinstance(wanted, str) else dialect in wanted)

    return include


def alembic_config(url: str) -> Any:
    """An alembic Config pointing at this project's migrations and the given database."""
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini")) if (ROOT / "alembic.ini").exists() else Config()
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Run every migration to the heads (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), "heads")


def migration_state(engine: Engine) -> tuple[set[str], set[str]]:
    """(revisions applied, revisions at head) for the readiness check."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current, set(script.get_heads())
