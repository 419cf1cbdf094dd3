"""`$validate` and `$extract`: checking and coding a response, counting nothing."""

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from signpost.events.models import SignpostEvent
from tests.factories import bearer, make_key
from tests.template.builders import make_response, need

FHIR = {"Content-Type": "application/fhir+json"}


def test_valid_response_gives_an_information_outcome(client: TestClient, session: Session) -> None:
    key = make_key(session, "clinician", practice_ods="B86001")
    response = client.post(
        "/fhir/QuestionnaireResponse/$validate", json=make_response(), headers={**FHIR, **bearer(key)}
    )
    assert response.status_code == 200
    assert [i["severity"] for i in response.json()["issue"]] == ["information"]


def test_invalid_response_lists_each_problem_with_its_expression(client: TestClient, session: Session) -> None:
    key = make_key(session, "prescriber")
    body = make_response({"work": ["yes"], "consent": None})
    issues = client.post("/fhir/QuestionnaireResponse/$validate", json=body, headers={**FHIR, **bearer(key)}).json()[
        "issue"
    ]
    assert [i["expression"][0] for i in issues] == [
        "QuestionnaireResponse.item[4].answer[0]",
        "QuestionnaireResponse.item.where(linkId='consent')",
    ]


def test_validate_accepts_parameters_with_a_resource(client: TestClient, session: Session) -> None:
    key = make_key(session, "editor")
    body = {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": make_response()}]}
    response = client.post("/fhir/QuestionnaireResponse/$validate", json=body, headers={**FHIR, **bearer(key)})
    assert response.json()["issue"][0]["severity"] == "information"


def test_validate_needs_a_key(client: TestClient) -> None:
    assert client.post("/fhir/QuestionnaireResponse/$validate", json=make_response(), headers=FHIR).status_code == 401


def test_extract_returns_observations_and_counts_nothing(client: TestClient, session: Session) -> None:
    key = make_key(session, "clinician", practice_ods="B86001")
    before = session.exec(select(func.count()).select_from(SignpostEvent)).one()
    body = make_response({"housing": [need("homeless")], "homeless-tonight": [True], "work": [True]})
    response = client.post("/fhir/QuestionnaireResponse/$extract", json=body, headers={**FHIR, **bearer(key)})
    assert response.status_code == 200
    bundle = response.json()
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Observation", "Observation"]
    assert session.exec(select(func.count()).select_from(SignpostEvent)).one() == before


def test_extract_of_invalid_response_is_422(client: TestClient, session: Session) -> None:
    key = make_key(session, "clinician", practice_ods="B86001")
    body = make_response({"consent": None})
    response = client.post("/fhir/QuestionnaireResponse/$extract", json=body, headers={**FHIR, **bearer(key)})
    assert response.status_code == 422
    assert response.json()["resourceType"] == "OperationOutcome"
