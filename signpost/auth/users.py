"""People who sign in to the pages: users with argon2-hashed passwords, and server-side browser sessions."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Field, Session, SQLModel, col, select

import signpost.db  # noqa: F401  (naming convention first)
from signpost.auth import service as keys
from signpost.auth.models import ApiKey, Role
from signpost.errors import Problem
from signpost.ods import service as practice

SESSION_HOURS = 8
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verifying against this when the username is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class User(SQLModel, table=True):
    __tablename__ = "web_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=20)
    practice_ods: str | None = Field(default=None, max_length=10)
    created_at: datetime
    disabled_at: datetime | None = None
    last_sign_in_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token; only its hash is stored here."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int | None = Field(default=None, foreign_key="web_user.id", ondelete="CASCADE")
    key_id: int | None = Field(default=None, foreign_key="api_key.id", ondelete="CASCADE")
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, and the session that proves it."""

    actor: keys.Actor
    session_id: int
    token: str
    username: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(*, session: Session, username: str, password: str, role: str, practice_ods: str | None = None) -> User:
    """Add a user; the password is kept only as an argon2 hash."""
    username = username.strip().lower()
    errors = []
    if not USERNAME.match(username):
        errors.append({"loc": "username", "message": "3 to 64 lower-case letters, digits, dots, dashes or underscores"})
    if len(password) < MIN_PASSWORD:
        errors.append({"loc": "password", "message": f"at least {MIN_PASSWORD} characters"})
    try:
        parsed_role = Role(role)
    except ValueError:
        errors.append({"loc": "role", "message": "choose a role"})
        parsed_role = None
    if parsed_role is Role.provider:
        # A provider is an organisation, not a person: it signs in with the key an editor issued to it.
        errors.append({"loc": "role", "message": "providers sign in with their organisation's key, not as users"})
    ods = (practice_ods or "").strip().upper() or None
    if parsed_role is Role.clinician and ods is None:
        # A clinician's signposting is counted for their practice; without one their template cannot be used.
        errors.append({"loc": "practice_ods", "message": "a clinician needs their GP practice's ODS code"})
    if ods is not None:
        if problem := practice.practice_problem(session=session, code=ods):
            errors.append({"loc": "practice_ods", "message": problem})
        elif parsed_role is not Role.clinician:
            errors.append({"loc": "practice_ods", "message": "only a clinician carries a practice code"})
    if not errors and session.exec(select(User).where(User.username == username)).first():
        errors.append({"loc": "username", "message": "already taken"})
    if errors:
        raise Problem(422, "; ".join(f"{e['loc']}: {e['message']}" for e in errors), errors=errors)
    assert parsed_role is not None
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=parsed_role.value,
        practice_ods=ods,
        created_at=_now(),
    )
    session.add(user)
    session.flush()
    return user


def list_users(*, session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))  # type: ignore[arg-type]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Problem(404, f"There is no user {user_id}.")
    return user


def _end_sessions(session: Session, user_id: int) -> None:
    for web_session in session.exec(select(WebSession).where(WebSession.user_id == user_id)):
        session.delete(web_session)


def disable_user(*, session: Session, user_id: int) -> User:
    """Stop a user signing in and end their sessions; never the last active admin (nobody could manage users)."""
    user = _user(session, user_id)
    if user.role == Role.admin.value and user.disabled_at is None:
        others = session.exec(
            select(User.id).where(User.role == Role.admin.value, col(User.disabled_at).is_(None), User.id != user.id)
        ).first()
        if others is None:
            raise Problem(
                409,
                f"{user.username} is the last active admin: add or enable another admin first.",
                errors=[{"loc": "user", "message": "the last active admin cannot be disabled"}],
            )
    if user.disabled_at is None:
        user.disabled_at = _now()
        session.add(user)
    _end_sessions(session, user_id)
    session.flush()
    return user


def enable_user(*, session: Session, user_id: int) -> User:
    """Let a disabled user sign in again (with the password they had)."""
    user = _user(session, user_id)
    user.disabled_at = None
    session.add(user)
    session.flush()
    return user


def reset_password(*, session: Session, user_id: int, password: str) -> User:
    """Give a user a new password and end their sessions, so only the new password signs them in."""
    if len(password) < MIN_PASSWORD:
        raise Problem(
            422,
            f"password: at least {MIN_PASSWORD} characters",
            errors=[{"loc": "password", "message": f"at least {MIN_PASSWORD} characters"}],
        )
    user = _user(session, user_id)
    user.password_hash = _hasher.hash(password)
    session.add(user)
    _end_sessions(session, user_id)
    session.flush()
    return user


def check_password(*, session: Session, username: str, password: str) -> User:
    """The user these credentials belong to, or a 401 that does not say which part was wrong."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    try:
        ok: bool = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or user.disabled_at is not None:
        raise Problem(401, "The username or password is not right.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = _now()
    session.add(user)
    return user


def start_session(*, session: Session, user: User | None = None, key_id: int | None = None) -> str:
    """Open a browser session for a user or a key; returns the cookie token (shown nowhere else)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    # Expired sessions are useless; clearing them here keeps the table small without a scheduler.
    session.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
    record = WebSession(
        token_hash=_token_hash(token),
        user_id=user.id if user else None,
        key_id=key_id,
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    session.add(record)
    session.flush()
    return token


def viewer_for(*, session: Session, token: str) -> Viewer | None:
    """The signed-in viewer for a cookie token, or None when it is unknown, expired, revoked or disabled."""
    record = session.exec(select(WebSession).where(WebSession.token_hash == _token_hash(token))).first()
    if record is None or record.id is None or _aware(record.expires_at) <= _now():
        return None
    if record.user_id is not None:
        user = session.get(User, record.user_id)
        if user is None or user.disabled_at is not None:
            return None
        actor = keys.Actor(key_id=None, name=user.username, role=Role(user.role), practice_ods=user.practice_ods)
        return Viewer(actor=actor, session_id=record.id, token=token, username=user.username)
    key = session.get(ApiKey, record.key_id) if record.key_id is not None else None
    if key is None or key.revoked_at is not None:
        return None
    actor = keys.Actor(
        key_id=key.id,
        name=key.name,
        role=Role(key.role),
        practice_ods=key.practice_ods,
        organization_id=key.organization_id,
    )
    return Viewer(actor=actor, session_id=record.id, token=token)


def end_session(*, session: Session, token: str) -> None:
    record = session.exec(select(WebSession).where(WebSession.token_hash == _token_hash(token))).first()
    if record is not None:
        session.delete(record)
        session.flush()
