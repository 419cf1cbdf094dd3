"""Search: full text with ranking, filters, proximity, paging, reasons; the service-layer function."""

from datetime import datetime
from zoneinfo import ZoneInfo

from signpost.directory import places
from signpost.directory.search import ServiceQuery, search_services
from tests.directory.factories import make_service, token
from tests.factories import bearer, make_key

SEARCH = "/api/v1/directory/search"


def _prescriber(session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return bearer(make_key(session, "prescriber"))


def test_name_match_ranks_above_description_match(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"Money help {token()}", description=f"Also helps with {word} forms.")
    make_service(session, name=f"{word} advice line")
    hits = client.get(SEARCH, params={"text": word}, headers=_prescriber(session)).json()["hits"]
    assert [h["name"].split()[0] for h in hits] == [word, "Money"]


def test_each_hit_says_where_the_words_matched(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} advice")
    hit = client.get(SEARCH, params={"text": word}, headers=_prescriber(session)).json()["hits"][0]
    assert any("found in name" in reason for reason in hit["reasons"])


def test_a_word_late_in_a_long_description_is_said_to_be_found_there(client, session) -> None:  # type: ignore[no-untyped-def]
    # The reason once looked only at a field's first eight words: this service's reason said "the record".
    word = token()
    filler = "Friendly drop-in sessions every weekday morning with volunteers trained to listen and help plan"
    make_service(session, name=f"Community hub {token()}", description=f"{filler}; ask about {word} forms.")
    hit = client.get(SEARCH, params={"text": word}, headers=_prescriber(session)).json()["hits"][0]
    assert f"'{word}' found in description" in hit["reasons"]


def test_searches_of_one_shape_each_get_their_own_values(client, session) -> None:  # type: ignore[no-untyped-def]
    # The statement of a shape of search is built once and reused: the values must still be each search's own.
    first, second = token(), token()
    make_service(session, name=f"{first} young", minimum_age=16, maximum_age=24, categories=["employment"])
    make_service(session, name=f"{second} older", minimum_age=50, categories=["housing"])
    headers = _prescriber(session)
    for word, category, age, expected in [
        (first, "employment", 20, [f"{first} young"]),
        (second, "housing", 60, [f"{second} older"]),
        (first, "employment", 60, []),
        (second, "housing", 20, []),
    ]:
        params = {"text": word, "category": category, "age": age}
        hits = client.get(SEARCH, params=params, headers=headers).json()["hits"]
        assert [h["name"] for h in hits] == expected, params


def test_words_are_stemmed_so_plural_finds_singular(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} debt advice")
    total = client.get(SEARCH, params={"text": f"{word} debts"}, headers=_prescriber(session)).json()["total"]
    assert total == 1


def test_search_matches_organisation_and_category_names(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, organization={"name": f"{word} Trust"}, categories=["fuel-energy"])
    headers = _prescriber(session)
    by_org = client.get(SEARCH, params={"text": word}, headers=headers).json()
    assert by_org["total"] == 1
    assert any("organisation" in r for r in by_org["hits"][0]["reasons"])
    both = client.get(SEARCH, params={"text": f"{word} energy"}, headers=headers).json()
    assert both["total"] == 1


def test_category_and_age_filters_exclude_what_does_not_fit(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} young", minimum_age=16, maximum_age=24, categories=["employment"])
    make_service(session, name=f"{word} adults", minimum_age=25, categories=["employment"])
    make_service(session, name=f"{word} food", categories=["food"])
    params = {"text": word, "category": "employment", "age": 30}
    hits = client.get(SEARCH, params=params, headers=_prescriber(session)).json()["hits"]
    assert [h["name"] for h in hits] == [f"{word} adults"]
    assert any("category employment" in r for r in hits[0]["reasons"])


def test_need_routes_to_its_categories(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} debt", categories=["debt"])
    make_service(session, name=f"{word} food", categories=["food"])
    hits = client.get(SEARCH, params={"text": word, "need": "food-insecurity"}, headers=_prescriber(session)).json()
    assert [h["name"] for h in hits["hits"]] == [f"{word} food"]


def test_unknown_need_is_422_naming_it(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get(SEARCH, params={"need": "astrology"}, headers=_prescriber(session))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "need"


def test_delivery_language_and_free_filters(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(
        session,
        name=f"{word} polish",
        delivery_modes=["online"],
        languages=[{"code": "pl"}],
        cost_options=[{"option": "Free", "amount": 0}],
    )
    make_service(session, name=f"{word} paid", delivery_modes=["online"], cost_options=[{"amount": 10}])
    headers = _prescriber(session)
    assert client.get(SEARCH, params={"text": word, "language": "pl"}, headers=headers).json()["total"] == 1
    assert client.get(SEARCH, params={"text": word, "free": "true"}, headers=headers).json()["total"] == 1
    assert client.get(SEARCH, params={"text": word, "delivery": "online"}, headers=headers).json()["total"] == 2
    assert client.get(SEARCH, params={"text": word, "delivery": "phone"}, headers=headers).json()["total"] == 0


def test_open_now_uses_the_schedule(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(
        session, name=f"{word} weekday", schedules=[{"byday": "MO", "opens_at": "09:00", "closes_at": "17:00"}]
    )
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    monday_night = datetime(2026, 11, 30, 20, 0, tzinfo=ZoneInfo("Europe/London"))
    assert search_services(session=session, query=ServiceQuery(text=word, open_now=True, at=monday_noon)).total == 1
    assert search_services(session=session, query=ServiceQuery(text=word, open_now=True, at=monday_night)).total == 0


def test_ward_filter_keeps_national_and_citywide_services_and_the_ward(session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} national", service_areas=[{"scope": "national"}])
    make_service(session, name=f"{word} city")  # Leeds-wide
    make_service(
        session, name=f"{word} ward", service_areas=[{"scope": "ward", "area_code": "E05011397", "area_vintage": 2018}]
    )
    make_service(
        session, name=f"{word} other", service_areas=[{"scope": "ward", "area_code": "E05011400", "area_vintage": 2018}]
    )
    page = search_services(
        session=session, query=ServiceQuery(text=word, ward_code="E05011397", local_authorities=["E08000035"])
    )
    assert sorted(h.service.name.split()[1] for h in page.hits) == ["city", "national", "ward"]


def test_proximity_orders_nearest_first_and_labels_no_premises(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    word = token()
    monkeypatch.setattr(places, "locate", lambda _s, pc: places.Point(pc, 53.7997, -1.5492))
    make_service(session, name=f"{word} far", locations=[{"name": "Far", "latitude": 53.83, "longitude": -1.55}])
    make_service(session, name=f"{word} near", locations=[{"name": "Near", "latitude": 53.80, "longitude": -1.55}])
    make_service(session, name=f"{word} outside", locations=[{"name": "Out", "latitude": 54.5, "longitude": -1.55}])
    make_service(session, name=f"{word} phone", delivery_modes=["phone"])
    page = search_services(session=session, query=ServiceQuery(text=word, postcode="LS1 4AP", radius_km=5))
    assert [h.service.name.split()[1] for h in page.hits] == ["near", "far", "phone"]
    assert page.hits[0].distance_km is not None and page.hits[0].distance_km < page.hits[1].distance_km  # type: ignore[operator]
    assert page.hits[2].no_premises and any("no premises" in r for r in page.hits[2].reasons)


def test_malformed_postcode_is_422_naming_it(client, session) -> None:  # type: ignore[no-untyped-def]
    response = client.get(SEARCH, params={"postcode": "BANANA"}, headers=_prescriber(session))
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == "postcode"


def test_paging_splits_results(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    for i in range(3):
        make_service(session, name=f"{word} {i}")
    headers = _prescriber(session)
    first = client.get(SEARCH, params={"text": word, "per_page": 2}, headers=headers).json()
    second = client.get(SEARCH, params={"text": word, "per_page": 2, "page": 2}, headers=headers).json()
    assert first["total"] == 3 and len(first["hits"]) == 2 and len(second["hits"]) == 1


def test_unverified_service_is_labelled_in_results(client, session) -> None:  # type: ignore[no-untyped-def]
    word = token()
    make_service(session, name=f"{word} new")
    hit = client.get(SEARCH, params={"text": word}, headers=_prescriber(session)).json()["hits"][0]
    assert hit["verification"]["state"] == "unverified"
    assert any(r.startswith("unverified") for r in hit["reasons"])


def test_search_needs_a_key(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get(SEARCH, params={"text": "debt"}).status_code == 401
