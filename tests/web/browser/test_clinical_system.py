"""Inside the clinical system, end to end on loopback: the simulated EHR shows Signpost's patient-view cards, its
SMART link launches the template (authorisation code with PKCE), the template is completed in the browser and
written back to the EHR; afterwards Signpost's database and logs hold no identifier of the test patient."""

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect, text

from tests.reliability import canary
from tests.simulated_ehr.app import CLIENT_ID, PATIENT_ID
from tests.web.browser.test_template import _answer_no_needs
from tests.web.conftest import ROOT, Browsing, LiveServer, _free_port, serving, wait_until_up


@dataclass
class Pair:
    signpost: LiveServer
    ehr_url: str
    log: Any


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Signpost registered with the simulated EHR, and the EHR pointed at Signpost, each on its own port."""
    folder = tmp_path_factory.mktemp("clinical")
    signpost_port, ehr_port = _free_port(), _free_port()
    ehr_url = f"http://127.0.0.1:{ehr_port}"
    signpost_url = f"http://localhost:{signpost_port}"
    ehr = subprocess.Popen(
        [sys.executable, "-m", "tests.simulated_ehr", "--port", str(ehr_port), "--signpost", signpost_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    registration = [{"issuer": f"{ehr_url}/fhir", "jwks_url": f"{ehr_url}/jwks", "client_id": CLIENT_ID}]
    try:
        wait_until_up(ehr_url + "/jwks", ehr)
        with serving(
            folder,
            database_suffix="_clinical",
            PORT=str(signpost_port),
            SIGNPOST_TRUSTED_EHRS=json.dumps(registration),
            SIGNPOST_PUBLIC_BASE_URL=signpost_url,
            SIGNPOST_LOG_LEVEL="DEBUG",
        ) as signpost:
            yield Pair(signpost, ehr_url, folder / "server.log")
    finally:
        ehr.terminate()
        ehr.wait(timeout=10)


def _stored(server: LiveServer) -> set[str]:
    """Every row of every table, as text."""
    with server.session() as session:
        connection = session.connection()
        tables = inspect(connection).get_table_names()
        return {f"{t}: {row!r}" for t in tables for row in connection.execute(text(f'SELECT * FROM "{t}"'))}


def test_cards_launch_the_template_which_writes_back_and_nothing_identifying_stays(browser, pair: Pair) -> None:  # type: ignore[no-untyped-def]
    # The canary's postcode is a real Leeds one, in the postcode reference data loaded before: only rows the flow
    # adds are the flow's.
    before = _stored(pair.signpost)
    context = browser.new_context()
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        # The EHR's patient page calls patient-view (a JWT it signs; the record prefetched) and shows the cards.
        page.goto(pair.ehr_url + "/ehr/patient")
        cards = page.locator(".card h2").all_inner_texts()
        assert any(c.startswith("Homeless:") for c in cards), cards
        assert any(c.startswith("Food insecurity:") for c in cards), cards
        page.screenshot(path=str(ROOT / "test-artifacts" / "ehr-cards.png"), full_page=True)
        # Without prefetch, Signpost reads the record from the EHR's FHIR server with the token lent: same cards.
        page.goto(pair.ehr_url + "/ehr/patient?prefetch=0")
        assert page.locator(".card h2").all_inner_texts() == cards
        # Taking a card's suggestion creates the draft referral in the record, and the EHR sends feedback.
        page.locator("button.suggestion").first.click()
        page.wait_for_url(pair.ehr_url + "/ehr/patient")
        drafted = httpx.get(pair.ehr_url + "/_test/writes").json()
        assert [(w["resourceType"], w["status"]) for w in drafted] == [("ServiceRequest", "draft")]
        assert httpx.get(pair.ehr_url + "/_test/feedback").json() == [200]

        # The card's SMART link: EHR launch → Signpost → the EHR's consent page → back with a code → the template.
        page.locator("a.card-link").first.click()
        page.wait_for_url(pair.ehr_url + "/auth/authorize*")
        page.click("button:has-text('Allow')")
        page.wait_for_url(pair.signpost.base_url + "/smart/template")
        browsing = Browsing(page, pair.signpost.base_url)
        assert "Postcode: taken from the record" in page.inner_text("[data-from-record]")
        browsing.check("smart-template")

        _answer_no_needs(page)
        page.uncheck("#q-housing-1")
        page.check("label:has-text('Homeless') >> nth=0")
        page.check("#q-homeless-tonight-2")
        page.click("button:has-text('Find services')")
        page.wait_for_selector("[data-write-back]")
        assert "1 × the template answers saved to the record" in page.inner_text("[data-write-back]")
        browsing.check("smart-result")
    finally:
        context.close()

    writes = httpx.get(pair.ehr_url + "/_test/writes").json()
    kinds = [w["resourceType"] for w in writes]
    assert kinds[1] == "QuestionnaireResponse" and {"Observation", "ServiceRequest"} <= set(kinds[2:])
    assert all(w["subject"] == {"reference": f"Patient/{PATIENT_ID}"} for w in writes)

    # The promise: the EHR keeps the identified record; Signpost keeps nothing that identifies the patient.
    added = "\n".join(sorted(_stored(pair.signpost) - before))
    assert "signpost_event" in added  # counted, anonymously, with the ward the record's postcode gave in memory
    assert "cds_feedback: " in added  # the accepted card, counted
    assert "E0501" in added
    assert not canary.traces_in(added) and PATIENT_ID not in added
    logged = pair.log.read_text()
    assert '"route": "/smart/callback"' in logged  # the logs were captured, at DEBUG
    assert not canary.traces_in(logged) and PATIENT_ID not in logged
