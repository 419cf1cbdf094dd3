"""Recording anonymised events, once per submission however often it is retried."""

import hashlib
import hmac
import json
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

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


# Rows an insert statement carries: 13 parameters each stays within SQLite's 32,766 and PostgreSQL's 65,535.
_ROWS_PER_INSERT = 500


def _insert_events(session: Session, recorded: list[tuple[int, NewEvent]]) -> None:
    """Every (submission id, event), as few multi-row inserts: a request's events go in one statement (on
    PostgreSQL an executemany is a round of the driver's pipeline per row), and bulk loads go through here too."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    row_marks = f"({', '.join([mark] * (len(_EVENT_COLUMNS) + 1))})"
    values = [
        (
            submission_id,
            e.occurred_on.isoformat() if sqlite else e.occurred_on,
            *(
                json.dumps(v) if name == "services_offered" else v
                for name, v in zip(_EVENT_COLUMNS[1:], _values(e)[1:], strict=True)
            ),
        )
        for submission_id, e in recorded
    ]
    connection = session.connection()
    for start in range(0, len(values), _ROWS_PER_INSERT):
        chunk = values[start : start + _ROWS_PER_INSERT]
        statement = (
            f"INSERT INTO signpost_event (submission_id, {', '.join(_EVENT_COLUMNS)}) "
            f"VALUES {', '.join([row_marks] * len(chunk))}"
        )
        connection.exec_driver_sql(statement, tuple(v for row in chunk for v in row))


def _values(event: NewEvent) -> tuple[object, ...]:
    return tuple(getattr(event, name) for name in _EVENT_COLUMNS)


def record(*, session: Session, key: str, source: str, events: list[NewEvent]) -> bool:
    """Store the events of one submission; False (and nothing stored) when `key` was seen before.

    A unique constraint on the key makes concurrent retries safe: only one insert can win. The caller
    commits; the submission is marked for the roll-ups in the same transaction (`rollup.defer`), so reports count
    its events from that commit on, exactly once.
    """
    return record_many(session=session, source=source, submissions=[(key, events)])[0]


def _claim(dialect_insert: Any) -> Any:
    # INSERT … ON CONFLICT DO NOTHING rather than a savepoint: on SQLite, pysqlite's transaction handling
    # would make a savepoint the outer transaction, and releasing it would commit the submission alone.
    table = EventSubmission.__table__  # type: ignore[attr-defined]
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["key_hmac"])
        .returning(table.c.key_hmac, table.c.id)
    )


# Built once per dialect (True: SQLite) and run as an "insertmanyvalues" executemany whatever the batch size.
_CLAIM = {True: _claim(sqlite_insert), False: _claim(pg_insert)}


def record_many(*, session: Session, source: str, submissions: list[tuple[str, list[NewEvent]]]) -> list[bool]:
    """Store several submissions (key, events) at once; for each, whether it was new (False: seen before).

    The same guarantees as `record`, in one round of statements: a batch upload costs a few inserts, not
    a few per item. Keys must differ within the call. The caller commits.
    """
    sizes = {key: len(new_events) for key, new_events in submissions}
    if len(sizes) != len(submissions):
        raise ValueError("record_many: a key repeats within the call")
    statement = _CLAIM[session.get_bind().dialect.name == "sqlite"]
    now = datetime.now(UTC)
    # Keys in sorted order: concurrent batches sharing keys take their locks in the same order (no deadlock).
    rows = [{"key_hmac": key, "source": source, "created_at": now, "event_count": sizes[key]} for key in sorted(sizes)]
    ids: dict[str, int] = dict(session.connection().execute(statement, rows).tuples().all())
    fresh = [(ids[key], event) for key, new_events in submissions if key in ids for event in new_events]
    if fresh:
        _insert_events(session, fresh)
        new_events = [event for _, event in fresh]
        # Called directly, not registered: the roll-ups cannot miss a submission, as its mark commits with it.
        rollup.defer(session, sorted({submission_id for submission_id, _ in fresh}))
        for hook in EVENT_HOOKS:
            hook(session, new_events)
    return [key in ids for key, _ in submissions]


# Further functions called with (session, the NewEvents) inside the recording transaction.
EVENT_HOOKS: list = []  # type: ignore[type-arg]
