"""Keeping the roll-ups current: recorded events are marked pending, then folded into every cube in batches.

A cube is the events counted at one grain (day or month) over a set of dimensions. Reports read the
smallest cube that holds what they group by, so their cost follows the number of cells, not of events.

A transaction that records events adds one pending row per submission (`defer`), not 32 counts to rows every
other request adds to as well. `fold` takes pending submissions (on PostgreSQL, ones no other folder holds), adds
their events to the cubes and deletes their pending rows, in one transaction; the server folds every
`fold_seconds`. Reports read the cubes and the pending events in one statement, so they count every committed
event exactly once whether or not it has been folded (`service.count`).
The update is an upsert `n = n + excluded.n` in key order, so concurrent folders on PostgreSQL neither
lose counts nor deadlock; `rebuild` recomputes every cube from every event with the fold's own SQL.
A fold counts in the database what `tally` counts: on PostgreSQL in one statement (`_PG_FOLD`), on SQLite in two.
"""

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Engine, Select, delete, func, insert, literal, select, text
from sqlmodel import Session

from signpost import db
from signpost.events.models import SignpostEvent
from signpost.indicators import retention
from signpost.indicators.models import DIMENSIONS, IndicatorCount, IndicatorPending
from signpost.indicators.suppression import CELL_KEYS

log = logging.getLogger(__name__)

UNKNOWN_TEXT = ""
UNKNOWN_NUMBER = 0

NUMERIC = {"ward_vintage", "imd_decile", "imd_year"}
KEY_COLUMNS = ("cube", "period_start", *DIMENSIONS)


GRAINS = ("day", "month", "quarter", "year")


@dataclass(frozen=True)
class Cube:
    name: str
    grain: str  # one of GRAINS
    dimensions: frozenset[str]


# Ordered smallest first: a report takes, for each grain, the first cube that holds what it groups and filters
# by. The narrow area cubes answer the headline report (ward × decile × need) from a few thousand cells a
# period whatever the volume; quarters and years let a 12-month report read 4 to 6 periods, not 12.
# The full cubes hold nearly one cell per event (practice × age band × ward × … are that many), so reports by
# practice or by age band get small cubes of their own.
_AREA = {"need_code", "ward_code", "ward_vintage", "imd_decile", "imd_year"}
# Every small cube keeps the vintages, so a report read from it can state them.
_NEED = {"kind", "source", "need_code", "category_code", "ward_vintage", "imd_year"}
CUBES = (
    Cube("year_area", "year", frozenset(_AREA)),
    Cube("quarter_area", "quarter", frozenset(_AREA)),
    Cube("month_age", "month", frozenset(_NEED | {"age_band"})),
    Cube("month_area", "month", frozenset(_AREA)),
    Cube("month_practice", "month", frozenset(_NEED | {"practice_ods"})),
    Cube("month_area_kind", "month", frozenset(_AREA | {"kind", "source", "category_code"})),
    Cube("month", "month", frozenset(DIMENSIONS)),
    Cube("day", "day", frozenset(DIMENSIONS)),
)
CUBES_BY_NAME = {c.name: c for c in CUBES}


def period_start(day: date, grain: str) -> date:
    """The first day of the period of `grain` that `day` falls in."""
    if grain == "day":
        return day
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


class EventLike(Protocol):
    """An event or a row of one: `occurred_on` and every name in DIMENSIONS (read-only)."""

    @property
    def occurred_on(self) -> date: ...


Key = tuple[Any, ...]


DEFAULTS = tuple(UNKNOWN_NUMBER if d in NUMERIC else UNKNOWN_TEXT for d in DIMENSIONS)
_ATTRIBUTES = attrgetter("occurred_on", *DIMENSIONS)
# Per cube: its name, its grain, and which dimensions it keeps (None = all of them).
_PLANS = [
    (
        cube.name,
        cube.grain,
        None if cube.dimensions == set(DIMENSIONS) else tuple(d in cube.dimensions for d in DIMENSIONS),
    )
    for cube in CUBES
]
_KEYS = ", ".join(KEY_COLUMNS)
_DIMENSIONS = ", ".join(DIMENSIONS)
# What every write of cells ends with: a cell already there is added to, its cell key too (mod CELL_KEYS: the sum's
# residue is all a cell key needs, and it stays small).
# psycopg reads % as a placeholder in a statement sent with parameters, so PostgreSQL's statements write it %%.
_MOD = {"postgresql": "%%", "sqlite": "%"}


def _add_to_cells(dialect: str) -> str:
    return (
        f"ON CONFLICT ({_KEYS}) DO UPDATE SET n = indicator_count.n + excluded.n, "
        f"cell_key = (indicator_count.cell_key + excluded.cell_key) {_MOD[dialect]} {CELL_KEYS}"
    )


