"""A worker routes from what it read of a category for `routing_cache_seconds`, then reads it again; age and
contact preferences are still checked for each patient."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session

from signpost import remember
from signpost.directory import read_model
from signpost.routing import service as routing
from signpost.template import assess, validate
from tests.routing.factories import LEEDS, make_service
from tests.routing.test_route import NOW, names
from tests.template.builders import ans, make_response, need

FOOD = {"food-worried": [ans("often-true")], "food-today": [False]}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    routing.forget_directory()  # what another test read is not this test's directory
    yield
    routing.forget_directory()


def _routed(
    session: Session, overrides: dict[str, Any], *, remember: float, age: int | None = 40, category: str = "food"
) -> Any:
    checked, issues = validate(make_response(overrides))
    assert checked is not None, issues
    offers = routing.route(
        session=session, assessment=assess(checked), place=None, age=age, per_need=3,
        local_authorities=[LEEDS], now=NOW, remember_seconds=remember,
    )  # fmt: skip
    return next(offer for offer in offers if offer.category_code == category)


def test_a_category_read_is_used_again_until_it_is_old(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    bank = make_service(session, "Food Bank", ["food"])
    assert names(_routed(session, FOOD, remember=5)) == ["Food Bank"]
    bank.status = "inactive"
    session.add(bank)
    session.flush()
    assert names(_routed(session, FOOD, remember=5)) == ["Food Bank"]  # read under 5 s ago
    assert names(_routed(session, FOOD, remember=0)) == []  # 0: read every time
    clock = remember.monotonic() + 5
    monkeypatch.setattr(remember, "monotonic", lambda: clock)
    assert names(_routed(session, FOOD, remember=5)) == []  # 5 s on: read again


def test_forgetting_reads_the_directory_afresh(session: Session) -> None:
    assert names(_routed(session, FOOD, remember=60)) == []
    make_service(session, "New Food Bank", ["food"])
    assert names(_routed(session, FOOD, remember=60)) == []
    routing.forget_directory()
    assert names(_routed(session, FOOD, remember=60)) == ["New Food Bank"]


def test_what_is_remembered_serves_every_age_and_preference(session: Session) -> None:
    make_service(session, "Young People's Pantry", ["food"], minimum_age=16, maximum_age=24)
    make_service(session, "Pantry", ["food"])
    assert names(_routed(session, FOOD, remember=60, age=20)) == ["Pantry", "Young People's Pantry"]
    assert names(_routed(session, FOOD, remember=60, age=40)) == ["Pantry"]
    make_service(session, "Phone Skills", ["digital-inclusion"], in_person=False, by_phone=True)
    make_service(session, "Library Drop-in", ["digital-inclusion"], in_person=True, by_phone=False)
    phone, no_phone = {"access": [ans("phone-only")]}, {"access": [ans("no-phone")]}
    both = ["Library Drop-in", "Phone Skills"]
    assert sorted(names(_routed(session, phone, remember=60, category="digital-inclusion"))) == both
    assert names(_routed(session, no_phone, remember=60, category="digital-inclusion")) == ["Library Drop-in"]


def test_a_route_does_not_change_what_is_remembered(session: Session) -> None:
    make_service(session, "Warm Food", ["food", "fuel-energy"])
    food_and_fuel = {**FOOD, "money": [need("fuel-poverty")]}
    assert names(_routed(session, food_and_fuel, remember=60, category="fuel-energy")) == ["Warm Food"]
    assert names(_routed(session, FOOD, remember=60)) == ["Warm Food"]
    held = read_model._remembered.held(["food", "fuel-energy"], 60, session)
    assert [c.categories for services in held.values() for c in services.values()] == [set(), set()]
