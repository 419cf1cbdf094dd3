"""Every statement that writes the roll-ups (`indicator_count`, `indicator_pending`, `indicator_retention`), in
both SQL dialects, and the reads of them that fold, rebuild or check.

No other package writes these tables. A new submission is marked pending by the trigger migration i006 puts on
`event_submission` (inside the transaction that records it), so the events' store needs to know nothing of this one.
"""

from collections import Counter
from datetime import date

from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select, delete, func, insert, literal, select
from sqlmodel import Session

from signpost import db
from signpost.events.models import SignpostEvent
from signpost.indicators.cubes import (
    CUBES,
    DEFAULTS,
    GRAINS,
    KEY_COLUMNS,
    NUMERIC,
    UNKNOWN_NUMBER,
    UNKNOWN_TEXT,
    Cube,
    Key,
    tally,
)
from signpost.indicators.models import DIMENSIONS, IndicatorCount, IndicatorPending, IndicatorRetention
from signpost.indicators.suppression import CELL_KEYS

_KEYS = ", ".join(KEY_COLUMNS)
_PENDING = IndicatorPending.__table__  # type: ignore[attr-defined]
_COUNTS = IndicatorCount.__table__  # type: ignore[attr-defined]
_EVENTS = SignpostEvent.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = [SignpostEvent.occurred_on, *(getattr(SignpostEvent, d) for d in DIMENSIONS)]  # type: ignore[attr-defined]
# Submissions a fold takes at most: its transaction (and, on SQLite, the write lock) stays short.
FOLD_SUBMISSIONS = 1_000

# What every write of cells ends with: a cell already there is added to, its cell key too (mod CELL_KEYS: the sum's
# residue is all a cell key needs, and it stays small).
# psycopg reads % as a placeholder in a statement sent with parameters, so PostgreSQL's statements write it %%.
_MOD = {"postgresql": "%%", "sqlite": "%"}


def _add_to_cells(dialect: str) -> str:
    return (
        f"ON CONFLICT ({_KEYS}) DO UPDATE SET n = indicator_count.n + excluded.n, "
        f"cell_key = (indicator_count.cell_key + excluded.cell_key) {_MOD[dialect]} {CELL_KEYS}"
    )


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


def _cells(dialect: str, cubes: tuple[Cube, ...] = CUBES) -> str:
    """SQL for the cells of `cubes` that the taken `events` (grouped, with how many `n`) count in: `tally`'s key, a
    row for each group and cube."""
    selects = []
    for cube in cubes:
        period = "occurred_on" if cube.grain == "day" else _PERIODS[dialect][cube.grain]
        values = [
            f"COALESCE({name}, {default!r})" if name in cube.dimensions else repr(default)
            for name, default in zip(DIMENSIONS, DEFAULTS, strict=True)
        ]
        selects.append(f"SELECT '{cube.name}', {period}, {', '.join(values)}, n, k FROM events")
    return "\n    UNION ALL ".join(selects)


def _kept_by(cubes: tuple[Cube, ...]) -> tuple[str, ...]:
    return tuple(name for name in DIMENSIONS if any(name in cube.dimensions for cube in cubes))


