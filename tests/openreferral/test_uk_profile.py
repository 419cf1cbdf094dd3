"""Every /openreferral answer meets the official UK profile schemas; the profile's filters and paging work."""

import math
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.directory.factories import token
from tests.openreferral import uk_profile
from tests.openreferral.factories import load, oruk_service


def _tagged(word: str, **overrides):  # type: ignore[no-untyped-def]
    return oruk_service(name=f"{word} {uuid.uuid4().hex[:6]}", **overrides)


def test_every_endpoint_conforms_with_format_checks(client: TestClient, session: Session) -> None:
    word = token()
    bare = _tagged(word, url="", email="")
    located = _tagged(word)
    located["service_at_locations"][0]["location"]["addresses"][0]["state_province"] = "West Yorkshire"
    load(session, bare, located)
    answers = {
        "/": client.get("/openreferral/").json(),
        "/services": client.get("/openreferral/services", params={"search": word}).json(),
        "/taxonomies": client.get("/openreferral/taxonomies").json(),
        "/taxonomy_terms": client.get("/openreferral/taxonomy_terms", params={"per_page": 200}).json(),
        "/organizations": client.get("/openreferral/organizations", params={"per_page": 200}).json(),
        "/service_at_locations": client.get("/openreferral/service_at_locations", params={"per_page": 200}).json(),
    }
    for kind, body in answers.items():
        assert uk_profile.problems(kind, body) == [], kind
    for record in (bare, located):
        full = client.get(f"/openreferral/services/{record['id']}").json()
        assert uk_profile.problems("/services/{id}", full) == []
    full_bare = client.get(f"/openreferral/services/{bare['id']}").json()
    assert "url" not in full_bare and "email" not in full_bare
    address = client.get(f"/openreferral/services/{located['id']}").json()["service_at_locations"][0]["location"][
        "addresses"
    ][0]
    assert address["state_province"] == "West Yorkshire"
    assert uuid.UUID(address["id"]) and not address["id"].endswith("-address")


def test_the_checker_really_checks_formats() -> None:
    page = {
        "total_items": 1,
        "total_pages": 1,
        "page_number": 1,
        "size": 1,
        "first_page": True,
        "last_page": True,
        "empty": False,
        "contents": [{"id": "not-a-uuid", "name": "x", "status": "active", "url": ""}],
    }
    found = uk_profile.problems("/services", page)
    assert any("uuid" in p for p in found) and any("uri" in p for p in found)


def test_taxonomy_ids_are_stable_uuids_and_filter_services(client: TestClient, session: Session) -> None:
    word = token()
    housing = _tagged(word)  # its term is held as "test-housing", a non-UUID id from the feed
    other = _tagged(word, attributes=[])
    load(session, housing, other)
    taxonomies = client.get("/openreferral/taxonomies").json()["contents"]
    ids = {t["name"]: t["id"] for t in taxonomies}
    assert all(uuid.UUID(i) for i in ids.values())
    assert client.get("/openreferral/taxonomies").json()["contents"] == taxonomies
    full = client.get(f"/openreferral/services/{housing['id']}").json()
    # The service may carry the directory's own category terms too; the feed's term is the one in its taxonomy.
    [term] = [a["taxonomy_term"] for a in full["attributes"] if a["taxonomy_term"]["taxonomy_id"] == ids["test"]]
    assert uuid.UUID(term["id"])
    for params in ({"taxonomy_id": ids["test"]}, {"taxonomy_id": "test"}, {"taxonomy_term_id": term["id"]}):
        found = client.get("/openreferral/services", params={"search": word, **params}).json()
        assert [s["id"] for s in found["contents"]] == [housing["id"]], params
    terms = client.get("/openreferral/taxonomy_terms", params={"taxonomy_id": ids["test"]}).json()
    assert terms["contents"] and all(t["taxonomy_id"] == ids["test"] for t in terms["contents"])


