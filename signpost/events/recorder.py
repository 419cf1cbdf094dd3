"""Group commit: the submissions that concurrent requests record go to the database together, in one transaction.

A request's own transaction cost it more than its events did: on SQLite the commit and SQLAlchemy's rounds around
one small insert, on PostgreSQL a round trip and a WAL flush each. A `Recorder` (one per app, in `app.state`) takes
each submission, and the submissions that arrive while the event loop is busy, or while the last batch is being
written, go in the next batch: one `store.record_many` and one commit for all of them. Every caller's `record`
returns once its batch is committed, so nothing is acknowledged before it is stored; if the batch fails, each of its
callers gets the error (nothing of the batch is stored).
"""

import asyncio
from dataclasses import dataclass, field

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlmodel import Session

from signpost import db
from signpost.events import store
from signpost.events.models import NewEvent

# At most this many submissions a batch (a few hundred events: one statement on either database).
BATCH = 64


@dataclass
class _Waiting:
    key: str
    source: str
    events: list[NewEvent]
    done: asyncio.Future[bool] = field(repr=False)


class Recorder:
    """Records submissions for `engine`'s database in batches (PostgreSQL: through the async `pool`)."""

    def __init__(self, engine: Engine, pool: AsyncConnectionPool | None = None) -> None:
        self.engine = engine
        self.pool = pool
        self._waiting: list[_Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    def reaches(self, session: Session) -> bool:
        """Whether what this recorder commits is what `session` would commit to (not so for a session bound to one
        connection of its own, as in tests that roll back)."""
        return session.get_bind() is self.engine

    async def record(self, *, key: str, source: str, events: list[NewEvent]) -> bool:
        """Store the events of one submission, committed by the time this returns; False (nothing stored) when `key`
        was seen before."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(key, source, events, done))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await done

    async def close(self) -> None:
        """Wait until every submission taken so far is written."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _write_all(self) -> None:
        # Started by the first submission: by the time this task runs, the requests the loop served meanwhile have
        # added theirs. While one batch is written the next gathers.
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                batch = _next_batch(self._waiting)
                try:
                    claimed = await self._write(batch)
                except Exception as error:
                    _fail(batch, error)
                else:
                    for waiting in batch:
                        if not waiting.done.done():
                            waiting.done.set_result(claimed.get(id(waiting), False))
        except BaseException as error:  # cancelled (the app stopping): no caller may wait for ever
            _fail(batch + self._waiting, RuntimeError(f"recording stopped: {error!r}"))
            self._waiting = []
            raise
        finally:
            self._writer = None

    async def _write(self, batch: list[_Waiting]) -> dict[int, bool]:
        """Write one batch (one source) in one transaction; for each submission (by id()), whether it was new."""
        # A key given twice (a retry while the first is still in the batch) is stored once: the first is new.
        firsts: dict[str, _Waiting] = {}
        for waiting in batch:
            firsts.setdefault(waiting.key, waiting)
        given = list(firsts.values())
        submissions = [(w.key, w.events) for w in given]
        source = batch[0].source
        if self.pool is not None:
            async with db.async_connection(self.pool) as connection:
                keys = await store.record_many_async(connection, source, submissions)
            return {id(w): w.key in keys for w in given}
        if self.engine.dialect.name == "sqlite":
            new = await db.run_and_commit_on_driver(
                self.engine,
                lambda connection: store.record_many_sqlite(connection, source=source, submissions=submissions),
            )
        else:
            with Session(self.engine) as session:
                new = await db.run_and_commit(
                    session, lambda: store.record_many(session, source=source, submissions=submissions)
                )
        return {id(w): fresh for w, fresh in zip(given, new, strict=True)}


def _next_batch(waiting: list[_Waiting]) -> list[_Waiting]:
    """Take from `waiting` the next batch: up to BATCH submissions of the first one's source, in order."""
    source = waiting[0].source
    batch = [w for w in waiting if w.source == source][:BATCH]
    taken = {id(w) for w in batch}
    waiting[:] = [w for w in waiting if id(w) not in taken]
    return batch


def _fail(batch: list[_Waiting], error: BaseException) -> None:
    for waiting in batch:
        if not waiting.done.done():
            waiting.done.set_exception(error)
