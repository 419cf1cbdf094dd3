"""Recording anonymised events, once per submission however often it is retried (the SQL is in `store`)."""

import hashlib
import hmac

from sqlmodel import Session

from signpost.events import store
from signpost.events.models import NewEvent


def key_hmac(secret_key: str, scope: str, identifier: str) -> str:
    """HMAC-SHA256 of an identifier under the service's secret, scoped (e.g. by practice or key)."""
    message = f"{scope}\x00{identifier}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def is_recorded(*, session: Session, key: str) -> bool:
    return store.is_recorded(session, key=key)


def record(*, session: Session, key: str, source: str, events: list[NewEvent]) -> bool:
    """Store the events of one submission; False (and nothing stored) when `key` was seen before. The caller commits;
    the indicators' roll-ups count its events from that commit on, exactly once (their trigger marks it pending)."""
    return store.record(session, key=key, source=source, events=events)


def record_many(*, session: Session, source: str, submissions: list[tuple[str, list[NewEvent]]]) -> list[bool]:
    """Store several submissions (key, events) at once; for each, whether it was new. The caller commits."""
    return store.record_many(session, source=source, submissions=submissions)
