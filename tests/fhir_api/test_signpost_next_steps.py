"""`$signpost` on the starter directory: every need, under every access answer, ends with an offer or an issue that
names it; urgent needs carry Act now; the leaflet lists each service and each link once; no SMS without a phone."""

import base64
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session

from signpost.directory import starter
from tests.fhir_api.test_questionnaire_response_signpost import PATH, clinician, resources
from tests.template.builders import ALL_NEEDS, ans, make_response, need

URDU = [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "ur", "display": "Urdu"}}]
ACCESS: dict[str, dict[str, list[Any]]] = {
    "none": {"access": [ans("none")]},
    "interpreter": {"access": [need("interpreter")], "language": URDU},
    "phone-only": {"access": [ans("phone-only")]},
    "no-phone": {"access": [ans("no-phone")]},
}
NEEDS: dict[str, dict[str, list[Any]]] = {
    "homeless-tonight": {"housing": [need("homeless")], "homeless-tonight": [True]},
    "homeless": {"housing": [need("homeless")], "homeless-tonight": [False]},
    "housing-at-risk": {"housing": [need("housing-at-risk")]},
    "temporary-accommodation": {"housing": [need("temporary-accommodation")]},
    "housing-conditions": {"housing": [need("housing-conditions")]},
    "overcrowding": {"housing": [need("overcrowding")]},
    "money-essentials": {"money": [need("money-essentials")], "benefits-check": [False]},
    "benefits-check": {"money": [need("money-essentials")], "benefits-check": [True]},
    "debt-priority": {"money": [need("debt-priority")], "debt-types": [ans("rent-arrears")]},
    "fuel-poverty": {"money": [need("fuel-poverty")]},
    "food-today": {"food-ran-out": [ans("often-true")], "food-today": [True]},
    "food-insecurity": {"food-worried": [ans("sometimes-true")], "food-today": [False]},
    "unemployment": {"work": [True]},
    "carer": {"household": [need("carer")]},
    "early-years": {"household": [need("early-years")]},
    "isolation": {"isolation": [True]},
    "legal-immigration": {"legal-immigration": [True]},
    "at-risk-now": {"domestic-abuse": [True], "at-risk-now": [True]},
    "domestic-abuse": {"domestic-abuse": [True], "at-risk-now": [False]},
}
URGENT = {"homeless-tonight": "homeless", "food-today": "food-insecurity", "at-risk-now": "domestic-abuse"}


def signposted(client: TestClient, session: Session, answers: dict[str, Any], name: str) -> dict[str, Any]:
    starter.load(session=session)
    body = make_response(answers, identifier={"value": f"next-step-{name}"})
    response = client.post(PATH, json=body, headers=clinician(session))
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    return bundle


def issues_for(bundle: dict[str, Any], code: str) -> list[str]:
    [outcome] = resources(bundle, "OperationOutcome")
    return [
        i["diagnostics"]
        for i in outcome["issue"]
        if any(c.get("code") == code for c in (i.get("details") or {}).get("coding", []))
    ]


def requests_for(bundle: dict[str, Any], code: str, priority: str | None = None) -> list[dict[str, Any]]:
    return [
        r
        for r in resources(bundle, "ServiceRequest")
        if r["reasonCode"][0]["coding"][0]["code"] == code and (priority is None or r["priority"] == priority)
    ]


def leaflet_text(bundle: dict[str, Any]) -> str:
    [document] = resources(bundle, "DocumentReference")
    return base64.b64decode(document["content"][0]["attachment"]["data"]).decode()


