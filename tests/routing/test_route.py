"""Routing: eligible services per need, ranked, with reasons."""

from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session

from signpost.directory.models import Phone
from signpost.geography.service import Place
from signpost.routing import route
from signpost.template import assess, validate
from tests.routing.factories import LEEDS, make_service
from tests.template.builders import ans, make_response, need

# 2026-11-28 is a Saturday.
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
WARD = "E05011390"
PLACE = Place(
    postcode="LS7 0ZD", known=True, lsoa_code="E01011352", ward_code=WARD, ward_name="Chapel Allerton",
    ward_vintage=2021, imd_decile=5, imd_year=2019, latitude=53.83, longitude=-1.53, local_authority=LEEDS,
)  # fmt: skip


def routed(
    session: Session, overrides: dict[str, Any], *, place: Place | None = None, age: int | None = 40, per_need: int = 3
) -> Any:
    checked, issues = validate(make_response(overrides))
    assert checked is not None, issues
    return route(
        session=session, assessment=assess(checked), place=place, age=age, per_need=per_need,
        local_authorities=[LEEDS], now=NOW,
    )  # fmt: skip


def names(offer: Any) -> list[str]:
    return [m.name for m in offer.matches]


def test_need_routes_through_the_concept_map_to_its_category(session: Session) -> None:
    make_service(session, "Food Bank", ["food"])
    make_service(session, "Debt Advice", ["debt"])
    [offer] = routed(session, {"food-worried": [ans("often-true")], "food-today": [False]})
    assert names(offer) == ["Food Bank"]
    assert offer.category_code == "food"


def test_a_match_carries_what_the_answer_shows_the_first_phone_by_id(session: Session) -> None:
    bank = make_service(
        session, "Food Bank", ["food"], phone=None, description="Food parcels.", url="https://food.example.org"
    )
    session.add_all(
        [
            Phone(id="b-later", service_id=bank.id, number="0113 222"),
            Phone(id="a-first", service_id=bank.id, number="0113 111"),
        ]
    )
    make_service(session, "Pantry", ["food"], phone=None)
    session.flush()
    [offer] = routed(session, {"food-worried": [ans("often-true")], "food-today": [False]})
    shown = {m.name: (m.description, m.phone, m.url) for m in offer.matches}
    assert shown == {
        "Food Bank": ("Food parcels.", "0113 111", "https://food.example.org"),
        "Pantry": (None, None, None),
    }


def test_inactive_and_retired_services_are_not_offered(session: Session) -> None:
    make_service(session, "Closed Food Bank", ["food"], status="inactive")
    make_service(session, "Retired Food Bank", ["food"], retired_at=NOW)
    [offer] = routed(session, {"food-worried": [ans("often-true")], "food-today": [False]})
    assert names(offer) == []


def test_age_limits_are_respected(session: Session) -> None:
    make_service(session, "Young People's Jobs", ["employment"], minimum_age=16, maximum_age=24)
    make_service(session, "Jobs Club", ["employment"])
    [offer] = routed(session, {"work": [True]}, age=40)
    assert names(offer) == ["Jobs Club"]


def test_ward_service_is_offered_only_in_its_ward(session: Session) -> None:
    make_service(session, "Chapel Allerton Lunch Club", ["isolation"], areas=[("ward", WARD, 2021)])
    make_service(session, "Beeston Lunch Club", ["isolation"], areas=[("ward", "E05012647", 2021)])
    [offer] = routed(session, {"isolation": [True]}, place=PLACE)
    assert names(offer) == ["Chapel Allerton Lunch Club"]
    assert "Covers the patient's ward (Chapel Allerton)" in offer.matches[0].reasons


def test_ward_service_is_only_a_near_miss_when_the_ward_is_unknown(session: Session) -> None:
    make_service(session, "Chapel Allerton Lunch Club", ["isolation"], areas=[("ward", WARD, 2021)])
    [offer] = routed(session, {"isolation": [True]}, place=None)
    [match] = offer.matches
    assert match.misses == ["Does not list the patient's area: ask whether they can help or know who can"]
    assert offer.note == (
        "No service for lonely or isolated fits the patient's area: these come closest, "
        "each saying what it misses and what to do instead."
    )