def _grouped_events(condition: str, dimensions: tuple[str, ...] = DIMENSIONS) -> str:
    """SQL for the events meeting `condition`, alike ones (by day and `dimensions`, the others left NULL) counted as
    one row with how many (`n`) and the sum of their record keys (`k`)."""
    kept = ", ".join(name if name in dimensions else f"NULL AS {name}" for name in DIMENSIONS)
    grouped = ", ".join(("occurred_on", *(name for name in DIMENSIONS if name in dimensions)))
    return (
        f"SELECT occurred_on, {kept}, count(*) AS n, sum(record_key) AS k FROM signpost_event\n"
        f"    WHERE {condition} GROUP BY {grouped}"
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
    {_grouped_events("submission_id = ANY(ARRAY(SELECT submission_id FROM taken))")}
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


def _sqlite_fold(condition: str, cubes: tuple[Cube, ...] = CUBES) -> str:
    """SQLite's statement counting the events meeting `condition` into `cubes`."""
    return f"""
WITH events AS MATERIALIZED (
    {_grouped_events(condition, _kept_by(cubes))}
), cells ({_KEYS}, n, k) AS (
    {_cells("sqlite", cubes)}
)
INSERT INTO indicator_count ({_KEYS}, n, cell_key)
SELECT {_KEYS}, sum(n), sum(k) % {CELL_KEYS} FROM cells WHERE true GROUP BY {_KEYS}
{_add_to_cells("sqlite")}
"""


_SQLITE_FOLD = _sqlite_fold(f"submission_id IN ({_SQLITE_TAKEN})")
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


def fold_if_pending(session: Session, limit: int) -> int:
    # A read first: with nothing pending (most calls when idle), no transaction asks for SQLite's write lock.
    if session.connection().execute(select(literal(1)).select_from(_PENDING).limit(1)).first() is None:
        return 0
    return fold(session, limit=limit)


def lock_pending(session: Session) -> None:
    """PostgreSQL: writers that have marked submissions pending finish first, and none start until this transaction
    ends (SQLite: the first write takes the one write lock)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("LOCK TABLE indicator_pending IN SHARE ROW EXCLUSIVE MODE")


def clear(session: Session) -> None:
    """Delete every cell and pending mark."""
    session.execute(delete(_PENDING))
    session.execute(delete(_COUNTS))


def clear_from(session: Session, first_kept: date, spanning: list[date]) -> None:
    """Delete the cells from `first_kept` on, and the year and quarter cells that begin on a day in `spanning`."""
    session.execute(
        delete(_COUNTS).where(
            (_COUNTS.c.period_start >= first_kept)
            | (_COUNTS.c.cube.in_(("year_area", "quarter_area")) & _COUNTS.c.period_start.in_(spanning))
        )
    )


def count_events(session: Session, *, where: str = "TRUE", cubes: tuple[Cube, ...] = CUBES) -> None:
    """Add the events meeting `where` (SQL on signpost_event) to the cells of `cubes`, with the fold's own SQL: one
    key function for folding, rebuilding and loading history."""
    if session.get_bind().dialect.name == "sqlite":
        statement = _sqlite_fold(where, cubes)
    else:
        statement = f"""
WITH events AS ({_grouped_events(where, _kept_by(cubes))}), cells ({_KEYS}, n, k) AS ({_cells("postgresql", cubes)})
INSERT INTO indicator_count ({_KEYS}, n, cell_key)
SELECT {_KEYS}, sum(n), sum(k) %% {CELL_KEYS} FROM cells GROUP BY {_KEYS} ORDER BY {_KEYS}
{_add_to_cells("postgresql")}"""
    session.connection().exec_driver_sql(statement, {})


def count_every_event(session: Session) -> int:
    """Add every event to every cube (`count_events`); returns how many events there are."""
    count_events(session)
    return int(session.execute(select(func.count()).select_from(_EVENTS)).scalar_one())


def rebuild_spanning(session: Session, first_kept: date) -> None:
    """Re-create the year and quarter cells whose period began before `first_kept` from the month cells before it
    (their events are gone); a rebuild then adds the kept events to them."""
    dims = [_COUNTS.c[d] for d in DIMENSIONS]
    for cube, start in (
        ("year_area", date(first_kept.year, 1, 1)),
        ("quarter_area", date(first_kept.year, (first_kept.month - 1) // 3 * 3 + 1, 1)),
    ):
        if start == first_kept:
            continue
        rows = session.execute(
            select(*dims, func.sum(_COUNTS.c.n), func.sum(_COUNTS.c.cell_key))
            .where(_COUNTS.c.cube == "month_area", _COUNTS.c.period_start >= start, _COUNTS.c.period_start < first_kept)
            .group_by(*dims)
        ).all()
        if rows:
            session.execute(
                insert(_COUNTS),
                [
                    {
                        "cube": cube,
                        "period_start": start,
                        **dict(zip(DIMENSIONS, r[:-2], strict=True)),
                        "n": int(r[-2]),
                        "cell_key": int(r[-1]) % CELL_KEYS,
                    }
                    for r in rows
                ],
            )


def pending_submissions() -> Select:  # type: ignore[type-arg]
    """The ids of the submissions whose events the roll-ups do not hold yet (retention keeps their events)."""
    return select(_PENDING.c.submission_id)


def events_from(session: Session) -> date | None:
    """The first day whose raw events are kept, or None if none were ever deleted."""
    row = session.get(IndicatorRetention, 1)
    return row.events_from if row else None


def keep_events_from(session: Session, first_kept: date) -> None:
    """Note that events before `first_kept` are gone (never moving the day back)."""
    row = session.get(IndicatorRetention, 1)
    if row is None:
        session.add(IndicatorRetention(id=1, events_from=first_kept))
    elif row.events_from < first_kept:
        row.events_from = first_kept
    session.flush()


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


def stored(session: Session) -> Counter[Key]:
    """Every stored cell, as a Counter keyed like `tally` (for checks and tests)."""
    found: Counter[Key] = Counter()
    for row in session.execute(select(*(_COUNTS.c[c] for c in KEY_COLUMNS), _COUNTS.c.n)):
        found[tuple(row[:-1])] = row[-1]
    return found


def current(session: Session) -> Counter[Key]:
    """What reports count: the stored cells plus the pending events (for checks and tests)."""
    joined = SignpostEvent.submission_id == _PENDING.c.submission_id  # type: ignore[attr-defined]
    pending = session.execute(select(*_EVENT_COLUMNS).join_from(_PENDING, SignpostEvent, joined))
    return stored(session) + tally(pending)  # type: ignore[arg-type]