def tally(events: Iterable[EventLike]) -> Counter[Key]:
    """The roll-up cells the events count in, with how many each (the one key function for live and rebuild)."""
    # Group identical events first (at C speed), then spread each distinct combination over the cubes.
    distinct = Counter(map(_ATTRIBUTES, events))
    counts: Counter[Key] = Counter()
    periods_of: dict[date, dict[str, date]] = {}  # a chunk's events fall on a few hundred days at most
    for (day, *values), n in distinct.items():
        known = tuple(default if v is None else v for v, default in zip(values, DEFAULTS, strict=True))
        periods = periods_of.get(day)
        if periods is None:
            periods = periods_of[day] = {grain: period_start(day, grain) for grain in GRAINS}
        for name, grain, keep in _PLANS:
            kept = (
                known if keep is None else tuple(v if k else d for v, k, d in zip(known, keep, DEFAULTS, strict=True))
            )
            counts[(name, periods[grain], *kept)] += n
    return counts


def cell_keys(event: EventLike) -> list[Key]:
    """The cell of every cube that one event counts in."""
    return list(tally([event]))


_PENDING = IndicatorPending.__table__  # type: ignore[attr-defined]
_EVENTS = SignpostEvent.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = [SignpostEvent.occurred_on, *(getattr(SignpostEvent, d) for d in DIMENSIONS)]  # type: ignore[attr-defined]
# Submissions a fold takes at most: its transaction (and, on SQLite, the write lock) stays short.
FOLD_SUBMISSIONS = 1_000


def defer(session: Session, submission_ids: list[int]) -> None:
    """Mark newly recorded submissions as pending (called by `events.record_many` on SQLite, inside its transaction;
    on PostgreSQL its one statement does the same)."""
    session.connection().execute(insert(_PENDING), [{"submission_id": i} for i in submission_ids])


# The first day of an event's period, as each database writes it (SQLite keeps dates as ISO text).
_PERIODS = {
    "postgresql": {grain: f"date_trunc('{grain}', occurred_on::timestamp)::date" for grain in GRAINS if grain != "day"},
    "sqlite": {
        "month": "substr(occurred_on, 1, 8) || '01'",
        "quarter": "substr(occurred_on, 1, 5)"
        " || printf('%02d', (CAST(substr(occurred_on, 6, 2) AS INTEGER) - 1) / 3 * 3 + 1) || '-01'",
        "year": "substr(occurred_on, 1, 4) || '-01-01'",
    },
}


def _cells(dialect: str) -> str:
    """SQL for the cells of every cube that the taken `events` (grouped, with how many `n`) count in: `tally`'s
    key, a row for each group and cube."""
    selects = []
    for cube in CUBES:
        period = "occurred_on" if cube.grain == "day" else _PERIODS[dialect][cube.grain]
        values = [
            f"COALESCE({name}, {default!r})" if name in cube.dimensions else repr(default)
            for name, default in zip(DIMENSIONS, DEFAULTS, strict=True)
        ]
        selects.append(f"SELECT '{cube.name}', {period}, {', '.join(values)}, n, k FROM events")
    return "\n    UNION ALL ".join(selects)


def _grouped_events(taken: str) -> str:
    """SQL for the events of the submissions `taken` (an SQL condition on submission_id), alike ones counted as one
    row with how many (`n`) and the sum of their record keys (`k`)."""
    return (
        f"SELECT occurred_on, {_DIMENSIONS}, count(*) AS n, sum(record_key) AS k FROM signpost_event\n"
        f"    WHERE submission_id {taken} GROUP BY occurred_on, {_DIMENSIONS}"
    )


# Both databases fold in SQL, counting what `tally` counts in Python (the property test in tests/indicators holds
# the two to the same cells). The taken events are grouped first: a fold reads each distinct event once a cube.
# Folding in Python had cost the server 1.3 ms of CPU for each request recorded (PostgreSQL, in a worker thread),
# and on SQLite, on the event loop, 6.5 ms a batch of 200 alike submissions where SQL takes 1.6.
#
# PostgreSQL folds in one statement: it takes pending submissions no other folder holds, counts their events into
# every cube, upserts the cells in key order (concurrent folders lock them in the same order: no deadlock) and
# deletes the pending rows.
_PG_FOLD = f"""
WITH taken AS (
    DELETE FROM indicator_pending WHERE submission_id IN (
        SELECT submission_id FROM indicator_pending ORDER BY submission_id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    )
    RETURNING submission_id
), events AS (
    -- Not a join: planned for ~200 taken rows, that read the whole event table (9 ms at 75,000 events, 0.3 here).
    {_grouped_events("= ANY(ARRAY(SELECT submission_id FROM taken))")}
), cells ({_KEYS}, n, k) AS (
    {_cells("postgresql")}
), counted AS (
    INSERT INTO indicator_count ({_KEYS}, n, cell_key)
    SELECT {_KEYS}, sum(n), sum(k) %% {CELL_KEYS} FROM cells GROUP BY {_KEYS} ORDER BY {_KEYS}
    {_add_to_cells("postgresql")}
)
SELECT count(*) FROM taken
"""


