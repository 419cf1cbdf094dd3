"""Resolution: postcode → LSOA → ward and IMD decile; age bands; distances."""

from datetime import date

import pytest

from signpost.geography import service as geography
from tests.factories import load_test_geography


def test_postcode_is_normalised() -> None:
    assert geography.normalise_postcode(" ls11ab ") == "LS1 1AB"
    assert geography.normalise_postcode("sw1a 1aa") == "SW1A 1AA"
    assert geography.normalise_postcode("M1 1AE") == "M1 1AE"


@pytest.mark.parametrize("text", ["", "hello", "LS1", "12345", "LS1 1AB extra", "L$1 1AB!!" * 3, "1S1 1AB"])
def test_what_cannot_be_a_postcode_is_rejected(text: str) -> None:
    with pytest.raises(geography.InvalidPostcode):
        geography.normalise_postcode(text)


def test_invalid_postcode_is_a_value_error() -> None:
    assert issubclass(geography.InvalidPostcode, ValueError)


def test_loaded_postcode_resolves_to_ward_and_decile(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    place = geography.resolve(session, "ls70zd")
    assert place.known
    assert place.postcode == "LS7 0ZD"
    assert place.lsoa_code == "E01011352"
    assert (place.ward_code, place.ward_name, place.ward_vintage) == ("E05011390", "Chapel Allerton", 2021)
    assert (place.imd_decile, place.imd_year) == (5, 2019)
    assert place.local_authority == "E08000035"
    assert place.latitude == pytest.approx(53.8289)


def test_ward_code_is_carried_to_the_current_vintage_through_the_crosswalk(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    assert geography.resolve(session, "LS11 0ZA").ward_code == "E05012647"  # 2018 code E05011386
    assert geography.resolve(session, "LS25 0ZC").ward_code == "E05013830"  # changed in 2021


def test_deciles_one_and_ten_are_resolved(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    assert geography.resolve(session, "LS11 0ZA").imd_decile == 1
    assert geography.resolve(session, "LS16 0ZB").imd_decile == 10


def test_unloaded_postcode_is_unknown_not_an_error(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    place = geography.resolve(session, "LS1 1AA")
    assert place == geography.Place(postcode="LS1 1AA", known=False)


def test_terminated_and_other_authority_postcodes_are_unknown(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    assert not geography.resolve(session, "LS11 0ZE").known
    assert not geography.resolve(session, "BD7 0ZF").known


def test_resolve_without_any_geography_is_unknown(session) -> None:  # type: ignore[no-untyped-def]
    assert not geography.resolve(session, "LS7 0ZD").known


def test_list_wards_gives_the_33_current_leeds_wards_with_population(session) -> None:  # type: ignore[no-untyped-def]
    load_test_geography(session)
    wards = geography.list_wards(session)
    assert len(wards) == 33
    assert {w.vintage for w in wards} == {2021}
    assert sum(w.population or 0 for w in wards) == 798_786
    assert {w.population_year for w in wards} == {2020}


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2026, 11, 28), "0-15"),
        (date(2010, 11, 29), "0-15"),
        (date(2010, 11, 28), "16-24"),
        (date(2001, 11, 29), "16-24"),
        (date(1991, 11, 28), "35-44"),
        (date(1951, 11, 28), "75+"),
        (date(2027, 1, 1), "unknown"),
        (None, "unknown"),
    ],
)
def test_age_band_counts_whole_years_on_the_day(born: date | None, band: str) -> None:
    assert geography.age_band(born, date(2026, 11, 28)) == band


def test_age_bands_are_listed_once() -> None:
    assert geography.AGE_BANDS == ("0-15", "16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")


def test_distance_between_leeds_and_bradford_centres() -> None:
    assert geography.distance_km(53.7965, -1.5478, 53.7938, -1.7524) == pytest.approx(13.4, abs=0.2)
    assert geography.distance_km(53.8, -1.5, 53.8, -1.5) == 0


def test_postcodes_are_looked_up_one_by_one_when_too_many_to_preload(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(geography, "_PRELOAD_POSTCODES", 0)
    load_test_geography(session)
    assert geography.resolve(session, "LS16 0ZB").imd_decile == 10
    assert not geography.resolve(session, "LS1 1AA").known


def test_a_new_import_is_seen_by_the_cache(session) -> None:  # type: ignore[no-untyped-def]
    assert not geography.resolve(session, "LS7 0ZD").known
    load_test_geography(session)
    assert geography.resolve(session, "LS7 0ZD").known
