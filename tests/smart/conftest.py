"""SMART launch tests: Signpost in process; its calls to the EHR go (through respx) to the simulated EHR's app."""

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings, TrustedEhr, request_settings
from signpost.smart import sessions
from tests.factories import request_session
from tests.routing.factories import make_service
from tests.simulated_ehr.app import CLIENT_ID, PATIENT_ID, Ehr
from tests.simulated_ehr.app import create_app as create_ehr

EHR_BASE = "https://ehr.example.test"
SIGNPOST = "http://localhost"  # a plain-HTTP loopback host: the launch cookie is not Secure here


@pytest.fixture
def ehr() -> Ehr:
    return Ehr(base_url=EHR_BASE, signpost_url=SIGNPOST)


@pytest.fixture
def ehr_browser(ehr: Ehr) -> Iterator[TestClient]:
    """The EHR's own pages and endpoints, as a browser (or Signpost's httpx calls) reach them."""
    with TestClient(create_ehr(ehr), base_url=EHR_BASE) as client:
        yield client


@pytest.fixture
def ehr_calls(ehr_browser: TestClient) -> Iterator[respx.MockRouter]:
    """Signpost's outbound calls to the EHR, answered by the simulated EHR."""

    def forward(request: httpx.Request) -> httpx.Response:
        answer = ehr_browser.request(
            request.method, str(request.url), content=request.content, headers=dict(request.headers)
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    with respx.mock(assert_all_called=False) as mock:
        mock.route(url__startswith=EHR_BASE).mock(side_effect=forward)
        yield mock
    sessions._launches.clear()


@pytest.fixture
def smart_settings(settings: Settings, ehr: Ehr) -> Settings:
    trusted = TrustedEhr(issuer=ehr.fhir_base, jwks_url=EHR_BASE + "/jwks", client_id=CLIENT_ID)
    return settings.model_copy(update={"trusted_ehrs": [trusted], "public_base_url": SIGNPOST, "ehr_timeout_s": 1.0})


@pytest.fixture
def signpost(smart_settings: Settings, session: Session, ehr_calls: respx.MockRouter) -> Iterator[TestClient]:
    application = create_app(smart_settings)
    application.dependency_overrides[db.get_session] = request_session(session)
    application.dependency_overrides[request_settings] = lambda: smart_settings
    with TestClient(application, base_url=SIGNPOST, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def directory(session: Session) -> dict[str, Any]:
    return {
        "housing": make_service(session, "Leeds Housing Options", ["homelessness"]),
        "food": make_service(session, "Leeds Food Aid", ["food"]),
    }


def launch_id(ehr: Ehr) -> str:
    launch = "launch-" + str(len(ehr.launches) + 1)
    ehr.launches[launch] = PATIENT_ID
    return launch


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorise(signpost: TestClient, ehr_browser: TestClient, ehr: Ehr, *, decision: str = "allow") -> Any:
    """Launch from the EHR, consent on its page: Signpost's answer to the authorization server's redirect."""
    started = signpost.get("/smart/launch", params={"iss": ehr.fhir_base, "launch": launch_id(ehr)})
    assert started.status_code == 302, started.text
    asked = query(started.headers["location"])
    decided = ehr_browser.post("/auth/decide", data={**asked, "decision": decision}, follow_redirects=False)
    back = decided.headers["location"]
    assert back.startswith(SIGNPOST + "/smart/callback")
    return signpost.get(back.removeprefix(SIGNPOST))
