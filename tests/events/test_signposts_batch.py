"""Prescribers upload many signposts at once: checked as a whole, recorded all or none, each counted once."""

from sqlmodel import Session, select

from signpost.events.models import SignpostEvent
from signpost.events.schemas import MAX_BATCH
from tests.events.factories import make_directory_service
from tests.factories import bearer, load_test_geography, make_key


def _item(service: str, key: str, **overrides: object) -> dict:  # type: ignore[type-arg]
    return {"services": [service], "needs": ["homeless"], "kind": "signposted", "idempotency_key": key, **overrides}


def _events(session: Session, service: str) -> list[SignpostEvent]:
    # Filtered by the test's own (random) service id: other tests' committed events may share the database.
    return [e for e in session.exec(select(SignpostEvent)).all() if service in e.services_offered]


def test_a_batch_records_every_item(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"signposts": [_item(service, "a", needs=["homeless", "carer"]), _item(service, "b", kind="referred")]}
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 201, response.text
    assert response.json() == {
        "recorded": 3,
        "replayed": 0,
        "results": [
            {"recorded": 2, "needs": ["homeless", "carer"], "replayed": False},
            {"recorded": 1, "needs": ["homeless"], "replayed": False},
        ],
    }
    assert sorted((e.need_code, e.kind) for e in _events(session, service)) == [
        ("carer", "signposted"),
        ("homeless", "referred"),
        ("homeless", "signposted"),
    ]


def test_a_retried_batch_counts_only_the_items_not_seen_before(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    headers = bearer(make_key(session, "prescriber"))
    client.post("/api/v1/signposts/batch", json={"signposts": [_item(service, "a")]}, headers=headers)
    again = client.post(
        "/api/v1/signposts/batch", json={"signposts": [_item(service, "a"), _item(service, "b")]}, headers=headers
    )
    assert again.status_code == 201
    assert (again.json()["recorded"], again.json()["replayed"]) == (1, 1)
    assert [r["replayed"] for r in again.json()["results"]] == [True, False]
    assert len(_events(session, service)) == 2


def test_a_batch_item_and_a_single_post_share_idempotency_keys(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    headers = bearer(make_key(session, "prescriber"))
    single = {"services": [service], "needs": ["homeless"], "kind": "signposted"}
    client.post("/api/v1/signposts", json=single, headers=headers | {"Idempotency-Key": "same"})
    response = client.post("/api/v1/signposts/batch", json={"signposts": [_item(service, "same")]}, headers=headers)
    assert response.json()["results"][0]["replayed"] is True
    assert len(_events(session, service)) == 1


def test_one_bad_item_rejects_the_whole_batch_naming_it(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {
        "signposts": [
            _item(service, "a"),
            _item(service, "b", needs=["homeless", "hungry"]),
            _item(service, "c", services=["no-such"]),
        ]
    }
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": "signposts[1].needs[1]", "message": "unknown need code 'hungry'"},
        {"loc": "signposts[2].services[0]", "message": "unknown service 'no-such'"},
    ]
    assert _events(session, service) == []


def test_a_malformed_item_is_named_by_index_and_field(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"signposts": [_item(service, "a"), _item(service, "b", kind="phoned")]}
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == ["signposts.1.kind"]


def test_a_key_repeated_within_a_batch_is_a_422(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"signposts": [_item(service, "a"), _item(service, "a")]}
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": "signposts[1].idempotency_key", "message": "repeats the key of signposts[0]"}
    ]


def test_a_batch_over_the_limit_is_a_422(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    body = {"signposts": [_item("s", f"k{i}") for i in range(MAX_BATCH + 1)]}
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "signposts"


def test_an_analyst_cannot_upload_a_batch(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    service = make_directory_service(session)
    body = {"signposts": [_item(service, "a")]}
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "analyst")))
    assert response.status_code == 403
    assert _events(session, service) == []


def test_batch_postcodes_and_birth_dates_become_ward_decile_and_age_band(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    service = make_directory_service(session)
    body = {
        "signposts": [
            _item(service, "a", postcode="ls11 0za", birth_date="1990-02-01", occurred_on="2026-10-05"),
            _item(service, "b", postcode="LS1 1AA"),
        ]
    }
    response = client.post("/api/v1/signposts/batch", json=body, headers=bearer(make_key(session, "prescriber")))
    assert response.status_code == 201, response.text
    stored = sorted(_events(session, service), key=lambda e: e.ward_code or "")
    assert [(e.ward_code, e.imd_decile) for e in stored] == [(None, None), ("E05012647", 1)]
    assert stored[1].age_band == "35-44"
    assert "LS11" not in repr([vars(e) for e in stored]) and "1990" not in repr([vars(e) for e in stored])
