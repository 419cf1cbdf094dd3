"""Keeping the roll-ups current: recorded events are marked pending, then folded into every cube in batches.

A cube is the events counted at one grain (day or month) over a set of dimensions. Reports read the
smallest cube that holds what they group by, so their cost follows the number of cells, not of events.

A transaction that records events adds one pending row per submission (a trigger on `event_submission`, migration
i006), not 32 counts to rows every other request adds to as well. `fold` takes pending submissions (on PostgreSQL,
ones no other folder holds), adds their events to the cubes and deletes their pending rows, in one transaction; the
server folds every
`fold_seconds`. Reports read the cubes and the pending events in one statement, so they count every committed
event exactly once whether or not it has been folded (`service.count`).
The update is an upsert `n = n + excluded.n` in key order, so concurrent folders on PostgreSQL neither
lose counts nor deadlock; `rebuild` recomputes every cube from every event with the fold's own SQL.
A fold counts in the database what `tally` counts: on PostgreSQL in one statement, on SQLite in two (`store`).
This module orchestrates: it decides when to fold and how to rebuild; the statements are in `store`, the cubes in
`cubes`.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import date

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine
from sqlmodel import Session

from signpost import db
from signpost.events import store as events_store
from signpost.indicators import store
from signpost.indicators.cubes import (
    CUBES,
    CUBES_BY_NAME,
    GRAINS,
    KEY_COLUMNS,
    NUMERIC,
    UNKNOWN_NUMBER,
    UNKNOWN_TEXT,
    Cube,
    Key,
    cell_keys,
    period_start,
    tally,
)
from signpost.indicators.store import FOLD_SUBMISSIONS, current, fold, pending_events, stored

log = logging.getLogger(__name__)

__all__ = [
    "CUBES",
    "CUBES_BY_NAME",
    "FOLD_SUBMISSIONS",
    "GRAINS",
    "KEY_COLUMNS",
    "NUMERIC",
    "UNKNOWN_NUMBER",
    "UNKNOWN_TEXT",
    "Cube",
    "Key",
    "cell_keys",
    "current",
    "fold",
    "fold_all",
    "fold_every",
    "fold_pending",
    "pending_events",
    "period_start",
    "rebuild",
    "stored",
    "tally",
]


def fold_all(engine: Engine, progress: Callable[[int], None] | None = None) -> int:
    """`fold_pending` for a command (`signpost indicators fold`), in batches of FOLD_SUBMISSIONS."""
    return asyncio.run(fold_pending(engine, limit=store.FOLD_SUBMISSIONS, progress=progress))


# A batch the server folds between requests: on SQLite it runs on the event loop, so it stays short (about 2 ms),
# and the requests in flight go on for SERVER_FOLD_PAUSE before the next. With no pause, a request that needed four
# turns of the loop while the fold ran waited for four batches (bench/README.md, "The SQLite paced tail").
SERVER_FOLD_SUBMISSIONS = 100
SERVER_FOLD_PAUSE = 0.005


async def fold_pending(
    engine: Engine,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    pool: AsyncConnectionPool | None = None,
    pause: float = 0.0,
) -> int:
    """Fold the pending submissions, `limit` (default SERVER_FOLD_SUBMISSIONS) a transaction, until a batch finds
    fewer than that, waiting `pause` seconds between batches; returns how many.
    With a `pool` (PostgreSQL, the server's), each batch is one statement sent through it; else each goes through
    `db.run_and_commit`: on SQLite on the event loop between requests, in a worker thread elsewhere. `progress` is
    told the running total after each batch. (Folding in a thread, on SQLite, held the write lock while the thread
    waited for the interpreter, and $signpost's p99 at 300 req/s went from 35 ms to 157.)"""
    batch = limit or SERVER_FOLD_SUBMISSIONS
    folded = 0
    while True:
        if pool is not None:
            taken = await store.fold_now(pool, limit=batch)
        else:
            with Session(engine) as session:
                taken = await db.run_and_commit(session, lambda: store.fold_if_pending(session, batch))
        folded += taken
        if taken and progress:
            progress(folded)
        # A short batch took all there was (or all no other folder holds, on PostgreSQL). What was recorded since
        # waits for the next fold: taking it at once, under load, had folded a few submissions every 7 ms, paying a
        # fold's fixed cost (1.5 ms on SQLite) 140 times a second.
        if taken < batch:
            return folded
        await asyncio.sleep(pause)  # the requests that came meanwhile go first


async def fold_every(engine: Engine, seconds: float, pool: AsyncConnectionPool | None = None) -> None:
    """Fold the pending events every `seconds` until cancelled (each server worker runs this; on PostgreSQL through
    its async `pool`). A failure is logged once, and again only after a fold has worked: the database may be away
    for a while."""
    failing = False
    while True:
        await asyncio.sleep(seconds)
        try:
            await fold_pending(engine, pool=pool, pause=SERVER_FOLD_PAUSE)
        except Exception as exc:  # noqa: BLE001  (try again next time; reports count pending events meanwhile)
            if not failing:
                log.warning("folding events into the roll-ups failed (%s); they stay pending", type(exc).__name__)
            failing = True
        else:
            if failing:
                log.warning("folding events into the roll-ups works again")
            failing = False


def rebuild(session: Session) -> int:
    """Recompute every cube from the events and clear the pending rows; returns how many events were counted.
    Periods whose events were deleted past retention keep their cells (the roll-ups are their only record).
    The caller commits."""
    # Every event is counted either here or by a later fold.
    store.lock_pending(session)
    first_kept = store.events_from(session)
    if first_kept is None:
        store.clear(session)
    else:
        # Events before the first day kept count only in the cells kept: fold the pending ones in, then let
        # retention take them, so each is counted once; then recompute what the kept events count in.
        while store.fold(session, limit=FOLD_SUBMISSIONS):
            pass
        events_store.delete_before(session, before=first_kept, keep=store.pending_submissions())
        store.clear_from(session, first_kept, [date(first_kept.year, 1, 1), period_start(first_kept, "quarter")])
        store.rebuild_spanning(session, first_kept)
    return store.count_every_event(session)
