"""Prescribers record signposts and referrals: checked, anonymised, counted once."""

from datetime import date

from sqlmodel import Session, select

from signpost.events.models import SignpostEvent
from tests.events.factories import make_directory_service
from tests.factories import bearer, load_test_geography, make_key


def _post(client, session: Session, body: dict, *, key: str | None = "retry-1", role: str = "prescriber"):  # type: ignore[no-untyped-def]
    headers = bearer(make_key(session, role))
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/signposts", json=body, headers=headers)


def _events(session: Session, service: str) -> list[SignpostEvent]:
    # Filtered by the test's own (random) service id: other tests' committed events may share the database.
    return [e for e in session.exec(select(SignpostEvent)).all() if service in e.services_offered]


def test_a_signpost_records_one_event_per_need(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session, category="housing")
    response = _post(client, session, {"services": [service], "needs": ["homeless", "carer"], "kind": "referred"})
    assert response.status_code == 201, response.text
    assert response.json() == {"recorded": 2, "needs": ["homeless", "carer"]}
    stored = _events(session, service)
    assert sorted(e.need_code for e in stored) == ["carer", "homeless"]
    assert {(e.kind, e.source, tuple(e.services_offered)) for e in stored} == {("referred", "prescriber", (service,))}


def test_a_retry_with_the_same_key_answers_the_same_and_counts_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"services": [service], "needs": ["homeless"], "kind": "signposted"}
    headers = bearer(make_key(session, "prescriber")) | {"Idempotency-Key": "abc"}
    first = client.post("/api/v1/signposts", json=body, headers=headers)
    again = client.post("/api/v1/signposts", json=body, headers=headers)
    assert (first.status_code, first.json()) == (again.status_code, again.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(_events(session, service)) == 1


def test_the_category_comes_from_the_services_taxonomy(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    housing = make_directory_service(session, category="housing", name="Housing Options")
    food = make_directory_service(session, category="food", name="Food Bank")
    _post(client, session, {"services": [housing, food], "needs": ["food-insecurity"], "kind": "signposted"})
    (event,) = _events(session, food)
    assert event.category_code == "food"


def test_an_unknown_service_is_named_in_a_422(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    response = _post(client, session, {"services": [service, "no-such"], "needs": ["homeless"], "kind": "referred"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": "services[1]", "message": "unknown service 'no-such'"}]
    assert _events(session, service) == []


def test_an_unknown_need_is_named_in_a_422(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    response = _post(client, session, {"services": [service], "needs": ["hungry"], "kind": "referred"})
    assert response.status_code == 422
    assert "needs[0]" in response.json()["detail"] and "hungry" in response.json()["detail"]


def test_an_analyst_cannot_record_a_signpost(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"services": [service], "needs": ["homeless"], "kind": "referred"}
    assert _post(client, session, body, role="analyst").status_code == 403


def test_postcode_and_birth_date_become_ward_decile_and_age_band(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    service = make_directory_service(session)
    body = {
        "services": [service],
        "needs": ["homeless"],
        "kind": "signposted",
        "occurred_on": "2026-10-05",
        "postcode": "ls11 0za",
        "birth_date": "1990-02-01",
    }
    assert _post(client, session, body).status_code == 201
    (event,) = _events(session, service)
    assert (event.ward_code, event.imd_decile, event.age_band) == ("E05012647", 1, "35-44")
    assert event.occurred_on == date(2026, 10, 5)


def test_an_unknown_postcode_counts_as_unknown_ward(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    service = make_directory_service(session)
    body = {"services": [service], "needs": ["homeless"], "kind": "signposted", "postcode": "LS1 1AA"}
    assert _post(client, session, body).status_code == 201
    (event,) = _events(session, service)
    assert (event.ward_code, event.imd_decile) == (None, None)


def test_a_postcode_that_cannot_be_one_is_a_422_naming_postcode(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"services": [service], "needs": ["homeless"], "kind": "signposted", "postcode": "not a postcode"}
    response = _post(client, session, body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "postcode"


def test_nothing_identifying_is_stored(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    service = make_directory_service(session)
    body = {
        "services": [service],
        "needs": ["homeless"],
        "kind": "signposted",
        "postcode": "LS7 0ZD",
        "birth_date": "1950-06-07",
    }
    _post(client, session, body)
    stored = repr([vars(e) for e in _events(session, service)])
    assert "LS7" not in stored and "1950" not in stored
