"""Recording anonymised events, once per submission however often it is retried."""

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from signpost.events.models import EventSubmission, SignpostEvent


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


def record(*, session: Session, key: str, source: str, events: list[NewEvent]) -> bool:
    """Store the events of one submission; False (and nothing stored) when `key` was seen before.

    A unique constraint on the key makes concurrent retries safe: only one insert can win. The caller
    commits; `hooks` (roll-ups) run inside the same transaction so counts never drift from events.
    """
    submission = EventSubmission(key_hmac=key, source=source, created_at=datetime.now(UTC), event_count=len(events))
    try:
        with session.begin_nested():
            session.add(submission)
            session.flush()
    except IntegrityError:
        return False
    rows = [SignpostEvent(submission_id=submission.id, **vars(e)) for e in events]
    session.add_all(rows)
    session.flush()
    for hook in EVENT_HOOKS:
        hook(session, rows)
    return True


# Functions called with (session, new events) inside the recording transaction, e.g. roll-up updates.
EVENT_HOOKS: list = []  # type: ignore[type-arg]
