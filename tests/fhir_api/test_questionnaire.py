"""/fhir/Questionnaire: public read and search of the template."""

from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle

URL = "https://signpost.example.org/fhir/Questionnaire/social-determinants"


def test_template_is_read_without_a_key(client: TestClient) -> None:
    response = client.get("/fhir/Questionnaire/social-determinants")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.json()["url"] == URL


def test_unknown_questionnaire_is_404_outcome(client: TestClient) -> None:
    response = client.get("/fhir/Questionnaire/phq9")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_search_by_url_and_version_finds_the_template(client: TestClient) -> None:
    body = client.get("/fhir/Questionnaire", params={"url": URL, "version": "1.0.0", "status": "active"}).json()
    Bundle.model_validate(body)
    assert body["total"] == 1
    assert body["entry"][0]["resource"]["id"] == "social-determinants"


def test_search_by_pinned_canonical_of_another_version_finds_nothing(client: TestClient) -> None:
    body = client.get("/fhir/Questionnaire", params={"url": f"{URL}|0.1"}).json()
    assert body["total"] == 0


def test_search_by_retired_status_finds_nothing(client: TestClient) -> None:
    assert client.get("/fhir/Questionnaire", params={"status": "retired"}).json()["total"] == 0


def test_metadata_lists_questionnaire_search_params(client: TestClient) -> None:
    resources = {r["type"]: r for r in client.get("/fhir/metadata").json()["rest"][0]["resource"]}
    params = {p["name"] for p in resources["Questionnaire"]["searchParam"]}
    assert {"url", "version", "status"} <= params