# SQLite folds in two statements inside the fold's transaction, which holds the write lock, so both see the same
# pending submissions: the first counts their events into every cube, the second deletes their pending rows.
# (MATERIALIZED: else each cube's SELECT reads and groups the events again, and the fold took 13 ms, not 1.6.)
_SQLITE_TAKEN = "SELECT submission_id FROM indicator_pending ORDER BY submission_id LIMIT :limit"


def _sqlite_fold(taken: str) -> str:
    """SQLite's statement counting the events of the submissions `taken` into every cube."""
    return f"""
WITH events AS MATERIALIZED (
    {_grouped_events(taken)}
), cells ({_KEYS}, n, k) AS (
    {_cells("sqlite")}
)
INSERT INTO indicator_count ({_KEYS}, n, cell_key)
SELECT {_KEYS}, sum(n), sum(k) % {CELL_KEYS} FROM cells WHERE true GROUP BY {_KEYS}
{_add_to_cells("sqlite")}
"""


_SQLITE_FOLD = _sqlite_fold(f"IN ({_SQLITE_TAKEN})")
_SQLITE_DELETE_TAKEN = f"DELETE FROM indicator_pending WHERE submission_id IN ({_SQLITE_TAKEN})"


async def fold_now(pool: AsyncConnectionPool, *, limit: int = FOLD_SUBMISSIONS) -> int:
    """`fold` on PostgreSQL through one of `pool`'s autocommit connections: its one statement commits by itself."""
    async with db.async_connection(pool) as connection:
        cursor = await connection.execute(_PG_FOLD, {"limit": limit})
        found = await cursor.fetchone()
    return int(found[0]) if found else 0


def fold(session: Session, *, limit: int = FOLD_SUBMISSIONS) -> int:
    """Add up to `limit` pending submissions' events to every cube and delete their pending rows; returns how many
    submissions. The caller commits.

    On PostgreSQL the pending rows are taken FOR UPDATE SKIP LOCKED, so folders running at once take different ones.
    """
    connection = session.connection()
    if session.get_bind().dialect.name == "postgresql":
        return int(connection.exec_driver_sql(_PG_FOLD, {"limit": limit}).scalar_one())
    connection.exec_driver_sql(_SQLITE_FOLD, {"limit": limit})
    return int(connection.exec_driver_sql(_SQLITE_DELETE_TAKEN, {"limit": limit}).rowcount)


def _fold_if_pending(session: Session, limit: int) -> int:
    # A read first: with nothing pending (most calls when idle), no transaction asks for SQLite's write lock.
    if session.connection().execute(select(literal(1)).select_from(_PENDING).limit(1)).first() is None:
        return 0
    return fold(session, limit=limit)


def fold_all(engine: Engine, progress: Callable[[int], None] | None = None) -> int:
    """`fold_pending` for a command (`signpost indicators fold`), in batches of FOLD_SUBMISSIONS."""
    return asyncio.run(fold_pending(engine, limit=FOLD_SUBMISSIONS, progress=progress))


# A batch the server folds between requests: on SQLite it runs on the event loop, so it stays short.
SERVER_FOLD_SUBMISSIONS = 200


async def fold_pending(
    engine: Engine,
    *,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
    pool: AsyncConnectionPool | None = None,
) -> int:
    """Fold the pending submissions, `limit` (default SERVER_FOLD_SUBMISSIONS) a transaction, until a batch finds
    fewer than that; returns how many.
    With a `pool` (PostgreSQL, the server's), each batch is one statement sent through it; else each goes through
    `db.run_and_commit`: on SQLite on the event loop between requests, in a worker thread elsewhere. `progress` is
    told the running total after each batch. (Folding in a thread, on SQLite, held the write lock while the thread
    waited for the interpreter, and $signpost's p99 at 300 req/s went from 35 ms to 157.)"""
    batch = limit or SERVER_FOLD_SUBMISSIONS
    folded = 0
    while True:
        if pool is not None:
            taken = await fold_now(pool, limit=batch)
        else:
            with Session(engine) as session:
                taken = await db.run_and_commit(session, lambda: _fold_if_pending(session, batch))
        folded += taken
        if taken and progress:
            progress(folded)
        # A short batch took all there was (or all no other folder holds, on PostgreSQL). What was recorded since
        # waits for the next fold: taking it at once, under load, had folded a few submissions every 7 ms, paying a
        # fold's fixed cost (1.5 ms on SQLite) 140 times a second.
        if taken < batch:
            return folded
        await asyncio.sleep(0)  # the requests that came meanwhile go first


