"""Every statement that writes the event tables (`event_submission`, `signpost_event`), in both SQL dialects.

No other package writes these tables: recording goes through `record`, `record_many`, `record_many_sqlite` (SQLite's
group commit) or `record_many_async`, retention through `delete_before` and `delete_unused_submissions`, and
PostgreSQL's monthly partitions through `ensure_partitions`. The indicators' roll-ups learn of new submissions from a
trigger their own migration puts on `event_submission` (i006), so recording knows nothing of them.
"""

import re
import sqlite3
from dataclasses import fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

import orjson
from dateutil.relativedelta import relativedelta
from psycopg import AsyncConnection
from sqlalchemy import Select, column, delete, exists, func, select, table
from sqlmodel import Session

from signpost import db
from signpost.events.models import EventSubmission, NewEvent, SignpostEvent

_SUBMISSIONS = EventSubmission.__table__  # type: ignore[attr-defined]
_EVENTS = SignpostEvent.__table__  # type: ignore[attr-defined]
_EVENT_COLUMNS = tuple(f.name for f in fields(NewEvent))
_DAY, _SERVICES = _EVENT_COLUMNS.index("occurred_on"), _EVENT_COLUMNS.index("services_offered")
_EVENT_VALUES = attrgetter(*_EVENT_COLUMNS)
_EVENT_TABLE = f"signpost_event (submission_id, {', '.join(_EVENT_COLUMNS)})"


def is_recorded(session: Session, *, key: str) -> bool:
    """Whether a submission with this key (an HMAC) was recorded."""
    found = session.connection().execute(select(_SUBMISSIONS.c.id).where(_SUBMISSIONS.c.key_hmac == key))
    return found.first() is not None


# --- Recording ----------------------------------------------------------------------------------------------------

# Keys a SQLite claim carries: at 4 parameters a row it stays within SQLite's limit of 32,766.
_CLAIMS_PER_INSERT = 500
# One event a row, the same statement for every batch (prepared once: see _sqlite_insert_events).
_SQLITE_INSERT_EVENT = f"INSERT INTO {_EVENT_TABLE} VALUES ({', '.join(['?'] * (len(_EVENT_COLUMNS) + 1))})"

# INSERT … ON CONFLICT DO NOTHING rather than a savepoint: on SQLite, pysqlite's transaction handling would make a
# savepoint the outer transaction, and releasing it would commit the submission alone. Written as SQL, as the events'
# insert is: SQLAlchemy's "insertmanyvalues" took a third of the group commit's time (bench/README.md).
_CLAIM_MARKS = "(?, ?, ?, ?)"
_SQLITE_CLAIM = (
    "INSERT INTO event_submission (key_hmac, source, created_at, event_count) VALUES {} "
    "ON CONFLICT (key_hmac) DO NOTHING RETURNING key_hmac, id"
)
# How SQLAlchemy's DateTime stores a time on SQLite (naive: the zone is dropped), so that both writers agree.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

# On PostgreSQL one statement does it all, whatever the batch size. Its one parameter is the batch as JSON, each event
# an object named as signpost_event's columns (PostgreSQL reads them with the table's own types): psycopg dumping
# 13 arrays took a sixth of $signpost's time, orjson writes the JSON in microseconds. It claims the new keys in
# sorted order (concurrent batches sharing keys lock them in the same order: no deadlock), inserts their events
# (PostgreSQL routes each to its month's partition) and returns the keys it claimed.
_PG_RECORD = f"""
WITH given AS (
    SELECT key, events FROM json_to_recordset(%(submissions)s::json) AS s (key text, events json)
), claimed AS (
    INSERT INTO event_submission (key_hmac, source, created_at, event_count)
    SELECT key, %(source)s, %(now)s, json_array_length(events) FROM given
    ORDER BY key
    ON CONFLICT (key_hmac) DO NOTHING
    RETURNING id, key_hmac
), stored AS (
    INSERT INTO {_EVENT_TABLE}
    SELECT claimed.id, {", ".join(f"e.{name}" for name in _EVENT_COLUMNS)}
    FROM given JOIN claimed ON claimed.key_hmac = given.key,
        json_populate_recordset(NULL::signpost_event, given.events) AS e
)
SELECT key_hmac FROM claimed
"""


def _pg_parameters(source: str, submissions: list[tuple[str, list[NewEvent]]]) -> dict[str, Any]:
    batch = [{"key": key, "events": new_events} for key, new_events in submissions]
    return {"submissions": orjson.dumps(batch).decode(), "source": source, "now": datetime.now(UTC)}


def _stored(event: NewEvent) -> list[Any]:
    """An event's column values as sqlite3 takes them (the day and the services offered as text)."""
    values = list(_EVENT_VALUES(event))
    values[_DAY] = event.occurred_on.isoformat()
    values[_SERVICES] = orjson.dumps(values[_SERVICES]).decode()
    return values


