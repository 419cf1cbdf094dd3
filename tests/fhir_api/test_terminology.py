"""CodeSystem, ValueSet ($expand) and ConceptMap reads, public."""

from fastapi.testclient import TestClient
from fhir.resources.R4B.valueset import ValueSet

BASE = "https://signpost.example.org/fhir"


def test_need_codesystem_is_read_without_a_key(client: TestClient) -> None:
    body = client.get("/fhir/CodeSystem/social-need").json()
    assert body["url"] == f"{BASE}/CodeSystem/social-need"
    assert len(body["concept"]) == 18


def test_valueset_expands_by_canonical_url(client: TestClient) -> None:
    response = client.get("/fhir/ValueSet/$expand", params={"url": f"{BASE}/ValueSet/housing-situation"})
    assert response.status_code == 200
    body = response.json()
    ValueSet.model_validate(body)
    codes = {c["code"] for c in body["expansion"]["contains"]}
    assert {"none", "homeless", "overcrowding"} <= codes
    assert body["expansion"]["total"] == len(codes)


def test_valueset_of_a_whole_codesystem_expands_to_every_code(client: TestClient) -> None:
    body = client.get("/fhir/ValueSet/social-need/$expand").json()
    assert body["expansion"]["total"] == 18


def test_expand_filter_narrows_by_display(client: TestClient) -> None:
    body = client.get("/fhir/ValueSet/interpreter-language/$expand", params={"filter": "pol"}).json()
    assert [c["code"] for c in body["expansion"]["contains"]] == ["pl"]


def test_expand_of_unknown_url_is_404_naming_the_url(client: TestClient) -> None:
    response = client.get("/fhir/ValueSet/$expand", params={"url": f"{BASE}/ValueSet/nope"})
    assert response.status_code == 404
    assert "nope" in response.json()["issue"][0]["diagnostics"]


def test_routing_concept_map_is_read_without_a_key(client: TestClient) -> None:
    body = client.get("/fhir/ConceptMap/need-to-service-category").json()
    assert body["group"][0]["target"] == f"{BASE}/CodeSystem/service-category"


def test_unknown_codesystem_is_404(client: TestClient) -> None:
    assert client.get("/fhir/CodeSystem/nope").status_code == 404
