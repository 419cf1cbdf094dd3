"""`$signpost`: services with reasons, draft requests, observations, leaflet and SMS; one event per need."""

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session, func, select

from signpost.events.models import SignpostEvent
from tests.factories import bearer, load_test_geography, make_key
from tests.routing.factories import make_service
from tests.template.builders import ALL_NEEDS, ans, make_response, need

FHIR = {"Content-Type": "application/fhir+json"}
PATH = "/fhir/QuestionnaireResponse/$signpost"


def clinician(session: Session) -> dict[str, str]:
    return {**FHIR, **bearer(make_key(session, "clinician", practice_ods="B86001"))}


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def event_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(SignpostEvent)).one()


def parameters(response: dict[str, Any], **values: str) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"name": "response", "resource": response}]
    if "postcode" in values:
        params.append({"name": "postcode", "valueString": values["postcode"]})
    if "birthDate" in values:
        params.append({"name": "birthDate", "valueDate": values["birthDate"]})
    return {"resourceType": "Parameters", "parameter": params}


def leaflet(bundle: dict[str, Any]) -> tuple[str, str, str]:
    [document] = resources(bundle, "DocumentReference")
    text, page = (base64.b64decode(c["attachment"]["data"]).decode() for c in document["content"])
    sms = resources(bundle, "Communication")  # none when there is nothing to send or no phone to send it to
    return text, page, sms[0]["payload"][0]["contentString"] if sms else ""


def test_signpost_answers_a_valid_collection_bundle(client: TestClient, session: Session) -> None:
    food = make_service(
        session, "Food Bank", ["food"], url="https://food.example.org", description="Parcels and a hot meal."
    )
    body = make_response({"food-worried": [ans("often-true")], "food-today": [False]}, identifier={"value": "qr-a1"})
    response = client.post(PATH, json=body, headers=clinician(session))
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    [service] = resources(bundle, "HealthcareService")
    assert service["id"] == food.id
    assert any(e["valueString"] == "Helps with food insecurity" for e in service["extension"])
    assert service["telecom"] == [
        {"system": "phone", "value": "0113 000 0000"},
        {"system": "url", "value": "https://food.example.org"},
    ]
    assert service["comment"] == "Parcels and a hot meal."
    assert "- Food Bank\n  Phone: 0113 000 0000\n  Website: https://food.example.org" in leaflet(bundle)[0]
    [request] = resources(bundle, "ServiceRequest")
    assert (request["status"], request["intent"]) == ("draft", "proposal")
    assert request["reasonCode"][0]["coding"][0]["code"] == "food-insecurity"
    assert request["performer"][0]["reference"] == f"HealthcareService/{food.id}"
    [observation] = resources(bundle, "Observation")
    assert observation["derivedFrom"][0]["identifier"] == {"value": "qr-a1"}


def test_one_event_per_need_with_practice_and_services(client: TestClient, session: Session) -> None:
    jobs = make_service(session, "Jobs Club", ["employment"])
    before = event_count(session)
    body = make_response({"work": [True], "isolation": [True]}, identifier={"value": "qr-b2"})
    client.post(PATH, json=body, headers=clinician(session))
    rows = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc()).limit(2)).all()  # type: ignore[union-attr]
    assert event_count(session) == before + 2
    by_need = {r.need_code: r for r in rows}
    assert by_need["unemployment"].services_offered == [jobs.id]
    assert by_need["unemployment"].category_code == "employment"
    assert {r.practice_ods for r in rows} == {"B86001"}
    assert {(r.source, r.kind) for r in rows} == {("template", "signposted")}


def test_retry_with_same_identifier_is_answered_the_same_and_counted_once(client: TestClient, session: Session) -> None:
    make_service(session, "Jobs Club", ["employment"])
    headers = clinician(session)
    body = make_response({"work": [True]}, identifier={"system": "urn:emis", "value": "qr-c3"})
    before = event_count(session)
    first = client.post(PATH, json=body, headers=headers).json()
    second = client.post(PATH, json=body, headers=headers).json()
    assert event_count(session) == before + 1
    assert first["entry"] == second["entry"]


def test_idempotency_key_header_recognises_a_retry(client: TestClient, session: Session) -> None:
    headers = {**clinician(session), "Idempotency-Key": "retry-7"}
    before = event_count(session)
    for _ in range(3):
        client.post(PATH, json=make_response({"isolation": [True]}), headers=headers)
    assert event_count(session) == before + 1


def test_no_identifier_is_counted_but_warned(client: TestClient, session: Session) -> None:
    bundle = client.post(PATH, json=make_response({"isolation": [True]}), headers=clinician(session)).json()
    [outcome] = resources(bundle, "OperationOutcome")
    assert any("retry would be counted again" in i["diagnostics"] for i in outcome["issue"])


def test_unknown_postcode_counts_ward_unknown_with_a_warning(client: TestClient, session: Session) -> None:
    body = parameters(make_response({"isolation": [True]}, identifier={"value": "qr-d4"}), postcode="ZZ99 9ZZ")
    bundle = client.post(PATH, json=body, headers=clinician(session)).json()
    event = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and (event.ward_code, event.imd_decile) == (None, None)
    [outcome] = resources(bundle, "OperationOutcome")
    assert outcome["issue"][0]["severity"] == "warning"


def test_malformed_postcode_is_not_an_error(client: TestClient, session: Session) -> None:
    body = parameters(make_response({"isolation": [True]}, identifier={"value": "qr-e5"}), postcode="not a postcode!")
    response = client.post(PATH, json=body, headers=clinician(session))
    assert response.status_code == 200
    assert "not a UK postcode" in str(resources(response.json(), "OperationOutcome"))


