"""Shared helpers for the reliability proofs: credentials for every role, and the app's route table."""

import hashlib
import hmac
from dataclasses import dataclass, field

import pytest
from sqlmodel import Session

from signpost.auth import service as auth
from signpost.auth import users
from signpost.auth.models import Role
from signpost.config import Settings
from signpost.web.deps import PRE_COOKIE, SESSION_COOKIE

ANONYMOUS = "anonymous"
REVOKED = "revoked"
CALLERS = [ANONYMOUS, REVOKED, *[r.value for r in Role]]


@dataclass(frozen=True)
class Credentials:
    """How one caller presents itself: an API key to the API, a session cookie (and its CSRF token) to pages."""

    key: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


def _csrf(settings: Settings, anchor: str) -> str:
    # The same derivation as signpost.web.deps.csrf_token, so callers can submit the forms they may use.
    csrf_key = hashlib.sha256(("csrf:" + settings.secret_key).encode()).digest()
    return hmac.new(csrf_key, anchor.encode(), hashlib.sha256).hexdigest()


def _page_session(session: Session, settings: Settings, key_id: int | None) -> tuple[dict[str, str], str]:
    if key_id is None:  # a browser before sign-in holds only the pre-session cookie
        anchor = "anonymous-browser"
        return {PRE_COOKIE: anchor}, _csrf(settings, anchor)
    token = users.start_session(session=session, key_id=key_id)
    return {SESSION_COOKIE: token}, _csrf(settings, token)


@pytest.fixture
def credentials(session: Session, settings: Settings) -> dict[str, Credentials]:
    """A live key (and page session) for every role, a revoked admin key, and nothing at all."""
    cookies, csrf = _page_session(session, settings, None)
    found: dict[str, Credentials] = {ANONYMOUS: Credentials(None, cookies, csrf)}
    for role in [*Role, None]:
        name = role.value if role else REVOKED
        record, secret = auth.create_key(
            session=session,
            role=(role or Role.admin).value,
            name=f"{name} key",
            practice_ods="B86001" if role is Role.clinician else None,
            organization_id="reliability-provider-org" if role is Role.provider else None,
        )
        session.flush()
        cookies, csrf = _page_session(session, settings, record.id or 0)
        if role is None:
            auth.revoke_key(session=session, key_id=record.id or 0)
            session.flush()
        found[name] = Credentials(secret, cookies, csrf)
    # Commit (a savepoint release here): a route that rolls back after bad input must not take the keys with it.
    session.commit()
    return found


@pytest.fixture
def role_keys(credentials: dict[str, Credentials]) -> dict[str, str | None]:
    return {caller: c.key for caller, c in credentials.items()}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a real server or runs long; deselect with -m 'not slow'")
