"""Raw events past the retention period are deleted once folded; reports over those periods still answer."""

from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from signpost.events import store as events_store
from signpost.events.models import SignpostEvent
from signpost.indicators import retention, rollup, service
from signpost.indicators.suppression import SuppressionPolicy
from tests.events.factories import make_event, record_events

TODAY = date(2016, 3, 15)  # with 24 months kept, the first day kept is 2014-03-01


def _events_on(session: Session, start: date, end: date) -> int:
    query = select(func.count()).where(SignpostEvent.occurred_on >= start, SignpostEvent.occurred_on <= end)
    return session.exec(query).one()


def _plant(session: Session) -> None:
    for day, need, n, key in (
        (date(2014, 1, 20), "homeless", 15, "old-jan"),
        (date(2014, 2, 3), "carer", 10, "old-feb"),
        (date(2014, 3, 9), "homeless", 20, "kept-mar"),
    ):
        record_events(session, [make_event(occurred_on=day, need_code=need) for _ in range(n)], key=key)


def _report(session: Session, start: date, end: date) -> dict:  # type: ignore[type-arg]
    return service.report(session=session, start=start, end=end, group_by=["need"], policy=SuppressionPolicy("none"))


def test_the_first_day_kept_is_a_months_first() -> None:
    assert retention.cutoff(TODAY, 24) == date(2014, 3, 1)
    assert retention.cutoff(date(2026, 1, 31), 1) == date(2025, 12, 1)


def test_old_folded_events_are_deleted_and_their_reports_still_answer(session: Session) -> None:
    _plant(session)
    rollup.fold(session)
    before = {
        p: _report(session, *p) for p in ((date(2014, 1, 1), date(2014, 12, 31)), (date(2014, 2, 1), date(2014, 2, 28)))
    }
    assert retention.retain(session, today=TODAY, months=24) == 25
    assert _events_on(session, date(2014, 1, 1), date(2014, 2, 28)) == 0
    assert _events_on(session, date(2014, 3, 1), date(2014, 3, 31)) == 20
    for period, report in before.items():
        assert _report(session, *period)["rows"] == report["rows"]
        assert _report(session, *period)["total"] == report["total"] == (45 if period[0].month == 1 else 10)


def test_pending_events_wait_for_their_fold(session: Session) -> None:
    _plant(session)  # not folded: the roll-ups do not hold them yet
    assert retention.retain(session, today=TODAY, months=24) == 0
    assert _events_on(session, date(2014, 1, 1), date(2014, 2, 28)) == 25


def test_a_rebuild_after_retention_keeps_the_periods_only_the_roll_ups_hold(session: Session) -> None:
    _plant(session)
    rollup.fold(session)
    retention.retain(session, today=TODAY, months=24)
    year = (date(2014, 1, 1), date(2014, 12, 31))
    quarter = (date(2014, 1, 1), date(2014, 3, 31))
    before = (_report(session, *year), _report(session, *quarter))
    rollup.rebuild(session)
    after = (_report(session, *year), _report(session, *quarter))
    assert [r["rows"] for r in after] == [r["rows"] for r in before]
    assert after[0]["total"] == 15 + 10 + 20


def test_zero_months_keeps_everything(session: Session) -> None:
    _plant(session)
    rollup.fold(session)
    assert retention.retain(session, today=TODAY, months=0) == 0


def _partitioned(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")
    for month in (date(2014, 1, 1), date(2014, 2, 1), date(2014, 3, 1)):
        for statement in events_store.create_month_sql(month):
            session.connection().exec_driver_sql(statement)


def test_retention_drops_the_past_months_partitions_and_the_roll_ups_keep_their_counts(session: Session) -> None:
    _partitioned(session)
    _plant(session)
    rollup.fold(session)
    year = (date(2014, 1, 1), date(2014, 12, 31))
    before = _report(session, *year)
    assert retention.retain(session, today=TODAY, months=24) == 25
    months = events_store.month_partitions(session)
    assert date(2014, 1, 1) not in months and date(2014, 2, 1) not in months  # dropped whole
    assert date(2014, 3, 1) in months  # kept: its month is within retention
    assert _events_on(session, date(2014, 1, 1), date(2014, 2, 28)) == 0
    after = _report(session, *year)
    assert after["rows"] == before["rows"] and after["total"] == before["total"] == 45


def test_a_past_partition_holding_a_pending_event_stays_until_it_is_folded(session: Session) -> None:
    _partitioned(session)
    _plant(session)
    rollup.fold(session)
    record_events(session, [make_event(occurred_on=date(2014, 2, 5))], key="late-feb")  # pending
    assert retention.retain(session, today=TODAY, months=24) == 25  # January whole, February's folded rows
    months = events_store.month_partitions(session)
    assert date(2014, 1, 1) not in months and date(2014, 2, 1) in months
    assert _events_on(session, date(2014, 2, 1), date(2014, 2, 28)) == 1
    rollup.fold(session)
    assert retention.retain(session, today=TODAY, months=24) == 1
    assert date(2014, 2, 1) not in events_store.month_partitions(session)
    assert _report(session, date(2014, 2, 1), date(2014, 2, 28))["total"] == 11