def test_known_postcode_and_birth_date_give_ward_decile_and_age_band(client: TestClient, session: Session) -> None:
    load_test_geography(session)
    body = parameters(
        make_response({"isolation": [True]}, identifier={"value": "qr-f6"}), postcode="LS7 0ZD", birthDate="1980-05-01"
    )
    client.post(PATH, json=body, headers=clinician(session))
    event = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None
    assert (event.ward_code, event.imd_decile, event.age_band) == ("E05011390", 5, "45-54")


def test_contained_patient_gives_postcode_and_birth_date(client: TestClient, session: Session) -> None:
    load_test_geography(session)
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "2001-02-03", "address": [{"postalCode": "LS11 0ZA"}]}
    body = make_response(
        {"isolation": [True]}, identifier={"value": "qr-g7"}, contained=[patient], subject={"reference": "#p"}
    )
    response = client.post(PATH, json=body, headers=clinician(session))
    assert response.status_code == 200, response.text
    event = session.exec(select(SignpostEvent).order_by(SignpostEvent.id.desc())).first()  # type: ignore[union-attr]
    assert event is not None and (event.imd_decile, event.age_band) == (1, "25-34")


def test_urgent_need_request_is_urgent(client: TestClient, session: Session) -> None:
    make_service(session, "Shelter", ["homelessness"], open_days=["MO", "TU", "WE", "TH", "FR", "SA", "SU"])
    body = make_response({"housing": [need("homeless")], "homeless-tonight": [True]}, identifier={"value": "qr-h8"})
    bundle = client.post(PATH, json=body, headers=clinician(session)).json()
    [request] = resources(bundle, "ServiceRequest")
    assert request["priority"] == "urgent"
    assert "Open today" in request["note"][0]["text"]


def test_sms_fits_612_characters_and_never_names_a_sensitive_need(client: TestClient, session: Session) -> None:
    for n in range(3):
        make_service(session, f"Leeds Domestic Violence Service {n}", ["domestic-abuse"])
    for category in ["food", "housing", "homelessness", "welfare-benefits", "debt", "employment", "isolation"]:
        for n in range(3):
            make_service(session, f"{category.title()} Advice With A Long Name Number {n}", [category])
    body = make_response(ALL_NEEDS, identifier={"value": "qr-i9"})
    bundle = client.post(PATH, json=body, headers=clinician(session)).json()
    text, page, sms = leaflet(bundle)
    assert 0 < len(sms) <= 612
    for word in ("domestic", "abuse", "violence", "Domestic"):
        assert word not in sms
        assert word not in text
    assert '<html lang="en">' in page and "<h1>" in page
    assert any("Domestic Violence" in s["name"] for s in resources(bundle, "HealthcareService"))


def test_refused_consent_offers_nothing_and_counts_nothing(client: TestClient, session: Session) -> None:
    make_service(session, "Jobs Club", ["employment"])
    before = event_count(session)
    body = make_response({"work": [True], "consent": [False]}, identifier={"value": "qr-j10"})
    bundle = client.post(PATH, json=body, headers=clinician(session)).json()
    assert resources(bundle, "ServiceRequest") == []
    assert len(resources(bundle, "Observation")) == 1
    assert event_count(session) == before


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"housing": [need("homeless")], "homeless-tonight": [False]}, "homeless"),
        ({"housing": [need("housing-at-risk")]}, "housing-at-risk"),
        ({"housing": [need("temporary-accommodation")]}, "temporary-accommodation"),
        ({"housing": [need("housing-conditions")]}, "housing-conditions"),
        ({"housing": [need("overcrowding")]}, "overcrowding"),
        ({"money": [need("money-essentials")], "benefits-check": [False]}, "money-essentials"),
        ({"money": [need("money-essentials")], "benefits-check": [True]}, "benefits-check"),
        ({"money": [need("debt-priority")], "debt-types": [ans("rent-arrears")]}, "debt-priority"),
        ({"money": [need("fuel-poverty")]}, "fuel-poverty"),
        ({"food-ran-out": [ans("often-true")], "food-today": [True]}, "food-insecurity"),
        ({"work": [True]}, "unemployment"),
        ({"household": [need("carer")]}, "carer"),
        ({"household": [need("early-years")]}, "early-years"),
        ({"isolation": [True]}, "isolation"),
        ({"legal-immigration": [True]}, "legal-immigration"),
        ({"domestic-abuse": [True], "at-risk-now": [False]}, "domestic-abuse"),
        (
            {
                "access": [need("interpreter")],
                "language": [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "ur"}}],
            },
            "interpreter",
        ),
        ({"access": [ans("phone-only")]}, "digital-exclusion"),
        ({"access": [ans("no-phone")]}, "digital-exclusion"),
    ],
)
def test_every_answer_path_against_the_starter_directory(
    client: TestClient, session: Session, overrides: dict[str, Any], expected: str
) -> None:
    from signpost.directory import starter

    starter.load(session=session)
    body = make_response(overrides, identifier={"value": f"path-{expected}-{len(str(overrides))}"})
    response = client.post(PATH, json=body, headers=clinician(session))
    assert response.status_code == 200, response.text
    bundle = response.json()
    Bundle.model_validate(bundle)
    reasons = [c["code"] for r in resources(bundle, "ServiceRequest") for c in r["reasonCode"][0]["coding"]]
    observed = [c["code"] for o in resources(bundle, "Observation") for c in o["code"]["coding"]]
    assert expected in observed
    assert set(reasons) <= set(observed)
    assert len(leaflet(bundle)[2]) <= 612
