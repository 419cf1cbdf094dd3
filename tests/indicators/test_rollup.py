"""Roll-ups are kept current by every recorded event and agree exactly with a recount."""

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func
from sqlmodel import Session, select

from signpost import events
from signpost.events.models import SignpostEvent
from signpost.indicators import rollup
from signpost.indicators.models import IndicatorCount
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
        rollup.rebuild(session)
        assert rollup.current(session) == live
    finally:
        savepoint.rollback()
