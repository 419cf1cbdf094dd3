"""Roll-ups count every recorded event once, pending or folded, and agree exactly with a recount."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func
from sqlmodel import Session, select

from signpost import events
from signpost.events.models import SignpostEvent
from signpost.indicators import rollup, service
from signpost.indicators.models import IndicatorCount, IndicatorPending
from tests.events.factories import make_event, record_events

# Other tests' committed events may share the database (SQLite savepoints), so these compare changes.


def _added(session: Session, before: "rollup.Counter[rollup.Key]") -> "rollup.Counter[rollup.Key]":
    return rollup.current(session) - before


def test_recording_an_event_counts_it_in_every_cube(session: Session) -> None:
    before = rollup.current(session)
    record_events(session, [make_event(), make_event(need_code="carer")])
    cells = _added(session, before)
    for cube in rollup.CUBES:
        assert sum(n for key, n in cells.items() if key[0] == cube.name) == 2


def test_a_retried_submission_is_not_counted_twice(session: Session) -> None:
    before = rollup.current(session)
    key = events.key_hmac("s", "test", "same")
    events.record(session=session, key=key, source="template", events=[make_event()])
    events.record(session=session, key=key, source="template", events=[make_event()])
    assert sum(n for key, n in _added(session, before).items() if key[0] == "day") == 1


def test_same_cell_from_two_submissions_adds_up(session: Session) -> None:
    before = rollup.current(session)
    record_events(session, [make_event()], key="a")
    record_events(session, [make_event()], key="b")
    day_cells = [n for key, n in _added(session, before).items() if key[0] == "day"]
    assert day_cells == [2]


def test_rebuild_restores_lost_roll_ups(session: Session) -> None:
    record_events(session, [make_event(), make_event(imd_decile=None, ward_code=None)])
    before = rollup.current(session)
    session.execute(delete(IndicatorCount))
    assert rollup.rebuild(session) == session.exec(select(func.count()).select_from(SignpostEvent)).one()
    assert rollup.current(session) == before


def test_unknown_ward_and_decile_are_kept_as_unknown(session: Session) -> None:
    before = rollup.current(session)
    record_events(session, [make_event(ward_code=None, ward_vintage=None, imd_decile=None, imd_year=None)])
    (key,) = [k for k in _added(session, before) if k[0] == "day"]
    cell = dict(zip(rollup.KEY_COLUMNS, key, strict=True))
    assert (cell["ward_code"], cell["imd_decile"]) == (rollup.UNKNOWN_TEXT, rollup.UNKNOWN_NUMBER)


event_strategy = st.builds(
    make_event,
    occurred_on=st.integers(0, 400).map(lambda d: date(2025, 6, 1) + timedelta(days=d)),
    kind=st.sampled_from(["signposted", "referred"]),
    source=st.sampled_from(["template", "prescriber"]),
    need_code=st.sampled_from(["homeless", "carer", "food-insecurity"]),
    category_code=st.sampled_from([None, "housing", "food"]),
    ward_code=st.sampled_from([None, "E05011386", "E05011387"]),
    imd_decile=st.sampled_from([None, 1, 2, 10]),
    age_band=st.sampled_from(["unknown", "25-34", "75+"]),
    practice_ods=st.sampled_from([None, "B86001", "B86002"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(event_strategy, max_size=8), max_size=6))
def test_roll_ups_equal_a_recount_of_the_events(session: Session, submissions: list[list[events.NewEvent]]) -> None:
    savepoint = session.begin_nested()
    try:
        before = rollup.current(session)
        for i, submission in enumerate(submissions):
            record_events(session, submission, key=f"property-{i}")
        live = rollup.current(session)
        assert live - before == rollup.tally(e for s in submissions for e in s)
        while rollup.fold(session, limit=2):
            assert rollup.current(session) == live
        assert rollup.stored(session) == live
        rollup.rebuild(session)
        assert rollup.current(session) == live
    finally:
        savepoint.rollback()


def _pending(session: Session) -> set[int]:
    return set(session.exec(select(IndicatorPending.submission_id)).all())


def test_recording_marks_the_submission_pending_and_stores_no_count(session: Session) -> None:
    stored, pending = rollup.stored(session), _pending(session)
    record_events(session, [make_event(), make_event(need_code="carer")], key="pending")
    assert rollup.stored(session) == stored
    assert len(_pending(session) - pending) == 1


def test_a_retry_marks_nothing_more(session: Session) -> None:
    record_events(session, [make_event()], key="once")
    pending = _pending(session)
    key = events.key_hmac("s", "test", "once")
    assert not events.record(session=session, key=key, source="template", events=[make_event()])
    assert _pending(session) == pending


def test_folding_moves_pending_events_into_the_cubes(session: Session) -> None:
    record_events(session, [make_event(), make_event(need_code="carer")], key="fold-a")
    record_events(session, [make_event(ward_code=None, imd_decile=None)], key="fold-b")
    counted = rollup.current(session)
    assert rollup.fold(session, limit=1) == 1
    assert rollup.current(session) == counted
    while rollup.fold(session):
        pass
    assert _pending(session) == set()
    assert rollup.stored(session) == counted


def test_a_report_counts_the_same_before_and_after_folding(session: Session) -> None:
    # Whole and part years, quarters, months and days, from the cubes that answer them (years no other test uses).
    days = [date(2018, 12, 30), date(2019, 1, 1), date(2019, 1, 31), date(2019, 2, 14), date(2019, 12, 31)]
    for i, day in enumerate(days):
        kind = "referred" if i % 2 else "signposted"
        record_events(
            session,
            [
                make_event(occurred_on=day, kind=kind, ward_code=None if i == 3 else "E05011386"),
                make_event(occurred_on=day, need_code="carer", imd_decile=None, category_code=None, practice_ods=None),
            ],
            key=f"report-{i}",
        )
    asks = [
        (date(2019, 1, 1), date(2019, 12, 31), ["ward", "imd_decile", "need"], None),
        (date(2018, 12, 15), date(2019, 2, 20), ["month", "category"], None),
        (date(2019, 1, 1), date(2019, 1, 31), ["practice", "age_band"], {"kind": "referred"}),
        (date(2018, 1, 1), date(2019, 12, 31), ["source", "kind"], {"source": "template"}),
    ]

    def counts() -> list[dict[tuple[object, ...], int]]:
        return [service.count(session=session, start=a, end=b, group_by=g, filters=f).cells for a, b, g, f in asks]

    pending = counts()
    assert pending[0] == {
        ("E05011386", 1, "homeless"): 3,
        ("unknown", 1, "homeless"): 1,
        ("E05011386", "unknown", "carer"): 4,
    }
    assert pending[2] == {("B86001", "25-34"): 1}
    while rollup.fold(session):
        pass
    assert _pending(session) == set()
    assert counts() == pending


def _event_keys(session: Session, start: date, end: date) -> dict[str, int]:
    """Each need's cell key over [start, end], from the events' own record keys."""
    found: dict[str, int] = {}
    rows = session.exec(
        select(SignpostEvent.need_code, SignpostEvent.record_key).where(
            SignpostEvent.occurred_on >= start, SignpostEvent.occurred_on <= end
        )
    )
    for need, key in rows:
        found[need] = (found.get(need, 0) + key) % 256
    return found


def test_cell_keys_are_the_sums_of_record_keys_pending_folded_and_rebuilt(session: Session) -> None:
    start, end = date(2017, 1, 1), date(2017, 12, 31)
    record_events(
        session, [make_event(occurred_on=date(2017, m, 3), need_code=n) for m in (1, 2, 5) for n in ("carer", "debt")]
    )
    record_events(session, [make_event(occurred_on=date(2017, 2, 9), need_code="carer")], key="second")
    expected = _event_keys(session, start, end)
    assert len(set(expected.values())) >= 1 and expected.keys() == {"carer", "debt"}

    def reported() -> dict[str, int]:
        counts = service.count(session=session, start=start, end=end, group_by=["need"])
        return {cell[0]: key for cell, key in counts.cell_keys.items()}

    assert reported() == expected  # pending
    rollup.fold(session)
    assert reported() == expected  # folded (a year cube, read whole)
    rollup.rebuild(session)
    assert reported() == expected


def test_every_event_gets_a_random_record_key(session: Session) -> None:
    record_events(session, [make_event(occurred_on=date(2017, 6, 1)) for _ in range(200)], key="many")
    found = session.exec(select(SignpostEvent.record_key).where(SignpostEvent.occurred_on == date(2017, 6, 1))).all()
    assert all(0 <= k < 256 for k in found) and len(set(found)) > 50
