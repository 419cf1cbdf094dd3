"""FHIR R4 search as the specification says: declared parameters and modifiers, handling modes, AND/OR, links."""

from urllib.parse import parse_qsl, urlsplit

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key

STRICT = {"Prefer": "handling=strict"}


def _headers(session: Session, **extra: str) -> dict[str, str]:
    return {**bearer(make_key(session, "clinician")), **extra}


def _self(body: dict) -> str:  # type: ignore[type-arg]
    return next(link["url"] for link in body["link"] if link["relation"] == "self")


def _names(body: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(e["resource"]["name"] for e in body.get("entry", []) if e["search"]["mode"] == "match")


def test_links_use_the_configured_base_not_the_host_header(client: TestClient, session: Session) -> None:
    word = token()
    for i in range(3):
        make_service(session, name=f"{word} {i}")
    headers = _headers(session, Host="attacker.example")
    body = client.get("/fhir/HealthcareService", params={"name": word, "_count": 1}, headers=headers).json()
    urls = [link["url"] for link in body["link"]] + [e["fullUrl"] for e in body["entry"]]
    assert urls and all(u.startswith("http://127.0.0.1:8000/fhir/") for u in urls), urls
    statement = client.get("/fhir/metadata", headers={"Host": "attacker.example"}).json()
    assert "attacker.example" not in str(statement)
    assert statement["implementation"]["url"] == "http://127.0.0.1:8000/fhir"


def test_unknown_parameters_are_ignored_and_left_out_of_the_self_link(client: TestClient, session: Session) -> None:
    word = token()
    make_service(session, name=f"{word} a")
    body = client.get(
        "/fhir/HealthcareService",
        params={"name": word, "colour": "red", "name:fuzzy": "x", "organization.name": "y"},
        headers=_headers(session),
    ).json()
    assert body["total"] == 1
    assert parse_qsl(urlsplit(_self(body)).query) == [("name", word)]


def test_unknown_parameters_and_modifiers_are_400_under_strict_handling(client: TestClient, session: Session) -> None:
    for params in ({"colour": "red"}, {"service-category:text": "debt"}, {"organization.name": "x"}):
        response = client.get("/fhir/HealthcareService", params=params, headers=_headers(session, **STRICT))
        assert response.status_code == 400, params
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert next(iter(params)) in outcome["issue"][0]["diagnostics"]


def test_malformed_count_offset_and_dates_are_400_with_an_operation_outcome(
    client: TestClient, session: Session
) -> None:
    headers = _headers(session)
    for path, params in (
        ("/fhir/HealthcareService", {"_count": "abc"}),
        ("/fhir/HealthcareService", {"_count": "-1"}),
        ("/fhir/Organization", {"_offset": "x"}),
        ("/fhir/Location", {"_lastUpdated": "ge2026-02-30"}),
        ("/fhir/HealthcareService", {"_lastUpdated": "yesterday"}),
        ("/fhir/HealthcareService", {"_summary": "maybe"}),
        ("/fhir/Questionnaire", {"_count": "1.5"}),
        ("/fhir/Location", {"near": "north"}),
    ):
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 400, (path, params, response.status_code)
        assert response.json()["resourceType"] == "OperationOutcome"


def test_repeats_are_and_and_commas_are_or(client: TestClient, session: Session) -> None:
    word = token()
    make_service(session, name=f"{word} debt help", categories=["debt"])
    make_service(session, name=f"{word} food help", categories=["food"])
    make_service(session, name=f"{word} food and debt", categories=["food", "debt"])
    headers = _headers(session)
    both = client.get(
        "/fhir/HealthcareService",
        params=[("name", word), ("name:contains", "help"), ("name:contains", "food")],
        headers=headers,
    ).json()
    assert _names(both) == [f"{word} food help"]
    either = client.get(
        "/fhir/HealthcareService", params=[("name", word), ("service-category", "debt,food")], headers=headers
    ).json()
    assert either["total"] == 3
    all_of = client.get(
        "/fhir/HealthcareService",
        params=[("name", word), ("service-category", "debt"), ("service-category", "food")],
        headers=headers,
    ).json()
    assert _names(all_of) == [f"{word} food and debt"]
    without = client.get(
        "/fhir/HealthcareService", params=[("name", word), ("service-category:not", "debt")], headers=headers
    ).json()
    assert _names(without) == [f"{word} food help"]


def test_name_exact_and_contains(client: TestClient, session: Session) -> None:
    word = token()
    make_service(session, name=f"{word} Advice")
    make_service(session, name=f"{word} Advice Plus")
    headers = _headers(session)
    exact = client.get("/fhir/HealthcareService", params={"name:exact": f"{word} Advice"}, headers=headers).json()
    assert _names(exact) == [f"{word} Advice"]
    wrong_case = client.get("/fhir/HealthcareService", params={"name:exact": f"{word} advice"}, headers=headers)
    assert wrong_case.json()["total"] == 0
    contains = client.get("/fhir/HealthcareService", params={"name:contains": word[3:]}, headers=headers).json()
    assert contains["total"] == 2


def test_id_identifier_summary_count_and_elements(client: TestClient, session: Session) -> None:
    word = token()
    one = make_service(session, name=f"{word} one")
    two = make_service(session, name=f"{word} two")
    headers = _headers(session)
    by_id = client.get("/fhir/HealthcareService", params={"_id": f"{one.id},{two.id}"}, headers=headers).json()
    assert by_id["total"] == 2
    system = "https://signpost.example.org/fhir/directory/service"
    by_identifier = client.get(
        "/fhir/HealthcareService", params={"identifier": f"{system}|{two.id}"}, headers=headers
    ).json()
    assert [e["resource"]["id"] for e in by_identifier["entry"]] == [two.id]
    other_system = client.get(
        "/fhir/HealthcareService", params={"identifier": f"https://elsewhere.example|{two.id}"}, headers=headers
    ).json()
    assert other_system["total"] == 0
    counted = client.get("/fhir/HealthcareService", params={"name": word, "_summary": "count"}, headers=headers).json()
    assert counted["total"] == 2 and "entry" not in counted
    slim = client.get("/fhir/HealthcareService", params={"_id": one.id, "_elements": "name"}, headers=headers).json()
    resource = slim["entry"][0]["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "name"}
    assert {"code": "SUBSETTED"}.items() <= resource["meta"]["tag"][-1].items()


def test_include_brings_the_organization_and_location_once(client: TestClient, session: Session) -> None:
    word = token()
    service = make_service(session, name=f"{word} a", locations=[{"name": f"{word} hall", "city": "Leeds"}])
    body = client.get(
        "/fhir/HealthcareService",
        params={"_id": service.id, "_include": "HealthcareService:organization,HealthcareService:location"},
        headers=_headers(session),
    ).json()
    modes = sorted((e["search"]["mode"], e["resource"]["resourceType"]) for e in body["entry"])
    assert modes == [("include", "Location"), ("include", "Organization"), ("match", "HealthcareService")]
    assert body["total"] == 1
    strict = client.get(
        "/fhir/HealthcareService",
        params={"_include": "HealthcareService:endpoint"},
        headers=_headers(session, **STRICT),
    )
    assert strict.status_code == 400


def test_paging_links_keep_only_the_parameters_used(client: TestClient, session: Session) -> None:
    word = token()
    for i in range(5):
        make_service(session, name=f"{word} {i}")
    headers = _headers(session)
    body = client.get(
        "/fhir/HealthcareService", params={"name": word, "_count": 2, "ignored": "x"}, headers=headers
    ).json()
    seen = _names(body)
    links = {link["relation"]: link["url"] for link in body["link"]}
    while "next" in links:
        body = client.get(links["next"].removeprefix("http://127.0.0.1:8000"), headers=headers).json()
        assert "ignored" not in _self(body)
        seen += _names(body)
        links = {link["relation"]: link["url"] for link in body["link"]}
    assert seen == [f"{word} {i}" for i in range(5)]


def test_a_request_fastapi_cannot_parse_is_400_under_fhir(client: TestClient, session: Session) -> None:
    headers = {
        **bearer(make_key(session, "clinician", practice_ods="B86001")),
        "Content-Type": "application/fhir+json",
        "Idempotency-Key": "k" * 300,
    }
    response = client.post(
        "/fhir/QuestionnaireResponse/$signpost", json={"resourceType": "Parameters"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
