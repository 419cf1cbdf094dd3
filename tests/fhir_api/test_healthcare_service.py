"""FHIR HealthcareService read and search over the directory."""

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.healthcareservice import HealthcareService

from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key, sql_sent


def _clinician(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_key(session, "clinician"))


def test_read_is_a_valid_healthcare_service_with_category_and_lgsl_type(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session, phones=[{"number": "0113 000 0000"}], minimum_age=18)
    response = client.get(f"/fhir/HealthcareService/{service.id}", headers=_clinician(session))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    HealthcareService.model_validate(body)
    assert body["category"][0]["coding"][0]["code"] == "debt"
    assert {c["coding"][0]["code"] for c in body["type"]} == {"651", "352"}
    assert body["telecom"][0] == {"system": "phone", "value": "0113 000 0000"}
    assert body["eligibility"][0]["code"]["text"] == "Ages 18 and over"


def test_unverified_state_is_carried_in_an_extension(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    body = client.get(f"/fhir/HealthcareService/{service.id}", headers=_clinician(session)).json()
    inner = body["extension"][0]["extension"]
    assert {"url": "state", "valueCode": "unverified"} in inner


def test_search_by_name_and_category_returns_a_searchset(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} debt", categories=["debt"])
    make_service(session, name=f"{word} food", categories=["food"])
    params = {"name": word, "service-category": "https://signpost.example.org/fhir/CodeSystem/service-category|food"}
    body = client.get("/fhir/HealthcareService", params=params, headers=_clinician(session)).json()
    Bundle.model_validate(body)
    assert body["total"] == 1
    assert body["entry"][0]["resource"]["name"] == f"{word} food"


def test_search_by_service_type_uses_lgsl_ids(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} energy", categories=["fuel-energy"])
    body = client.get(
        "/fhir/HealthcareService", params={"name": word, "service-type": "269"}, headers=_clinician(session)
    ).json()
    assert body["total"] == 1


def test_search_active_false_finds_retired_services(client, session) -> None:  # type: ignore[no-untyped-def]
    from signpost.directory import service as directory

    word = token()
    retired = make_service(session, name=f"{word} old")
    make_service(session, name=f"{word} new")
    directory.retire_service(session=session, service_id=retired.id, actor="t", expected_version=1)
    body = client.get(
        "/fhir/HealthcareService", params={"name": word, "active": "false"}, headers=_clinician(session)
    ).json()
    assert [e["resource"]["id"] for e in body["entry"]] == [retired.id]


def test_paging_gives_next_link(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    for i in range(3):
        make_service(session, name=f"{word} {i}")
    body = client.get("/fhir/HealthcareService", params={"name": word, "_count": 2}, headers=_clinician(session)).json()
    assert body["total"] == 3 and len(body["entry"]) == 2
    assert any(link["relation"] == "next" for link in body["link"])


def test_last_updated_filters_by_date(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} x")
    headers = _clinician(session)
    later = client.get(
        "/fhir/HealthcareService", params={"name": word, "_lastUpdated": "ge2099-01-01"}, headers=headers
    )
    earlier = client.get(
        "/fhir/HealthcareService", params={"name": word, "_lastUpdated": "ge2020-01-01"}, headers=headers
    )
    assert later.json()["total"] == 0 and earlier.json()["total"] == 1


def test_bad_last_updated_is_400_operation_outcome(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/HealthcareService", params={"_lastUpdated": "yesterday"}, headers=_clinician(session))
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_unknown_id_is_404_operation_outcome(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/fhir/HealthcareService/nope", headers=_clinician(session))
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_read_needs_a_key(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/fhir/HealthcareService").status_code == 401


def _statements_for_search(client, session, params: dict[str, str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(entries on the page, SQL statements the search ran)."""
    headers = _clinician(session)
    with sql_sent(session.connection().engine) as ran:
        body = client.get("/fhir/HealthcareService", params=params, headers=headers).json()
    return len(body.get("entry", [])), len(ran)


def test_a_search_page_reads_the_directory_in_the_same_statements_however_many_services_it_holds(
    client,  # type: ignore[no-untyped-def]
    session,
) -> None:
    few, many = token(), token()
    for i in range(2):
        make_service(session, name=f"{few} {i}", phones=[{"number": "0113 000 0000"}])
    for i in range(12):
        make_service(session, name=f"{many} {i}", phones=[{"number": "0113 000 0000"}])
    small = _statements_for_search(client, session, {"name": few, "_include": "HealthcareService:organization"})
    large = _statements_for_search(client, session, {"name": many, "_include": "HealthcareService:organization"})
    assert (small[0], large[0]) == (4, 24)  # services and their organisations
    assert large[1] == small[1]
