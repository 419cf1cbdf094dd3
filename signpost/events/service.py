"""Recording anonymised events, once per submission however often it is retried."""

import hashlib
import hmac
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

import orjson
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from signpost import db
from signpost.events.models import EventSubmission
from signpost.indicators import rollup


@dataclass(frozen=True)
class NewEvent:
    """What a caller may say about one need; the only fields that can ever be stored."""

    occurred_on: date
    kind: str
    source: str
    need_code: str
    category_code: str | None = None
    services_offered: list[str] = field(default_factory=list)
    ward_code: str | None = None
    ward_vintage: int | None = None
    imd_decile: int | None = None
    imd_year: int | None = None
    age_band: str = "unknown"
    practice_ods: str | None = None


def key_hmac(secret_key: str, scope: str, identifier: str) -> str:
    """HMAC-SHA256 of an identifier under the service's secret, scoped (e.g. by practice or key)."""
    message = f"{scope}\x00{identifier}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def is_recorded(*, session: Session, key: str) -> bool:
    return session.exec(select(EventSubmission.id).where(EventSubmission.key_hmac == key)).first() is not None


_EVENT_COLUMNS = tuple(f.name for f in fields(NewEvent))
_DAY, _SERVICES = _EVENT_COLUMNS.index("occurred_on"), _EVENT_COLUMNS.index("services_offered")
_EVENT_TABLE = f"signpost_event (submission_id, {', '.join(_EVENT_COLUMNS)})"


# Rows a SQLite insert carries: 13 parameters a row stays within its limit of 32,766.
_ROWS_PER_INSERT = 500
_ROW_MARKS = f"({', '.join(['?'] * (len(_EVENT_COLUMNS) + 1))})"


def _insert_events(session: Session, recorded: list[tuple[int, NewEvent]]) -> None:
    """Every (submission id, event) on SQLite, as multi-row inserts: a request's events go in one statement."""
    values = [(submission_id, *_stored(e)) for submission_id, e in recorded]
    connection = session.connection()
    for start in range(0, len(values), _ROWS_PER_INSERT):
        chunk = values[start : start + _ROWS_PER_INSERT]
        statement = f"INSERT INTO {_EVENT_TABLE} VALUES {', '.join([_ROW_MARKS] * len(chunk))}"
        connection.exec_driver_sql(statement, tuple(v for row in chunk for v in row))


def _stored(event: NewEvent) -> list[Any]:
    """An event's column values as sqlite3 takes them (the day and the services offered as text)."""
    values = [getattr(event, name) for name in _EVENT_COLUMNS]
    values[_DAY] = event.occurred_on.isoformat()
    values[_SERVICES] = json.dumps(values[_SERVICES])
    return values


def record(*, session: Session, key: str, source: str, events: list[NewEvent]) -> bool:
    """Store the events of one submission; False (and nothing stored) when `key` was seen before.

    A unique constraint on the key makes concurrent retries safe: only one insert can win. The caller
    commits; the submission is marked pending for the roll-ups in the same transaction, so reports count its events
    from that commit on, exactly once.
    """
    return record_many(session=session, source=source, submissions=[(key, events)])[0]


# INSERT … ON CONFLICT DO NOTHING rather than a savepoint: on SQLite, pysqlite's transaction handling would make a
# savepoint the outer transaction, and releasing it would commit the submission alone. Built once; run as an
# "insertmanyvalues" executemany whatever the batch size.
_SQLITE_CLAIM = (
    sqlite_insert(EventSubmission.__table__)  # type: ignore[attr-defined]
    .on_conflict_do_nothing(index_elements=["key_hmac"])
    .returning(EventSubmission.__table__.c.key_hmac, EventSubmission.__table__.c.id)  # type: ignore[attr-defined]
)

# On PostgreSQL one statement does it all, whatever the batch size. Its one parameter is the batch as JSON, each event
# an object named as signpost_event's columns (PostgreSQL reads them with the table's own types): psycopg dumping
# 13 arrays took a sixth of $signpost's time, orjson writes the JSON in microseconds. It claims the new keys in
# sorted order (concurrent batches sharing keys lock them in the same order: no deadlock), inserts their events and
# marks them pending for the roll-ups (what `rollup.defer` does on SQLite), and returns the keys it claimed.
_PG_RECORD = f"""
WITH given AS (
    SELECT key, events FROM json_to_recordset(%(submissions)s::json) AS s (key text, events json)
), claimed AS (
    INSERT INTO event_submission (key_hmac, source, created_at, event_count)
    SELECT key, %(source)s, %(now)s, json_array_length(events) FROM given
    ORDER BY key
    ON CONFLICT (key_hmac) DO NOTHING
    RETURNING id, key_hmac, event_count
), stored AS (
    INSERT INTO {_EVENT_TABLE}
    SELECT claimed.id, {", ".join(f"e.{name}" for name in _EVENT_COLUMNS)}
    FROM given JOIN claimed ON claimed.key_hmac = given.key,
        json_populate_recordset(NULL::signpost_event, given.events) AS e
), pending AS (
    INSERT INTO indicator_pending (submission_id) SELECT id FROM claimed WHERE event_count > 0
)
SELECT key_hmac FROM claimed
"""


def _pg_parameters(source: str, submissions: list[tuple[str, list[NewEvent]]]) -> dict[str, Any]:
    batch = [{"key": key, "events": new_events} for key, new_events in submissions]
    return {"submissions": orjson.dumps(batch).decode(), "source": source, "now": datetime.now(UTC)}


async def record_now(pool: AsyncConnectionPool, *, key: str, source: str, events: list[NewEvent]) -> bool:
    """`record`, committed at once through one of `pool`'s autocommit connections (PostgreSQL): one statement, one
    round trip, and the event loop serves other requests meanwhile. False (nothing stored) when `key` was seen."""
    async with db.async_connection(pool) as connection:
        cursor = await connection.execute(_PG_RECORD, _pg_parameters(source, [(key, events)]))
        return bool(await cursor.fetchall())


def record_many(*, session: Session, source: str, submissions: list[tuple[str, list[NewEvent]]]) -> list[bool]:
    """Store several submissions (key, events) at once; for each, whether it was new (False: seen before).

    The same guarantees as `record`, in one round of statements (one statement on PostgreSQL): a batch upload costs
    a few inserts, not a few per item. Keys must differ within the call. The caller commits.
    """
    if len({key for key, _ in submissions}) != len(submissions):
        raise ValueError("record_many: a key repeats within the call")
    if session.get_bind().dialect.name == "postgresql":
        parameters = _pg_parameters(source, submissions)
        claimed = set(session.connection().exec_driver_sql(_PG_RECORD, parameters).scalars())
    else:
        # Keys in sorted order, as on PostgreSQL.
        now = datetime.now(UTC)
        rows = [
            {"key_hmac": key, "source": source, "created_at": now, "event_count": len(new_events)}
            for key, new_events in sorted(submissions, key=lambda pair: pair[0])
        ]
        ids: dict[str, int] = {key: id_ for key, id_ in session.connection().execute(_SQLITE_CLAIM, rows)}
        fresh = [(ids[key], event) for key, new_events in submissions if key in ids for event in new_events]
        if fresh:
            _insert_events(session, fresh)
            # Called directly, not registered: the roll-ups cannot miss a submission, as its mark commits with it.
            rollup.defer(session, sorted({submission_id for submission_id, _ in fresh}))
        claimed = set(ids)
    return [key in claimed for key, _ in submissions]