async def fold_every(engine: Engine, seconds: float, pool: AsyncConnectionPool | None = None) -> None:
    """Fold the pending events every `seconds` until cancelled (each server worker runs this; on PostgreSQL through
    its async `pool`). A failure is logged once, and again only after a fold has worked: the database may be away
    for a while."""
    failing = False
    while True:
        await asyncio.sleep(seconds)
        try:
            await fold_pending(engine, pool=pool)
        except Exception as exc:  # noqa: BLE001  (try again next time; reports count pending events meanwhile)
            if not failing:
                log.warning("folding events into the roll-ups failed (%s); they stay pending", type(exc).__name__)
            failing = True
        else:
            if failing:
                log.warning("folding events into the roll-ups works again")
            failing = False


def pending_events(*columns: str) -> Select:  # type: ignore[type-arg]
    """The pending events' `columns` (a dimension, or "period_start" for the day), unknowns as the cubes store
    them, with n = 1 and the event's record key as its cell key: rows a report adds to the cells it reads."""
    values = []
    for name in columns:
        if name == "period_start":
            values.append(SignpostEvent.occurred_on.label(name))  # type: ignore[attr-defined]
        else:
            default = UNKNOWN_NUMBER if name in NUMERIC else UNKNOWN_TEXT
            values.append(func.coalesce(getattr(SignpostEvent, name), default).label(name))
    # IN, not a join: from a join SQLite read every event in the report's dates to find the pending few (1 s a
    # 12-month report at a million events); from IN it reads the pending rows, then their events.
    pending = SignpostEvent.submission_id.in_(select(_PENDING.c.submission_id))  # type: ignore[attr-defined]
    record_key = _EVENTS.c.record_key.label("cell_key")
    return select(*values, literal(1).label("n"), record_key).where(pending)


def rebuild(session: Session) -> int:
    """Recompute every cube from the events and clear the pending rows; returns how many events were counted.
    Periods whose events were deleted past retention keep their cells (the roll-ups are their only record).
    The caller commits."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Writers that have marked submissions pending finish first, and none start until this commits, so every
        # event is counted either here or by a later fold (SQLite: the first write below takes the one write lock).
        session.execute(text("LOCK TABLE indicator_pending IN SHARE ROW EXCLUSIVE MODE"))
    table = IndicatorCount.__table__  # type: ignore[attr-defined]
    first_kept = retention.events_from(session)
    if first_kept is None:
        session.execute(delete(IndicatorPending))
        session.execute(delete(table))
    else:
        # Events before the first day kept count only in the cells kept: fold the pending ones in, then let
        # retention take them, so each is counted once; then recompute what the kept events count in.
        while fold(session, limit=FOLD_SUBMISSIONS):
            pass
        session.execute(delete(SignpostEvent).where(SignpostEvent.occurred_on < first_kept))  # type: ignore[arg-type]
        spanning = [date(first_kept.year, 1, 1), period_start(first_kept, "quarter")]
        session.execute(
            delete(table).where(
                (table.c.period_start >= first_kept)
                | (table.c.cube.in_(("year_area", "quarter_area")) & table.c.period_start.in_(spanning))
            )
        )
        retention.rebuild_spanning(session, first_kept)
    # The fold's own SQL over every event: one key function for live folding and rebuilding.
    every = "IS NOT NULL"
    statement = (
        _sqlite_fold(every)
        if dialect == "sqlite"
        else f"""
WITH events AS ({_grouped_events(every)}), cells ({_KEYS}, n, k) AS ({_cells("postgresql")})
INSERT INTO indicator_count ({_KEYS}, n, cell_key)
SELECT {_KEYS}, sum(n), sum(k) %% {CELL_KEYS} FROM cells GROUP BY {_KEYS} ORDER BY {_KEYS}
{_add_to_cells("postgresql")}"""
    )
    session.connection().exec_driver_sql(statement, {})
    return int(session.execute(select(func.count()).select_from(SignpostEvent)).scalar_one())


def stored(session: Session) -> Counter[Key]:
    """Every stored cell, as a Counter keyed like `tally` (for checks and tests)."""
    table = IndicatorCount.__table__  # type: ignore[attr-defined]
    found: Counter[Key] = Counter()
    for row in session.execute(select(*(table.c[c] for c in KEY_COLUMNS), table.c.n)):
        found[tuple(row[:-1])] = row[-1]
    return found


def current(session: Session) -> Counter[Key]:
    """What reports count: the stored cells plus the pending events (for checks and tests)."""
    joined = SignpostEvent.submission_id == _PENDING.c.submission_id  # type: ignore[attr-defined]
    pending = session.execute(select(*_EVENT_COLUMNS).join_from(_PENDING, SignpostEvent, joined))
    return stored(session) + tally(pending)  # type: ignore[arg-type]
