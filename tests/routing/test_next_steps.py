"""Every need ends with a next step: near misses that say what they miss, a note when nothing fits, Act now."""

from datetime import date
from typing import Any

from sqlmodel import Session

from tests.routing.factories import make_service
from tests.routing.test_route import PLACE, names, routed
from tests.template.builders import ans, need

FOOD_TODAY = {"food-worried": [ans("often-true")], "food-today": [True]}


def only(offers: list[Any], code: str) -> Any:
    return next(o for o in offers if o.need.code == code)


def test_no_phone_with_only_phone_services_offers_them_saying_what_they_miss(session: Session) -> None:
    make_service(session, "Food Line", ["food"], in_person=False, by_phone=True, online=False)
    offers = routed(session, {"food-worried": [ans("often-true")], "food-today": [False], "access": [ans("no-phone")]})
    food = only(offers, "food-insecurity")
    assert names(food) == ["Food Line"]
    assert food.matches[0].misses == ["By phone only: the practice can make the first call with the patient"]
    assert food.note is not None and food.note.startswith("No service for food insecurity fits no phone or internet")


def test_phone_only_with_an_online_only_service_says_to_get_help_online(session: Session) -> None:
    make_service(session, "Find a Food Bank", ["food"], in_person=False, by_phone=False, phone=None)
    offers = routed(
        session, {"food-ran-out": [ans("often-true")], "food-today": [False], "access": [ans("phone-only")]}
    )
    food = only(offers, "food-insecurity")
    assert food.matches[0].misses == ["Online only: ask reception or a library to help the patient get online"]
    assert "phone but no internet" in food.note


def test_a_full_fit_hides_the_near_misses(session: Session) -> None:
    make_service(session, "Food Line", ["food"], in_person=False, by_phone=True, online=False)
    make_service(session, "Pantry", ["food"], in_person=True)
    offers = routed(session, {"food-worried": [ans("often-true")], "food-today": [False], "access": [ans("no-phone")]})
    food = only(offers, "food-insecurity")
    assert names(food) == ["Pantry"]
    assert food.note is None and food.matches[0].misses == []


def test_a_need_whose_category_has_no_service_says_so(session: Session) -> None:
    [offer] = routed(session, {"legal-immigration": [True]})
    assert offer.matches == []
    assert offer.note is not None and offer.note.startswith("No service for legal or immigration")
    assert "is in the directory" in offer.note


def test_a_phone_service_without_a_number_is_not_called_reachable_by_phone(session: Session) -> None:
    make_service(session, "Housing Options", ["homelessness"], in_person=True, by_phone=True, phone=None)
    offers = routed(
        session, {"housing": [need("homeless")], "homeless-tonight": [False], "access": [ans("phone-only")]}
    )
    offer = only(offers, "homeless")
    assert "By phone (no internet needed)" not in offer.matches[0].reasons
    assert "Face to face (no internet needed)" in offer.matches[0].reasons


def test_a_service_with_no_way_to_reach_it_is_never_above_one_with_contact_details(session: Session) -> None:
    make_service(session, "Bare Housing Record", ["homelessness"], phone=None, assured_date=date(2026, 11, 20))
    make_service(session, "Shelter Line", ["homelessness"], assured_date=date(2024, 1, 1))
    [offer] = routed(session, {"housing": [need("homeless")], "homeless-tonight": [False]})
    assert names(offer) == ["Shelter Line", "Bare Housing Record"]


def test_urgent_need_lists_crisis_services_whatever_the_preferences(session: Session) -> None:
    make_service(session, "Night Line", ["homelessness"], crisis_access="24-hour", in_person=False, online=False)
    make_service(session, "Day Centre", ["homelessness"], crisis_access="same-day", phone=None)
    make_service(session, "Advice Drop-in", ["homelessness"])
    body = {"housing": [need("homeless")], "homeless-tonight": [True], "access": [ans("no-phone")]}
    offer = only(routed(session, body), "homeless")
    assert [m.name for m in offer.act_now] == ["Night Line", "Day Centre"]
    assert offer.act_now[0].reasons[0] == "Open 24 hours: for homeless"
    assert offer.act_now_note is None and not offer.call_999


def test_act_now_ignores_a_crisis_service_in_another_area(session: Session) -> None:
    make_service(
        session, "Bradford Night Line", ["homelessness"], crisis_access="24-hour",
        areas=[("local_authority", "E08000032", None)],
    )  # fmt: skip
    [offer] = routed(session, {"housing": [need("homeless")], "homeless-tonight": [True]}, place=PLACE)
    assert offer.act_now == []
    assert offer.act_now_note is not None and "No 24-hour or same-day service for homeless" in offer.act_now_note


def test_risk_of_harm_now_starts_with_999(session: Session) -> None:
    make_service(session, "DA Helpline", ["domestic-abuse"], crisis_access="24-hour")
    body = {"domestic-abuse": [True], "at-risk-now": [True]}
    [offer] = routed(session, body)
    assert offer.call_999 and offer.need.sensitive
    assert [m.name for m in offer.act_now] == ["DA Helpline"]


def test_risk_of_harm_not_now_is_not_urgent(session: Session) -> None:
    make_service(session, "DA Helpline", ["domestic-abuse"], crisis_access="24-hour")
    [offer] = routed(session, {"domestic-abuse": [True], "at-risk-now": [False]})
    assert not offer.call_999 and offer.act_now == [] and offer.act_now_note is None


def test_non_urgent_need_has_no_act_now(session: Session) -> None:
    make_service(session, "Food Line", ["food"], crisis_access="same-day")
    [offer] = routed(session, {"food-worried": [ans("often-true")], "food-today": [False]})
    assert offer.act_now == [] and offer.act_now_note is None


def test_each_offer_says_where_it_is_and_whether_it_is_open_today(session: Session) -> None:
    # NOW is a Saturday.
    make_service(
        session,
        "Saturday Pantry",
        ["food"],
        open_days=["SA"],
        point=(53.83, -1.53),
        address=("1 Harehills Lane", "LS7 4AB"),
    )
    make_service(session, "Weekday Pantry", ["food"], open_days=["MO", "TU"])
    make_service(session, "Food Line", ["food"])
    [offer] = routed(session, {"food-worried": [ans("often-true")], "food-today": [False]}, place=PLACE)
    by_name = {m.name: m for m in offer.matches}
    assert by_name["Saturday Pantry"].open_today == "Open today 09:00 to 17:00"
    assert by_name["Saturday Pantry"].address == "1 Harehills Lane, LS7 4AB"
    assert by_name["Weekday Pantry"].open_today == "Not open today"
    assert by_name["Food Line"].open_today is None and by_name["Food Line"].address is None
