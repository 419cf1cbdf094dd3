"""Routing and stated capacity: a service not taking referrals is ranked last and says so."""

from sqlmodel import Session

from signpost.directory import capacity
from tests.routing.factories import make_service
from tests.routing.test_route import names, routed
from tests.template.builders import ans

FOOD = {"food-worried": [ans("often-true")], "food-today": [False]}


def test_a_service_not_taking_referrals_is_ranked_last_and_says_so(session: Session) -> None:
    first = make_service(session, "Aardvark Food Bank", ["food"])
    make_service(session, "Zebra Pantry", ["food"])
    [before] = routed(session, FOOD)
    assert names(before) == ["Aardvark Food Bank", "Zebra Pantry"]
    capacity.set_capacity(
        session=session, service_id=first.id, status="not-taking-referrals", wait_band=None, by="editor"
    )
    [offer] = routed(session, FOOD)
    assert names(offer) == ["Zebra Pantry", "Aardvark Food Bank"]
    assert any(r.startswith("Not taking referrals, as of") for r in offer.matches[-1].reasons)


def test_a_waiting_list_is_named_but_not_demoted(session: Session) -> None:
    first = make_service(session, "Aardvark Food Bank", ["food"])
    make_service(session, "Zebra Pantry", ["food"])
    capacity.set_capacity(
        session=session, service_id=first.id, status="waitlist", wait_band="1-3-months", by="provider"
    )
    [offer] = routed(session, FOOD)
    assert names(offer) == ["Aardvark Food Bank", "Zebra Pantry"]
    assert any("Waiting list (wait 1 to 3 months)" in r for r in offer.matches[0].reasons)


def test_a_capacity_is_checked_before_it_is_stored(session: Session) -> None:
    import pytest

    from signpost.errors import Problem

    service = make_service(session, "Aardvark Food Bank", ["food"])
    for status, band in (("full", None), ("waitlist", None), ("taking-referrals", "over-3-months")):
        with pytest.raises(Problem) as raised:
            capacity.set_capacity(session=session, service_id=service.id, status=status, wait_band=band, by="editor")
        assert raised.value.status == 422
    assert capacity.capacities(session=session, service_ids=[service.id]) == {}
