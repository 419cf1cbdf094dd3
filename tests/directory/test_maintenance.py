"""Maintenance API: create, update with If-Match, verify, status, retire, audit trail."""

from tests.directory.factories import load_categories, make_service, service_data
from tests.factories import bearer, make_key

BASE = "/api/v1/directory/services"


def _editor(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_key(session, "editor"))


def test_editor_creates_a_service_and_gets_an_etag(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    response = client.post(BASE, json=service_data(), headers=_editor(session))
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["ETag"] == f'"{body["id"]}.1"'
    assert body["categories"] == ["debt"]
    assert body["verification"]["state"] == "unverified"


def test_prescriber_may_read_but_not_create(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    prescriber = bearer(make_key(session, "prescriber"))
    assert client.get(f"{BASE}/{service.id}", headers=prescriber).status_code == 200
    assert client.post(BASE, json=service_data(name="Other"), headers=prescriber).status_code == 403


def test_minimum_age_above_maximum_is_refused_naming_the_field(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    response = client.post(BASE, json=service_data(minimum_age=30, maximum_age=18), headers=_editor(session))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "minimum_age"


def test_unknown_category_is_refused_and_nothing_is_written(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    headers = _editor(session)
    body = service_data(categories=["debt", "astrology"])
    response = client.post(BASE, json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "categories.1"
    search = client.get("/api/v1/directory/search", params={"text": body["name"]}, headers=headers).json()
    assert search["total"] == 0


def test_malformed_postcode_is_refused_naming_the_field(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    body = service_data(locations=[{"name": "Office", "postal_code": "NOT A CODE"}])
    response = client.post(BASE, json=body, headers=_editor(session))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "locations.0.postal_code"


def test_unknown_field_is_refused_naming_it(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    response = client.post(BASE, json=service_data(colour="blue"), headers=_editor(session))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "colour"


def test_update_without_if_match_is_428(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    response = client.patch(f"{BASE}/{service.id}", json={"name": "New name"}, headers=_editor(session))
    assert response.status_code == 428


def test_update_with_stale_etag_is_412_and_changes_nothing(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = _editor(session)
    first = client.patch(
        f"{BASE}/{service.id}", json={"name": "First"}, headers={**headers, "If-Match": f'"{service.id}.1"'}
    )
    assert first.status_code == 200
    second = client.patch(
        f"{BASE}/{service.id}", json={"name": "Second"}, headers={**headers, "If-Match": f'"{service.id}.1"'}
    )
    assert second.status_code == 412
    assert client.get(f"{BASE}/{service.id}", headers=headers).json()["name"] == "First"


def test_two_updates_from_the_same_version_exactly_one_wins_and_the_trail_shows_it(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = {**_editor(session), "If-Match": f'"{service.id}.1"'}
    results = [
        client.patch(f"{BASE}/{service.id}", json={"description": text}, headers=headers).status_code
        for text in ("Edit A", "Edit B")
    ]
    assert sorted(results) == [200, 412]
    trail = client.get(f"{BASE}/{service.id}/history", headers=headers).json()["changes"]
    assert [c["action"] for c in trail] == ["create", "update"]
    assert trail[1]["fields"]["description"]["after"] == "Edit A"


def test_audit_trail_records_before_and_after_of_each_field(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = _editor(session)
    client.patch(
        f"{BASE}/{service.id}",
        json={"maximum_age": 65, "categories": ["debt", "welfare-benefits"]},
        headers={**headers, "If-Match": f'"{service.id}.1"'},
    )
    fields = client.get(f"{BASE}/{service.id}/history", headers=headers).json()["changes"][-1]["fields"]
    assert fields["maximum_age"] == {"before": None, "after": 65}
    assert fields["categories"] == {"before": ["debt"], "after": ["debt", "welfare-benefits"]}


def test_verify_sets_assured_date_and_assurer(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = _editor(session)
    response = client.post(
        f"{BASE}/{service.id}/verify",
        json={"assured_date": "2026-11-01"},
        headers={**headers, "If-Match": f'"{service.id}.1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assured_date"] == "2026-11-01"
    assert body["assurer"] == "test"
    assert body["verification"]["state"] == "verified"
    assert response.headers["ETag"] == f'"{service.id}.2"'


def test_status_change_to_temporarily_closed_leaves_search(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = _editor(session)
    response = client.post(
        f"{BASE}/{service.id}/status",
        json={"status": "temporarily closed"},
        headers={**headers, "If-Match": f'"{service.id}.1"'},
    )
    assert response.json()["status"] == "temporarily closed"
    search = client.get("/api/v1/directory/search", params={"text": service.name}, headers=headers).json()
    assert search["total"] == 0


def test_retired_service_stays_readable_but_leaves_search(client, session) -> None:  # type: ignore[no-untyped-def]
    service = make_service(session)
    headers = _editor(session)
    retired = client.post(f"{BASE}/{service.id}/retire", headers={**headers, "If-Match": f'"{service.id}.1"'})
    assert retired.status_code == 200
    assert client.get(f"{BASE}/{service.id}", headers=headers).json()["retired_at"] is not None
    search = client.get("/api/v1/directory/search", params={"text": service.name}, headers=headers).json()
    assert search["total"] == 0


def test_unknown_service_is_404_problem_json(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"{BASE}/nope", headers=_editor(session))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
