"""The maintenance API edits every field group, places postcodes through geography, and refuses bad rows in words."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from signpost.geography import service as geography
from signpost.geography.models import Postcode
from tests.directory.factories import load_categories, make_service, service_data
from tests.factories import bearer, make_key

BASE = "/api/v1/directory/services"
# An invented postcode (ZZ inward code: not issued) placed in the test's own geography.
KNOWN = "LS1 9ZZ"


def _editor(session: Session) -> dict[str, str]:
    return bearer(make_key(session, "editor"))


def _place(session: Session) -> None:
    session.add(Postcode(postcode=KNOWN, local_authority="E08000035", latitude=53.7997, longitude=-1.5492))
    session.flush()
    geography.invalidate_cache()


def _patch(client: TestClient, session: Session, service_id: str, body: dict[str, Any]) -> Any:
    headers = _editor(session)
    current = client.get(f"{BASE}/{service_id}", headers=headers)
    return client.patch(f"{BASE}/{service_id}", json=body, headers={**headers, "If-Match": current.headers["ETag"]})


def test_every_group_is_saved_and_read_back(client: TestClient, session: Session) -> None:
    _place(session)
    service = make_service(session)
    body = {
        "phones": [{"number": "0113 496 0000", "description": "Advice line"}, {"number": "116 123"}],
        "contacts": [{"name": "Advice team", "email": "team@example.org"}],
        "schedules": [
            {"byday": "MO", "opens_at": "09:00", "closes_at": "17:00"},
            {"byday": "SA", "opens_at": "10:00", "closes_at": "12:30"},
        ],
        "locations": [
            {
                "name": "Main office",
                "address_1": "1 Park Row",
                "city": "Leeds",
                "postal_code": "ls19zz",
                "accessibility": [{"description": "Step-free entrance"}],
            }
        ],
        "languages": [{"code": "pl", "name": "Polish"}],
        "service_areas": [{"scope": "ward", "area_code": "E05011111", "area_vintage": 2024}],
        "cost_options": [{"option": "Room hire", "amount": 2.5}],
        "minimum_age": 16,
        "eligibility_description": "People living in Leeds",
    }
    response = _patch(client, session, service.id, body)
    assert response.status_code == 200, response.text
    saved = response.json()
    assert sorted(p["number"] for p in saved["phones"]) == ["0113 496 0000", "116 123"]
    assert saved["contacts"][0]["email"] == "team@example.org"
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in saved["schedules"]] == [
        ("MO", "09:00", "17:00"),
        ("SA", "10:00", "12:30"),
    ]
    location = saved["locations"][0]
    # The postcode was tidied and placed through geography.
    assert location["postal_code"] == KNOWN
    assert (location["latitude"], location["longitude"]) == (53.7997, -1.5492)
    assert location["accessibility"] == [{"description": "Step-free entrance", "details": None}]
    assert saved["languages"][0]["code"] == "pl"
    assert saved["service_areas"][0]["area_code"] == "E05011111"
    assert saved["cost_options"][0]["amount"] == 2.5
    assert saved["warnings"] == []


def test_an_unknown_postcode_is_kept_with_a_warning(client: TestClient, session: Session) -> None:
    service = make_service(session)
    response = _patch(
        client, session, service.id, {"locations": [{"address_1": "2 Moor Lane", "postal_code": "LS99 9ZZ"}]}
    )
    assert response.status_code == 200, response.text
    saved = response.json()
    assert saved["locations"][0]["postal_code"] == "LS99 9ZZ" and saved["locations"][0]["latitude"] is None
    assert saved["warnings"] and "LS99 9ZZ is not known" in saved["warnings"][0]


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"phones": [{"number": "call us"}]}, "phones.0.number", "UK phone number, like 0113 496 0000"),
        ({"phones": [{"number": "0113 496"}]}, "phones.0.number", "UK phone number"),
        ({"contacts": [{"email": "team at example"}]}, "contacts.0.email", ""),
        ({"schedules": [{"byday": "MO", "opens_at": "9am", "closes_at": "17:00"}]}, "schedules.0.opens_at", ""),
        ({"schedules": [{"byday": "MO", "opens_at": "17:00", "closes_at": "09:00"}]}, "schedules.0", "before"),
        ({"schedules": [{"byday": "XX", "opens_at": "09:00", "closes_at": "17:00"}]}, "schedules.0.byday", ""),
        ({"locations": [{"postal_code": "LS1"}]}, "locations.0.postal_code", "full UK postcode, like LS1 4AP"),
        ({"languages": [{"code": "Polish"}]}, "languages.0.code", ""),
        ({"service_areas": [{"scope": "ward", "area_code": "E05011111"}]}, "service_areas.0", "area_vintage"),
        ({"cost_options": [{"amount": -1}]}, "cost_options.0.amount", ""),
        ({"url": "www.example.org"}, "url", ""),
    ],
)
def test_bad_rows_are_refused_naming_the_field_and_nothing_is_saved(
    client: TestClient, session: Session, body: dict[str, Any], loc: str, words: str
) -> None:
    service = make_service(session)
    before = client.get(f"{BASE}/{service.id}", headers=_editor(session)).json()
    # A good change sent beside the bad one must not be saved either.
    response = _patch(client, session, service.id, {**body, "description": "Must not be saved."})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert any(str(e["loc"]).startswith(loc) for e in problem["errors"]), problem
    assert words in response.text
    after = client.get(f"{BASE}/{service.id}", headers=_editor(session)).json()
    assert after["description"] == before["description"] and after["version"] == before["version"]


def test_a_new_service_at_the_same_postcode_with_the_same_name_is_a_likely_duplicate(
    client: TestClient, session: Session
) -> None:
    load_categories(session)
    headers = _editor(session)
    body = service_data(locations=[{"address_1": "1 Park Row", "postal_code": "LS1 4AP"}])
    assert client.post(BASE, json=body, headers=headers).status_code == 201
    again = client.post(BASE, json={**body, "organization": {"name": "Another body"}}, headers=headers)
    assert again.status_code == 409
    assert "same name at postcode LS1 4AP" in again.text
