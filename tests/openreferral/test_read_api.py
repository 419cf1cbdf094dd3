"""The Open Referral UK read API: public, CORS open, ORUK 3.0 envelope and required fields."""

from typing import Any

import pytest

from tests.openreferral import uk_profile
from tests.openreferral.factories import load, oruk_service


def conforms(instance: Any, endpoint: str) -> None:
    """The answer meets the official UK profile schemas, formats included."""
    assert uk_profile.problems(endpoint, instance) == []


def test_root_declares_the_uk_profile_and_version(client):
    body = client.get("/openreferral/").json()
    assert body["version"] == "3.0"
    assert "openreferraluk/uk-profile" in body["profile"].lower()


def test_services_answer_without_a_key_with_cors_open(client, session):
    load(session, oruk_service())
    response = client.get("/openreferral/services", headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"


def test_service_list_page_holds_the_profile_required_fields(client, session):
    load(session, oruk_service(), oruk_service())
    body = client.get("/openreferral/services?per_page=1").json()
    conforms(body, "/services")
    assert body["size"] == 1 and body["first_page"] is True


def test_service_list_pages_through_every_service(client, session):
    load(session, *(oruk_service(name=f"Paging test {i}") for i in range(3)))
    first = client.get("/openreferral/services?search=paging test&per_page=2&page=1").json()
    second = client.get("/openreferral/services?search=paging test&per_page=2&page=2").json()
    assert (first["total_items"], first["total_pages"], first["last_page"]) == (3, 2, False)
    assert second["last_page"] is True and second["size"] == 1
    names = {s["name"] for s in first["contents"] + second["contents"]}
    assert names == {"Paging test 0", "Paging test 1", "Paging test 2"}


def test_full_service_nests_organization_locations_terms_and_contacts(client, session):
    record = oruk_service()
    load(session, record)
    body = client.get(f"/openreferral/services/{record['id']}").json()
    conforms(body, "/services/{id}")
    assert body["organization"]["name"] == "Example Advice Trust"
    assert body["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "LS1 1UR"
    assert body["attributes"][0]["taxonomy_term"]["code"] == "housing"
    assert body["contacts"][0]["phones"][0]["number"] == "0113 000 0000"
    assert [s["byday"] for s in body["schedules"] if "byday" in s] == ["MO", "TU"]
    # Holidays go out as ORUK 3.0 dated schedules on no weekday; a closure has no times.
    dated = [(s["valid_from"], s["valid_to"], s.get("opens_at")) for s in body["schedules"] if "byday" not in s]
    assert dated == [("2026-12-24", "2026-12-24", "10:00"), ("2026-12-25", "2026-12-26", None)]
    assert body["languages"][0]["code"] == "pl"
    assert body["cost_options"][0]["amount"] == 0
    assert body["service_areas"][0]["extent"] == "E08000035"
    assert body["description"] == "Free housing and benefits advice."


def test_unknown_service_is_404_problem(client):
    response = client.get("/openreferral/services/no-such-id")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_text_search_finds_by_name_and_the_oruk1_parameter_works(client, session):
    load(session, oruk_service(name="Zebra Crossing Debt Help"), oruk_service(name="Other thing"))
    for param in ("search", "text"):
        body = client.get(f"/openreferral/services?{param}=zebra crossing").json()
        assert [s["name"] for s in body["contents"]] == ["Zebra Crossing Debt Help"]


def test_taxonomy_term_filter_selects_linked_services(client, session):
    tagged = oruk_service(name="Tagged service")
    untagged = oruk_service(name="Untagged service", attributes=[])
    load(session, tagged, untagged)
    body = client.get("/openreferral/services?taxonomy_term_id=test-housing&per_page=200").json()
    names = {s["name"] for s in body["contents"]}
    assert "Tagged service" in names and "Untagged service" not in names


def test_age_filters_keep_services_open_to_that_range(client, session):
    load(
        session,
        oruk_service(name="Age test children", minimum_age=0, maximum_age=15),
        oruk_service(name="Age test adults", minimum_age=18, maximum_age=None),
    )
    body = client.get("/openreferral/services?search=age test&minimum_age=30&maximum_age=40").json()
    assert [s["name"] for s in body["contents"]] == ["Age test adults"]


def test_minimum_age_above_maximum_age_is_a_problem_naming_the_field(client):
    response = client.get("/openreferral/services?minimum_age=40&maximum_age=30")
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "minimum_age"]


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=100000"])
def test_bad_paging_is_a_problem_not_a_crash(client, query):
    response = client.get(f"/openreferral/services?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_organizations_taxonomies_and_terms_are_paged_with_required_fields(client, session):
    load(session, oruk_service())
    for path in ("/organizations", "/taxonomies", "/taxonomy_terms"):
        body = client.get(f"/openreferral{path}?per_page=200").json()
        conforms(body, path)
        assert body["contents"], path


def test_service_at_locations_list_service_and_location(client, session):
    record = oruk_service()
    load(session, record)
    body = client.get("/openreferral/service_at_locations?per_page=200").json()
    conforms(body, "/service_at_locations")
    mine = [x for x in body["contents"] if x["service_id"] == record["id"]]
    assert len(mine) == 1


def test_malformed_postcode_is_a_problem_naming_postcode(client):
    response = client.get("/openreferral/service_at_locations?postcode=not-a-postcode")
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "postcode"]


def test_proximity_without_postcode_is_a_problem(client):
    response = client.get("/openreferral/service_at_locations?proximity=1000")
    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "proximity"]


def test_retired_services_are_not_listed(client, session):
    from datetime import UTC, datetime

    from signpost.directory.models import Service

    record = oruk_service(name="Retired listing test")
    load(session, record)
    session.get(Service, record["id"]).retired_at = datetime.now(UTC)
    session.flush()
    body = client.get("/openreferral/services?search=retired listing test").json()
    assert body["total_items"] == 0 and body["empty"] is True


def test_cors_preflight_is_answered_for_any_origin(client):
    response = client.options(
        "/openreferral/services",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code in (200, 204)
    assert response.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    "path",
    [
        "/openreferral/services",
        "/openreferral/services/{id}",
        "/openreferral/taxonomies",
        "/openreferral/taxonomy_terms",
        "/openreferral/organizations",
        "/openreferral/service_at_locations",
    ],
)
def test_a_read_takes_one_turn_on_the_route_threads(client, session, thread_turns, path):
    # Blocking routes queue for a few threads; checking the answer against the response model was a second turn in
    # that queue, behind every other request's (bench/README.md, "Soak"). Ending the session is not counted: the app
    # does that in threads of its own, the test's session in any thread.
    load(session, oruk_service(id="one-turn-service"))
    response = client.get(path.format(id="one-turn-service"))
    assert response.status_code == 200, response.text
    turns = [name for name in thread_turns if name not in ("commit", "rollback", "close")]
    assert len(turns) == 1, turns