def _sqlite_claim(connection: sqlite3.Connection, rows: list[tuple[str, str, str, int]]) -> dict[str, int]:
    """Claim the keys of `rows` (key, source, created_at, event count) on SQLite; the id of each key it claimed."""
    claimed: dict[str, int] = {}
    for start in range(0, len(rows), _CLAIMS_PER_INSERT):
        chunk = rows[start : start + _CLAIMS_PER_INSERT]
        marks = ", ".join([_CLAIM_MARKS] * len(chunk))
        found = connection.execute(_SQLITE_CLAIM.format(marks), tuple(v for row in chunk for v in row))
        claimed.update(found.fetchall())
    return claimed


def _sqlite_insert_events(connection: sqlite3.Connection, recorded: list[tuple[int, NewEvent]]) -> None:
    """Every (submission id, event) on SQLite, through one prepared statement (executemany). A statement of as many
    rows as the batch has events differed from batch to batch, so SQLite parsed each anew: more than it took to run."""
    connection.executemany(_SQLITE_INSERT_EVENT, [(submission_id, *_stored(e)) for submission_id, e in recorded])


def record(session: Session, *, key: str, source: str, events: list[NewEvent]) -> bool:
    """Store the events of one submission; False (and nothing stored) when `key` was seen before. The caller commits.

    A unique constraint on the key makes concurrent retries safe: only one insert can win.
    """
    return record_many(session, source=source, submissions=[(key, events)])[0]


def record_many(session: Session, *, source: str, submissions: list[tuple[str, list[NewEvent]]]) -> list[bool]:
    """Store several submissions (key, events) at once; for each, whether it was new (False: seen before).

    The same guarantees as `record`, in one round of statements (one statement on PostgreSQL): a batch upload costs
    a few inserts, not a few per item. Keys must differ within the call. The caller commits.
    """
    if len({key for key, _ in submissions}) != len(submissions):
        raise ValueError("record_many: a key repeats within the call")
    if session.get_bind().dialect.name == "postgresql":
        parameters = _pg_parameters(source, submissions)
        claimed = set(session.connection().exec_driver_sql(_PG_RECORD, parameters).scalars())
        return [key in claimed for key, _ in submissions]
    with db.driver_writer(session) as connection:
        return record_many_sqlite(connection, source=source, submissions=submissions)


def record_many_sqlite(
    connection: sqlite3.Connection, *, source: str, submissions: list[tuple[str, list[NewEvent]]]
) -> list[bool]:
    """`record_many` on SQLite, its statements sent to the pysqlite `connection` itself (which holds the writer lock:
    `db.driver_writer`, `db.run_and_commit_on_driver`). The caller commits."""
    # Keys in sorted order, as on PostgreSQL.
    now = datetime.now(UTC).strftime(_SQLITE_TIME)
    rows = [(key, source, now, len(new_events)) for key, new_events in sorted(submissions, key=lambda pair: pair[0])]
    ids = _sqlite_claim(connection, rows)
    fresh = [(ids[key], event) for key, new_events in submissions if key in ids for event in new_events]
    if fresh:
        _sqlite_insert_events(connection, fresh)
    return [key in ids for key, _ in submissions]


async def record_many_async(
    connection: AsyncConnection[Any], source: str, submissions: list[tuple[str, list[NewEvent]]]
) -> set[str]:
    """`record_many` through an async PostgreSQL connection, in one statement (one round trip; an autocommit
    connection commits it by itself): the keys that were new."""
    cursor = await connection.execute(_PG_RECORD, _pg_parameters(source, submissions))
    return {key for (key,) in await cursor.fetchall()}


# --- Retention ----------------------------------------------------------------------------------------------------


def delete_before(session: Session, *, before: date, keep: Select) -> int:  # type: ignore[type-arg]
    """Delete the events that happened before `before`, except those of the submissions `keep` selects (ids);
    returns how many. The caller commits.

    On PostgreSQL a month wholly before `before` with no event to keep goes as a whole partition (no row is read
    or written, and no dead rows are left for vacuum); what is left (the default partition, a month with an event to
    keep) is deleted row by row.
    """
    deleted = _drop_months_before(session, before, keep) if _partitioned(session) else 0
    rows = session.connection().execute(
        delete(_EVENTS).where(_EVENTS.c.occurred_on < before, _EVENTS.c.submission_id.not_in(keep))
    )
    return deleted + int(rows.rowcount or 0)