@pytest.mark.parametrize("access", list(ACCESS))
@pytest.mark.parametrize("path", list(NEEDS))
def test_every_need_under_every_access_answer_ends_with_a_next_step(
    client: TestClient, session: Session, path: str, access: str
) -> None:
    bundle = signposted(client, session, {**NEEDS[path], **ACCESS[access]}, f"{path}-{access}")
    needs = [o["code"]["coding"][0]["code"] for o in resources(bundle, "Observation")]
    assert needs, "the answers found no need"
    for code in needs:
        offered = requests_for(bundle, code)
        said = issues_for(bundle, code)
        assert offered or said, f"{code} ({access}) has neither an offer nor an issue naming it"
        if not requests_for(bundle, code, "routine") and not requests_for(bundle, code, "urgent"):
            assert any("No service for" in text for text in said), said
    if path in URGENT:
        code = URGENT[path]
        [flag] = [f for f in resources(bundle, "Flag") if f["code"]["coding"][0]["code"] == code]
        assert flag["status"] == "active"
        act_now = requests_for(bundle, code, "asap")
        assert act_now or any("No 24-hour or same-day service" in text for text in issues_for(bundle, code))
        if path == "at-risk-now":
            assert any("call 999" in text for text in issues_for(bundle, code))
    else:
        assert resources(bundle, "Flag") == []
    # Urgency is never a lab-style interpretation of the Observation.
    assert all("interpretation" not in o for o in resources(bundle, "Observation"))


def test_starter_directory_gives_24_hour_services_for_risk_of_harm_even_without_a_phone(
    client: TestClient, session: Session
) -> None:
    bundle = signposted(client, session, {**NEEDS["at-risk-now"], **ACCESS["no-phone"]}, "harm-no-phone")
    names = [r["performer"][0]["display"] for r in requests_for(bundle, "domestic-abuse", "asap")]
    assert names == ["Leeds 24-hour domestic violence and abuse helpline", "National Domestic Abuse Helpline"]
    assert issues_for(bundle, "domestic-abuse")[0] == (
        "Act now (Domestic abuse): if the patient is in danger now, call 999."
    )


def test_leaflet_lists_each_service_once_and_each_link_once(client: TestClient, session: Session) -> None:
    bundle = signposted(client, session, ALL_NEEDS, "leaflet-once")
    text = leaflet_text(bundle)
    services = re.findall(r"^- (.+)$", text, flags=re.MULTILINE)
    listed = [s for s in services if not s.endswith("(see above)")]
    assert len(listed) == len(set(listed)) > 3
    links = re.findall(r"https?://\S+", text)
    assert len(links) == len(set(links)) > 0
    assert "Help with food" in text and "Food insecurity" not in text
    assert "From your GP practice, " in text and "Act now: today" in text
    for word in ("domestic", "abuse", "violence", "999"):
        assert word not in text.lower()


def test_the_leaflet_names_the_practice_when_it_is_known(client: TestClient, session: Session, settings: Any) -> None:
    settings.practice_names = {"B86001": "Chapel Allerton Surgery"}
    try:
        bundle = signposted(client, session, NEEDS["unemployment"], "practice-name")
    finally:
        settings.practice_names = {}
    assert re.search(r"^From Chapel Allerton Surgery, \d{1,2} [A-Z][a-z]+ \d{4}\.$", leaflet_text(bundle), re.MULTILINE)


def test_no_text_message_for_a_patient_with_no_phone(client: TestClient, session: Session) -> None:
    bundle = signposted(client, session, {**NEEDS["carer"], **ACCESS["no-phone"]}, "sms-no-phone")
    assert resources(bundle, "Communication") == []
    [outcome] = resources(bundle, "OperationOutcome")
    assert any(i["diagnostics"] == "No text message: the patient has no phone." for i in outcome["issue"])


def test_text_message_when_the_patient_has_a_phone_fits_612(client: TestClient, session: Session) -> None:
    bundle = signposted(client, session, {**ALL_NEEDS, **ACCESS["phone-only"], "language": None}, "sms-phone")
    [sms] = resources(bundle, "Communication")
    message = sms["payload"][0]["contentString"]
    assert 0 < len(message) <= 612
    assert "0113 246 0401" not in message and "Domestic" not in message


def test_refused_consent_says_so_and_makes_no_leaflet_or_text(client: TestClient, session: Session) -> None:
    bundle = signposted(client, session, {**NEEDS["homeless-tonight"], "consent": [False]}, "consent-no")
    [outcome] = resources(bundle, "OperationOutcome")
    assert any(i["diagnostics"].startswith("The patient did not agree to be signposted") for i in outcome["issue"])
    assert resources(bundle, "DocumentReference") == [] and resources(bundle, "Communication") == []
    assert resources(bundle, "ServiceRequest") == []
