"""A holiday or special opening replaces the day's regular hours in "open today" and the urgent ranking."""

from datetime import UTC, date, datetime, time

from sqlmodel import Session

from signpost.directory.models import HolidaySchedule
from signpost.routing import route
from signpost.template import assess, validate
from tests.routing.factories import LEEDS, make_service
from tests.template.builders import make_response, need

# 2026-12-25 is a Friday.
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)


def _routed(session: Session, now: datetime):  # type: ignore[no-untyped-def]
    checked, issues = validate(make_response({"housing": [need("homeless")], "homeless-tonight": [True]}))
    assert checked is not None, issues
    [offer] = route(
        session=session, assessment=assess(checked), place=None, age=40, per_need=3, local_authorities=[LEEDS], now=now
    )
    return {m.name: m for m in offer.matches}


def test_a_service_closed_for_christmas_is_not_open_today_and_ranks_below_one_that_is(session: Session) -> None:
    closed = make_service(session, "Friday Housing Desk", ["homelessness"], open_days=["FR"])
    make_service(session, "Friday Night Shelter", ["homelessness"], open_days=["FR"], assured_date=date(2025, 1, 1))
    session.add(
        HolidaySchedule(
            service_id=closed.id, valid_from=date(2026, 12, 24), valid_to=date(2026, 12, 26), description="Christmas"
        )
    )
    session.flush()
    matches = _routed(session, CHRISTMAS)
    desk, shelter = matches["Friday Housing Desk"], matches["Friday Night Shelter"]
    assert desk.open_today == "Closed today (Christmas)"
    assert not desk.same_day and "Open today" not in desk.reasons
    assert shelter.open_today == "Open today 09:00 to 17:00" and "Open today" in shelter.reasons
    # The fresher verification no longer wins: the open one goes first for an urgent need.
    assert list(matches)[0] == "Friday Night Shelter"
    # A week later the regular hours hold again.
    assert _routed(session, datetime(2027, 1, 1, 10, 0, tzinfo=UTC))["Friday Housing Desk"].open_today == (
        "Open today 09:00 to 17:00"
    )


def test_special_hours_open_a_service_on_a_day_it_is_usually_shut(session: Session) -> None:
    service = make_service(session, "Weekday Advice", ["homelessness"], open_days=["MO"])
    session.add(
        HolidaySchedule(
            service_id=service.id,
            valid_from=date(2026, 12, 25),
            valid_to=date(2026, 12, 25),
            closed=False,
            opens_at=time(10),
            closes_at=time(13),
            description="Christmas lunch",
        )
    )
    session.flush()
    match = _routed(session, CHRISTMAS)["Weekday Advice"]
    assert match.open_today == "Open today 10:00 to 13:00 (Christmas lunch)"
    assert match.same_day
