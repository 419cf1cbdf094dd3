"""`$signpost` bad input: a 4xx OperationOutcome naming the problem, and nothing stored."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from signpost.events.models import EventSubmission
from tests.factories import bearer, make_key
from tests.template.builders import ANSWER, make_response, need

PATH = "/fhir/QuestionnaireResponse/$signpost"
FHIR = {"Content-Type": "application/fhir+json"}


def submissions(session: Session) -> int:
    return session.exec(select(func.count()).select_from(EventSubmission)).one()


def clinician(session: Session) -> dict[str, str]:
    return bearer(make_key(session, "clinician", practice_ods="B86001"))


def with_extra_item(response: dict[str, Any]) -> dict[str, Any]:
    response["item"].append({"linkId": "nhs-number", "answer": [{"valueString": "943 476 5919"}]})
    return response


TEMPLATE = "https://signpost.example.org/fhir/Questionnaire/social-determinants"
CANONICAL = "QuestionnaireResponse.questionnaire"
POLISH = [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "pl"}}]
FIRST = "QuestionnaireResponse.item[0].answer[0]"
BAD_RESPONSES = {
    "another questionnaire": (make_response(questionnaire="https://example.org/Questionnaire/other"), CANONICAL),
    "another version": (make_response(questionnaire=f"{TEMPLATE}|2.0.0"), CANONICAL),
    "unknown linkId": (with_extra_item(make_response()), "QuestionnaireResponse.item[12]"),
    "wrong answer type": (make_response({"isolation": [(ANSWER, "none")]}), "QuestionnaireResponse.item[6].answer[0]"),
    "missing required": (make_response({"money": None}), "QuestionnaireResponse.item.where(linkId='money')"),
    "disabled answered": (make_response({"language": POLISH}), "QuestionnaireResponse.item[11]"),
    "code outside the value set": (make_response({"housing": [need("castle")]}), FIRST),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_RESPONSES))
def test_bad_response_is_422_naming_the_item_and_stores_nothing(
    client: TestClient, session: Session, case: str
) -> None:
    body, expression = BAD_RESPONSES[case]
    before = submissions(session)
    response = client.post(PATH, json={**body, "identifier": {"value": case}}, headers={**FHIR, **clinician(session)})
    assert response.status_code == 422, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert expression in [e for i in outcome["issue"] for e in i.get("expression", [])]
    assert submissions(session) == before


def test_not_a_questionnaire_response_is_400(client: TestClient, session: Session) -> None:
    response = client.post(PATH, json={"resourceType": "Patient"}, headers={**FHIR, **clinician(session)})
    assert response.status_code == 400
    assert "Patient" in response.json()["issue"][0]["diagnostics"]


def test_parameters_without_a_response_is_400(client: TestClient, session: Session) -> None:
    body = {"resourceType": "Parameters", "parameter": [{"name": "postcode", "valueString": "LS1 1AA"}]}
    response = client.post(PATH, json=body, headers={**FHIR, **clinician(session)})
    assert response.status_code == 400
    assert "response" in response.json()["issue"][0]["diagnostics"]


def test_not_json_is_400(client: TestClient, session: Session) -> None:
    response = client.post(PATH, content=b"{not json", headers={**FHIR, **clinician(session)})
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_non_fhir_media_type_is_415(client: TestClient, session: Session) -> None:
    headers = {"Content-Type": "application/xml", **clinician(session)}
    response = client.post(PATH, content=b"<QuestionnaireResponse/>", headers=headers)
    assert response.status_code == 415


def test_body_over_the_limit_is_413(client: TestClient, session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    body = make_response(text={"status": "generated", "div": "<div>" + "x" * settings.max_body_bytes + "</div>"})
    before = submissions(session)
    response = client.post(PATH, json=body, headers={**FHIR, **clinician(session)})
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    assert submissions(session) == before


def test_prescriber_may_not_signpost(client: TestClient, session: Session) -> None:
    key = make_key(session, "prescriber")
    response = client.post(PATH, json=make_response(), headers={**FHIR, **bearer(key)})
    assert response.status_code == 403


def test_no_key_is_401(client: TestClient) -> None:
    assert client.post(PATH, json=make_response(), headers=FHIR).status_code == 401


def test_an_idempotency_key_over_200_characters_is_400_and_stores_nothing(client: TestClient, session: Session) -> None:
    before = submissions(session)
    headers = {**FHIR, **clinician(session)}
    body = make_response({"work": [True]})
    response = client.post(PATH, json=body, headers={**headers, "Idempotency-Key": "k" * 201})
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "Idempotency-Key" in outcome["issue"][0]["diagnostics"]
    assert submissions(session) == before
    assert client.post(PATH, json=body, headers={**headers, "Idempotency-Key": "k" * 200}).status_code == 200
    assert submissions(session) == before + 1
