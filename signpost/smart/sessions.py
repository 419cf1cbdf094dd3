"""SMART launches in progress, held in this process's memory only: the OAuth state and PKCE verifier, then the
access token and the patient in context. Nothing of a launch is ever written to the database or a log; a launch is
dropped when its template is written back, when it fails, or after `LIFETIME_S`."""

import secrets
import threading
import time
from dataclasses import dataclass, field

LIFETIME_S = 60 * 60
COOKIE = "signpost_smart"


@dataclass
class Launch:
    """One EHR launch of the template."""

    issuer: str
    client_id: str
    token_endpoint: str
    state: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(64))
    started_at: float = field(default_factory=time.monotonic)
    # Once authorised (in memory only, never logged; repr hides them):
    access_token: str = field(default="", repr=False)
    scopes: set[str] = field(default_factory=set)
    patient_id: str = field(default="", repr=False)
    postcode: str | None = field(default=None, repr=False)
    birth_date: str | None = field(default=None, repr=False)

    @property
    def authorised(self) -> bool:
        return bool(self.access_token and self.patient_id)


_launches: dict[str, Launch] = {}
_lock = threading.Lock()


def start(launch: Launch) -> str:
    """Hold a new launch; the cookie value that finds it again."""
    key = secrets.token_urlsafe(32)
    with _lock:
        _expire()
        _launches[key] = launch
    return key


def find(key: str | None) -> Launch | None:
    """The launch this browser holds, if it is still alive."""
    if not key:
        return None
    with _lock:
        _expire()
        return _launches.get(key)


def drop(key: str | None) -> None:
    """Forget a launch: its token, patient and everything else."""
    if key:
        with _lock:
            _launches.pop(key, None)


def held() -> int:
    """How many launches are in progress (tests)."""
    with _lock:
        return len(_launches)


def _expire() -> None:
    cutoff = time.monotonic() - LIFETIME_S
    for key in [k for k, v in _launches.items() if v.started_at < cutoff]:
        del _launches[key]
