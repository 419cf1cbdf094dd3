"""Plain factories for referral tests: a service with its organisation's provider key, and a referral to it."""

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.directory.models import Service
from tests.directory.factories import make_service
from tests.factories import bearer, make_key


@dataclass(frozen=True)
class Provider:
    service: Service
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)


def make_provider(session: Session, **overrides: Any) -> Provider:
    """A service (categorised as debt advice) and a provider key for the organisation that runs it."""
    service = make_service(session, **overrides)
    from signpost.auth import service as keys

    _, secret = keys.create_key(
        session=session, role="provider", name="intake team", organization_id=service.organization_id
    )
    session.flush()
    return Provider(service=service, key=secret)


def refer(client: TestClient, key: str, service_id: str, need: str = "debt-priority", **extra: Any) -> dict[str, Any]:
    """Make a referral through the API and return its answer (token included)."""
    response = client.post(
        "/api/v1/referrals", headers=bearer(key), json={"service": service_id, "need": need, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def prescriber_key(session: Session) -> str:
    return make_key(session, "prescriber", name="link worker")
