"""Creating, listing, revoking and checking API keys."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from signpost.auth.models import ApiKey, Role
from signpost.errors import Problem
from signpost.ods import service as ods
from signpost.remember import Remembered, monotonic

KEY_PREFIX = "sp_"
# ODS organisation codes: a GP practice is a letter and five digits; other bodies 3 to 6 alphanumerics.


@dataclass(frozen=True)
class Actor:
    """Who is calling: a key's role and, for clinicians, the practice it belongs to."""

    key_id: int | None
    name: str
    role: Role
    practice_ods: str | None = None
    organization_id: str | None = None


def hash_key(key: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough to make the stored value useless.
    return hashlib.sha256(key.encode()).hexdigest()


def now() -> datetime:
    return datetime.now(UTC)


def create_key(
    *, session: Session, role: str, name: str, practice_ods: str | None = None, organization_id: str | None = None
) -> tuple[ApiKey, str]:
    """Make a key; returns the record and the secret, which is never seen again."""
    try:
        parsed_role = Role(role)
    except ValueError:
        raise Problem(
            422,
            f"Unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}.",
            errors=[{"loc": "role", "message": "unknown role"}],
        ) from None
    name = name.strip()
    if not name or len(name) > 200:
        raise Problem(
            422,
            "A key needs a name of 1 to 200 characters.",
            errors=[{"loc": "name", "message": "required, at most 200 characters"}],
        )
    if practice_ods is not None:
        practice_ods = ods.check_practice(session=session, code=practice_ods)
        if parsed_role is not Role.clinician:
            raise Problem(
                422,
                "Only a clinician key carries a practice code.",
                errors=[{"loc": "practice_ods", "message": "only for the clinician role"}],
            )
    if (parsed_role is Role.provider) != bool(organization_id):
        raise Problem(
            422,
            "A provider key belongs to one organisation, and only a provider key names one.",
            errors=[{"loc": "organization_id", "message": "required for the provider role, and only for it"}],
        )
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        name=name,
        role=parsed_role.value,
        practice_ods=practice_ods,
        organization_id=organization_id,
        prefix=secret[:10],
        key_hash=hash_key(secret),
        created_at=now(),
    )
    session.add(record)
    session.flush()
    return record, secret


def list_keys(*, session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))  # type: ignore[arg-type]


def revoke_key(*, session: Session, key_id: int) -> ApiKey:
    record = session.get(ApiKey, key_id)
    if record is None:
        raise Problem(404, f"There is no key {key_id}.")
    if record.revoked_at is None:
        record.revoked_at = now()
        session.add(record)
    _remembered.forget()
    return record


_KEY_COLUMNS = (
    col(ApiKey.id),
    col(ApiKey.key_hash),
    col(ApiKey.name),
    col(ApiKey.role),
    col(ApiKey.practice_ods),
    col(ApiKey.organization_id),
    col(ApiKey.revoked_at),
)
_KEY_LOOKUP = sa_select(*_KEY_COLUMNS).where(col(ApiKey.key_hash) == bindparam("key_hash"))


def _actor(record: Any) -> Actor:
    return Actor(
        key_id=record.id,
        name=record.name,
        role=Role(record.role),
        practice_ods=record.practice_ods,
        organization_id=record.organization_id,
    )


def _live_actors(session: Session, digests: list[str]) -> dict[str, Actor]:
    """The actors of those key hashes that are still live (known and not revoked)."""
    query = sa_select(*_KEY_COLUMNS).where(col(ApiKey.key_hash).in_(digests), col(ApiKey.revoked_at).is_(None))
    return {record.key_hash: _actor(record) for record in session.connection().execute(query)}


# A key's actor is remembered for a few seconds, so a burst of requests neither looks it up each time nor waits
# for a worker thread to. Revoking forgets every key at once in this process; other processes (further workers,
# the CLI) are believed for at most this long.
REMEMBER_SECONDS = 5.0
_remembered: Remembered[str, Actor] = Remembered("API keys", _live_actors)


def remembered(secret: str, session: Session) -> Actor | None:
    """The actor of a key that authenticated in the last few seconds, if it did (renewed through `session`'s engine
    while it is used)."""
    digest = hash_key(secret)
    return _remembered.held([digest], REMEMBER_SECONDS, session).get(digest)


def authenticate(*, session: Session, secret: str) -> Actor:
    """The actor for a presented key, or a 401 that says why not."""
    digest = hash_key(secret)
    read_at = monotonic()
    # Columns, not the ORM entity: every authenticated request runs this.
    record = session.connection().execute(_KEY_LOOKUP, {"key_hash": digest}).first()
    if record is None or not hmac.compare_digest(record.key_hash, digest):
        raise Problem(401, "The API key was not recognised.", headers={"WWW-Authenticate": "Bearer"})
    if record.revoked_at is not None:
        raise Problem(401, "The API key has been revoked.", headers={"WWW-Authenticate": "Bearer"})
    actor = _actor(record)
    _remembered.keep({digest: actor}, [digest], read_at)
    return actor


def has_admin(*, session: Session) -> bool:
    query = select(ApiKey).where(ApiKey.role == Role.admin.value, ApiKey.revoked_at.is_(None))  # type: ignore[union-attr]
    return session.exec(query).first() is not None


def ensure_admin_from_secret(*, session: Session, secret: str) -> bool:
    """Register a bootstrap admin key given by the environment, once."""
    if session.exec(select(ApiKey).where(ApiKey.key_hash == hash_key(secret))).first():
        return False
    session.add(
        ApiKey(
            name="bootstrap admin",
            role=Role.admin.value,
            prefix=secret[:10],
            key_hash=hash_key(secret),
            created_at=now(),
        )
    )
    session.flush()
    return True