def test_day_and_time_filters_select_by_schedule(client: TestClient, session: Session) -> None:
    word = token()
    mornings = _tagged(word, schedules=[{"id": "m", "byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}])
    evenings = _tagged(word, schedules=[{"id": "e", "byday": "WE", "opens_at": "17:00", "closes_at": "20:00"}])
    load(session, mornings, evenings)

    def found(**params: str) -> list[str]:
        body = client.get("/openreferral/services", params={"search": word, **params}).json()
        return sorted(s["id"] for s in body["contents"])

    assert found(day="MO") == [mornings["id"]]
    assert found(day="wednesday") == [evenings["id"]]
    assert found(start_time="16:00") == [evenings["id"]]
    assert found(end_time="13:00") == [mornings["id"]]
    assert found(day="MO", start_time="16:00") == []
    assert found() == sorted([mornings["id"], evenings["id"]])


def test_modified_after_selects_recent_changes(client: TestClient, session: Session) -> None:
    word = token()
    load(session, _tagged(word))
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert client.get("/openreferral/services", params={"search": word, "modified_after": past}).json()["size"] == 1
    assert client.get("/openreferral/services", params={"search": word, "modified_after": future}).json()["size"] == 0


@pytest.mark.parametrize(
    "query",
    [
        {"day": "Funday"},
        {"start_time": "25:00"},
        {"end_time": "noon"},
        {"modified_after": "last week"},
        {"start_time": "12:00", "end_time": "09:00"},
    ],
)
def test_malformed_filters_are_400_naming_the_field(client: TestClient, query: dict[str, str]) -> None:
    response = client.get("/openreferral/services", params=query)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert next(iter(query)) in str(response.json()["errors"]) or "end_time" in str(response.json()["errors"])


def test_paging_as_the_oruk_validator_checks_it(client: TestClient, session: Session) -> None:
    word = token()
    load(session, *(_tagged(word) for _ in range(7)))
    per_page = 3
    first = client.get("/openreferral/services", params={"search": word, "per_page": per_page}).json()
    total = first["total_items"]
    assert total == 7 and first["total_pages"] == math.ceil(total / per_page)
    seen: list[str] = []
    for number in range(1, first["total_pages"] + 1):
        page = client.get("/openreferral/services", params={"search": word, "per_page": per_page, "page": number})
        body = page.json()
        assert uk_profile.problems("/services", body) == []
        assert body["page_number"] == number and body["total_items"] == total
        assert body["size"] == len(body["contents"]) == min(per_page, total - (number - 1) * per_page)
        assert body["first_page"] is (number == 1) and body["last_page"] is (number == first["total_pages"])
        assert body["empty"] is False
        seen += [s["id"] for s in body["contents"]]
    assert len(seen) == len(set(seen)) == total
    beyond = client.get("/openreferral/services", params={"search": word, "per_page": per_page, "page": 9}).json()
    assert beyond["empty"] is True and beyond["size"] == 0 and beyond["last_page"] is True


def test_api_info_links_to_the_configured_base_not_the_host(client: TestClient) -> None:
    body = client.get("/openreferral/", headers={"Host": "attacker.example"}).json()
    assert body["openapi_url"].startswith("http://127.0.0.1:8000/")
    assert uk_profile.problems("/", body) == []


def test_service_at_locations_take_the_same_filters(client: TestClient, session: Session) -> None:
    word = token()
    mornings = _tagged(word, schedules=[{"id": "m", "byday": "MO", "opens_at": "09:00", "closes_at": "12:00"}])
    evenings = _tagged(word, schedules=[{"id": "e", "byday": "WE", "opens_at": "17:00", "closes_at": "20:00"}])
    load(session, mornings, evenings)
    body = client.get("/openreferral/service_at_locations", params={"search": word, "day": "WE"}).json()
    assert [x["service_id"] for x in body["contents"]] == [evenings["id"]]
    assert uk_profile.problems("/service_at_locations", body) == []
    assert client.get("/openreferral/service_at_locations", params={"day": "someday"}).status_code == 400
