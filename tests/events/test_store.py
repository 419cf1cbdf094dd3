"""The events' store on both databases: recording once, the roll-ups told by their trigger, PostgreSQL's partitions."""

from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import Session

from signpost.events import store
from tests.events.factories import make_event


def _pending(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM indicator_pending")).scalar_one())


def _events(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM signpost_event")).scalar_one())


def _postgres(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("partitions are PostgreSQL's")


def _held_in(session: Session, day: date) -> set[str]:
    """The partitions the events of `day` are stored in."""
    rows = session.execute(
        text("SELECT DISTINCT tableoid::regclass::text FROM signpost_event WHERE occurred_on = :d"), {"d": day}
    )
    return set(rows.scalars())


def test_a_batch_is_stored_once_and_each_new_submission_is_pending_for_the_roll_ups(session: Session) -> None:
    pending, stored = _pending(session), _events(session)
    batch = [("key-a", [make_event(), make_event(need_code="carer")]), ("key-b", [make_event()])]
    assert store.record_many(session, source="prescriber", submissions=batch) == [True, True]
    assert _events(session) == stored + 3
    assert _pending(session) == pending + 2
    again = [("key-a", [make_event()]), ("key-c", [make_event()])]
    assert store.record_many(session, source="prescriber", submissions=again) == [False, True]
    assert _events(session) == stored + 4
    assert _pending(session) == pending + 3
    assert store.is_recorded(session, key="key-a") and not store.is_recorded(session, key="key-z")


def test_a_submission_with_no_events_is_recorded_but_never_pending(session: Session) -> None:
    pending = _pending(session)
    assert store.record(session, key="empty", source="template", events=[])
    assert store.is_recorded(session, key="empty")
    assert _pending(session) == pending


def test_a_key_repeated_within_one_call_is_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="repeats"):
        store.record_many(session, source="template", submissions=[("same", []), ("same", [])])


def test_sqlite_makes_no_partitions(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's no-op")
    assert store.ensure_partitions(session, today=date(2026, 12, 4)) == []
    assert store.month_partitions(session) == {}


def test_events_go_to_their_months_partition_and_other_days_to_the_default(session: Session) -> None:
    _postgres(session)
    made = store.ensure_partitions(session, today=date(2031, 5, 20), ahead=1)
    assert made == ["signpost_event_2031_05", "signpost_event_2031_06"]
    assert store.ensure_partitions(session, today=date(2031, 5, 20), ahead=1) == []  # already there
    store.record(session, key="may", source="template", events=[make_event(occurred_on=date(2031, 5, 31))])
    store.record(session, key="june", source="template", events=[make_event(occurred_on=date(2031, 6, 1))])
    store.record(session, key="long-ago", source="template", events=[make_event(occurred_on=date(1999, 1, 2))])
    assert _held_in(session, date(2031, 5, 31)) == {"signpost_event_2031_05"}
    assert _held_in(session, date(2031, 6, 1)) == {"signpost_event_2031_06"}
    assert _held_in(session, date(1999, 1, 2)) == {store.DEFAULT_PARTITION}


def test_a_new_months_partition_takes_in_the_events_the_default_held_for_it(session: Session) -> None:
    _postgres(session)
    day = date(2033, 2, 14)
    store.record(session, key="early", source="template", events=[make_event(occurred_on=day) for _ in range(3)])
    assert _held_in(session, day) == {store.DEFAULT_PARTITION}
    assert store.ensure_partitions(session, today=day, ahead=0) == ["signpost_event_2033_02"]
    assert _held_in(session, day) == {"signpost_event_2033_02"}
    assert session.execute(text("SELECT count(*) FROM signpost_event WHERE occurred_on = :d"), {"d": day}).scalar() == 3


def test_the_migration_partitioned_the_table_with_the_coming_months(session: Session) -> None:
    _postgres(session)
    kind = session.execute(text("SELECT relkind FROM pg_class WHERE oid = 'signpost_event'::regclass")).scalar()
    assert kind == "p"
    this_month = date.today().replace(day=1)
    assert this_month in store.month_partitions(session)


def test_the_events_package_imports_nothing_of_the_indicators() -> None:
    import ast
    from pathlib import Path

    import signpost.events

    found = []
    for path in Path(signpost.events.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            modules += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name}: {m}" for m in modules if m.startswith("signpost.indicators")]
    assert found == []
