"""Duplicates: same name and postcode, same charity number, close name in the same organisation."""

from signpost.directory import service as directory
from tests.directory.factories import load_categories, make_service, service_data, token
from tests.factories import bearer, make_key

BASE = "/api/v1/directory/services"


def test_same_name_at_same_postcode_is_409_with_the_match(client, session) -> None:  # type: ignore[no-untyped-def]
    held = make_service(session, locations=[{"name": "Hub", "postal_code": "LS6 1AA"}])
    body = service_data(name=held.name.upper() + "!", locations=[{"postal_code": "ls61aa"}], organization={"name": "X"})
    response = client.post(BASE, json=body, headers=bearer(make_key(session, "editor")))
    assert response.status_code == 409
    match = response.json()["duplicates"][0]
    assert match["id"] == held.id
    assert "postcode LS6 1AA" in match["reason"]


def test_allow_duplicate_adds_it_anyway(client, session) -> None:  # type: ignore[no-untyped-def]
    held = make_service(session, locations=[{"postal_code": "LS6 1AA"}])
    body = service_data(name=held.name, locations=[{"postal_code": "LS6 1AA"}])
    response = client.post(
        BASE, params={"allow_duplicate": "true"}, json=body, headers=bearer(make_key(session, "editor"))
    )
    assert response.status_code == 201


def test_same_charity_number_is_reported(session) -> None:  # type: ignore[no-untyped-def]
    number = token()[:10]
    make_service(session, organization={"name": "Leeds Aid", "charity_number": number})
    matches = directory.find_duplicates(session=session, name="Anything", charity_number=number)
    assert [m.kind for m in matches] == ["organization"]
    assert "charity number" in matches[0].reason


def test_close_fuzzy_name_in_same_organisation_is_reported(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    held = make_service(session, name=f"{word} Welfare Rights Advice Service")
    matches = directory.find_duplicates(
        session=session, name=f"{word} Welfare Rights Advice Services", organization_id=held.organization_id
    )
    assert [m.id for m in matches] == [held.id]


def test_different_name_in_same_organisation_is_not_a_duplicate(session) -> None:  # type: ignore[no-untyped-def]
    held = make_service(session, name=f"{token()} Food Bank")
    matches = directory.find_duplicates(session=session, name="Energy advice", organization_id=held.organization_id)
    assert matches == []


def test_duplicate_refusal_writes_nothing(client, session) -> None:  # type: ignore[no-untyped-def]
    load_categories(session)
    held = make_service(session, locations=[{"postal_code": "LS6 1AA"}])
    body = service_data(name=held.name, locations=[{"postal_code": "LS6 1AA"}])
    assert client.post(BASE, json=body, headers=bearer(make_key(session, "editor"))).status_code == 409
    # Had the refused record been written, it would now be a second match.
    assert len(directory.find_duplicates(session=session, name=held.name, postcodes=["LS6 1AA"])) == 1