def test_service_of_another_local_authority_is_not_offered(session: Session) -> None:
    make_service(session, "Bradford Carers", ["carers"], areas=[("local_authority", "E08000032", None)])
    make_service(session, "National Carers Line", ["carers"], areas=[("national", None, None)])
    [offer] = routed(session, {"household": [need("carer")]}, place=PLACE)
    assert names(offer) == ["National Carers Line"]


def test_urgent_need_goes_first_to_a_service_open_today(session: Session) -> None:
    make_service(
        session, "Weekday Housing Options", ["homelessness"], open_days=["MO", "TU"], assured_date=date(2026, 11, 1)
    )
    make_service(session, "Saturday Shelter", ["homelessness"], open_days=["SA"], assured_date=date(2025, 1, 1))
    [offer] = routed(session, {"housing": [need("homeless")], "homeless-tonight": [True]})
    assert names(offer)[:2] == ["Saturday Shelter", "Weekday Housing Options"]
    assert "Open today" in offer.matches[0].reasons


def test_fresher_verification_ranks_first_when_not_urgent(session: Session) -> None:
    make_service(session, "Old Advice", ["legal-immigration"], assured_date=date(2024, 1, 1))
    make_service(session, "New Advice", ["legal-immigration"], assured_date=date(2026, 11, 2))
    [offer] = routed(session, {"legal-immigration": [True]})
    assert names(offer) == ["New Advice", "Old Advice"]
    assert "Verified this month" in offer.matches[0].reasons


def test_nearer_service_ranks_first_among_equally_fresh(session: Session) -> None:
    make_service(session, "Far Warm Homes", ["fuel-energy"], point=(53.95, -1.30))
    make_service(session, "Near Warm Homes", ["fuel-energy"], point=(53.831, -1.531))
    [offer] = routed(session, {"money": [need("fuel-poverty")]}, place=PLACE)
    assert names(offer) == ["Near Warm Homes", "Far Warm Homes"]
    assert any(r.endswith("km away") for r in offer.matches[0].reasons)


def test_matches_are_capped_per_need(session: Session) -> None:
    for n in range(5):
        make_service(session, f"Lunch Club {n}", ["isolation"])
    [offer] = routed(session, {"isolation": [True]}, per_need=2)
    assert len(offer.matches) == 2


def test_no_phone_means_face_to_face_services_only(session: Session) -> None:
    make_service(session, "Online Skills", ["digital-inclusion"], in_person=False, by_phone=False)
    make_service(session, "Library Drop-in", ["digital-inclusion"], in_person=True)
    [offer] = routed(session, {"access": [ans("no-phone")]})
    assert names(offer) == ["Library Drop-in"]


def test_language_offered_ranks_before_one_needing_an_interpreter(session: Session) -> None:
    make_service(session, "English Only Advice", ["legal-immigration"], assured_date=date(2026, 11, 20))
    make_service(session, "Polish Advice", ["legal-immigration"], languages=["pl"], assured_date=date(2025, 1, 1))
    language = [{"valueCoding": {"system": "urn:ietf:bcp:47", "code": "pl", "display": "Polish"}}]
    offers = routed(session, {"legal-immigration": [True], "access": [need("interpreter")], "language": language})
    legal = next(o for o in offers if o.need.code == "legal-immigration")
    assert names(legal) == ["Polish Advice", "English Only Advice"]
    assert "Offers Polish" in legal.matches[0].reasons


def test_editing_the_concept_map_changes_routing_without_code(session: Session, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json
    import shutil

    from signpost.template import conformance

    folder = tmp_path / "fhir"
    shutil.copytree(conformance.data_dir("fhir"), folder)
    path = folder / "ConceptMap-need-to-service-category.json"
    concept_map = json.loads(path.read_text())
    for element in concept_map["group"][0]["element"]:
        if element["code"] == "isolation":
            element["target"] = [{"code": "digital-inclusion", "equivalence": "relatedto"}]
    path.write_text(json.dumps(concept_map))
    make_service(session, "Lunch Club", ["isolation"])
    make_service(session, "Tablet Lending", ["digital-inclusion"])
    monkeypatch.setattr(conformance, "data_dir", lambda name: folder)
    conformance.reload()
    try:
        [offer] = routed(session, {"isolation": [True]})
    finally:
        monkeypatch.undo()
        conformance.reload()
    assert names(offer) == ["Tablet Lending"]
