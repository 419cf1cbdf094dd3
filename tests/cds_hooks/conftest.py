"""CDS Hooks tests: the app in process, the EHR's JWKS and FHIR server mocked with respx, its JWTs real."""

from collections.abc import Iterator
from typing import Any

import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.cds_hooks import auth
from signpost.config import Settings, TrustedEhr, request_settings
from tests.factories import request_session
from tests.routing.factories import make_service
from tests.simulated_ehr.app import CLIENT_ID, Ehr

EHR_BASE = "https://ehr.example.test"
SIGNPOST = "http://testserver"


@pytest.fixture
def ehr() -> Ehr:
    return Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST)


@pytest.fixture
def ehr_settings(settings: Settings, ehr: Ehr) -> Settings:
    trusted = TrustedEhr(issuer=ehr.fhir_base, jwks_url=EHR_BASE + "/jwks", client_id=CLIENT_ID)
    return settings.model_copy(update={"trusted_ehrs": [trusted], "public_base_url": SIGNPOST, "ehr_timeout_s": 0.5})


@pytest.fixture
def mock_ehr(ehr: Ehr) -> Iterator[respx.MockRouter]:
    """The EHR's JWKS answered; each test adds the FHIR answers it needs."""
    auth.forget()
    with respx.mock(assert_all_called=False) as mock:
        mock.get(EHR_BASE + "/jwks").respond(json=ehr.jwks())
        yield mock
    auth.forget()


@pytest.fixture
def hooks(ehr_settings: Settings, session: Session, mock_ehr: respx.MockRouter) -> Iterator[TestClient]:
    application = create_app(ehr_settings)
    application.dependency_overrides[db.get_session] = request_session(session)
    application.dependency_overrides[request_settings] = lambda: ehr_settings
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def directory(session: Session) -> dict[str, Any]:
    """A homelessness service and a food bank, city-wide."""
    return {
        "housing": make_service(session, "Leeds Housing Options", ["homelessness"], url="https://housing.example.org"),
        "food": make_service(session, "Leeds Food Aid", ["food"]),
    }


def call(client: TestClient, ehr: Ehr, service_id: str, body: Any, **claims: Any) -> Any:
    """Call a CDS Service as the EHR would: a fresh JWT for the service's URL."""
    url = f"{SIGNPOST}/cds-services/{service_id}"
    token = ehr.hook_jwt(url, **claims)
    return client.post(f"/cds-services/{service_id}", json=body, headers={"Authorization": f"Bearer {token}"})