def delete_unused_submissions(session: Session, *, created_before: datetime, keep: Select) -> int:  # type: ignore[type-arg]
    """Delete the submissions made before `created_before` that have no event left, except those `keep` selects.
    The caller commits."""
    # NOT EXISTS, not NOT IN: an anti-join probing the submission index of each partition, not a hash of every event.
    used = exists().where(_EVENTS.c.submission_id == _SUBMISSIONS.c.id)
    rows = session.connection().execute(
        delete(_SUBMISSIONS).where(_SUBMISSIONS.c.created_at < created_before, ~used, _SUBMISSIONS.c.id.not_in(keep))
    )
    return int(rows.rowcount or 0)


# --- PostgreSQL's monthly partitions ---------------------------------------------------------------------------------

# Months created ahead of today; an event in a month with no partition (far back, or ahead of these) goes to the
# default partition, and `ensure_partitions` moves it into its month's partition when it makes one.
PARTITIONS_AHEAD = 3
DEFAULT_PARTITION = "signpost_event_default"
# One replica at a time makes partitions (pg_try_advisory_xact_lock: held to the end of the transaction, so it works
# through PgBouncer's transaction pooling too); the others skip.
_PARTITION_LOCK = 0x5167_2201
# Attaching a partition locks the default one, and dropping one locks the whole table, each for an instant; while
# such a lock waits for a query to finish, every insert queues behind it. So wait at most half a second, else give up
# (the transaction fails, nothing is lost) and try again on the next run.
_IMPATIENT = "SET LOCAL lock_timeout = '500ms'"
_BOUNDS = re.compile(r"FROM \('(\d{4}-\d{2}-\d{2})'\) TO \('(\d{4}-\d{2}-\d{2})'\)")


def partition_name(month: date) -> str:
    return f"signpost_event_{month:%Y_%m}"


def _next_month(month: date) -> date:
    return month.replace(day=1) + relativedelta(months=1)


def _partitioned(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    kind = session.connection().exec_driver_sql("SELECT relkind FROM pg_class WHERE oid = 'signpost_event'::regclass")
    return kind.scalar_one() == "p"


def month_partitions(session: Session) -> dict[date, str]:
    """PostgreSQL: the first day of each month that has a partition, and the partition's name (else empty)."""
    if not _partitioned(session):
        return {}
    rows = session.connection().exec_driver_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'signpost_event'::regclass"
    )
    found = {}
    for name, bounds in rows:
        if match := _BOUNDS.search(bounds):
            found[date.fromisoformat(match[1])] = name
    return dict(sorted(found.items()))


def create_month_sql(month: date) -> list[str]:
    """The statements that make `month`'s partition, moving in the events the default partition holds for it."""
    name, low, high = partition_name(month), month.isoformat(), _next_month(month).isoformat()
    within = f"occurred_on >= '{low}' AND occurred_on < '{high}'"
    # A partition cannot be made over rows the default partition holds: they go into a table of their own first,
    # which is then attached (PostgreSQL checks its rows fit and builds its indexes).
    return [
        f"CREATE TABLE {name} (LIKE signpost_event INCLUDING DEFAULTS)",
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE {within} RETURNING *)"
        f" INSERT INTO {name} SELECT * FROM moved",
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_month CHECK ({within})",  # lets ATTACH skip its scan
        f"ALTER TABLE signpost_event ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')",
        f"ALTER TABLE {name} DROP CONSTRAINT {name}_month",
    ]


def ensure_partitions(session: Session, *, today: date, ahead: int = PARTITIONS_AHEAD) -> list[str]:
    """PostgreSQL: make the partitions of this month and the `ahead` next that are missing; their names. A no-op on
    SQLite, or while another replica is at it. The caller commits."""
    if not _partitioned(session):
        return []
    connection = session.connection()
    if not connection.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({_PARTITION_LOCK})").scalar_one():
        return []
    connection.exec_driver_sql(_IMPATIENT)
    have = month_partitions(session)
    made = []
    month = today.replace(day=1)
    for _ in range(ahead + 1):
        if month not in have:
            for statement in create_month_sql(month):
                connection.exec_driver_sql(statement)
            made.append(partition_name(month))
        month = _next_month(month)
    return made


def _drop_months_before(session: Session, before: date, keep: Select) -> int:  # type: ignore[type-arg]
    connection = session.connection()
    connection.exec_driver_sql(_IMPATIENT)
    dropped = 0
    for month, name in month_partitions(session).items():
        if _next_month(month) > before:
            break
        partition = table(name, column("submission_id"))
        if connection.execute(select(exists().where(partition.c.submission_id.in_(keep)))).scalar_one():
            continue  # an event waits for its fold: the rows go (but that one) below, the partition next time
        dropped += int(connection.execute(select(func.count()).select_from(partition)).scalar_one())
        connection.exec_driver_sql(f"DROP TABLE {name}")
    return dropped
