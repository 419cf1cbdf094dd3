"""Events are recorded once per submission key, and hold only coarse attributes."""

from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import select

from signpost import events
from signpost.events.models import EventSubmission, SignpostEvent
from signpost.indicators.models import IndicatorPending


def _event(need: str = "housing-damp") -> events.NewEvent:
    return events.NewEvent(
        occurred_on=date(2026, 10, 3),
        kind="signposted",
        source="template",
        need_code=need,
        ward_code="E05011386",
        ward_vintage=2018,
        imd_decile=1,
        imd_year=2019,
        age_band="25-34",
    )


def test_a_submission_is_recorded_once(session) -> None:  # type: ignore[no-untyped-def]
    key = events.key_hmac("secret", "practice:B86001", "response-1")
    assert events.record(session=session, key=key, source="template", events=[_event(), _event("food-insecure")])
    assert not events.record(session=session, key=key, source="template", events=[_event()])
    assert len(session.exec(select(SignpostEvent)).all()) == 2


def test_the_key_is_an_hmac_not_a_plain_hash() -> None:
    import hashlib

    key = events.key_hmac("secret", "scope", "response-1")
    assert key != hashlib.sha256(b"response-1").hexdigest()
    assert key != events.key_hmac("other secret", "scope", "response-1")


def test_many_submissions_at_once_each_count_once(session) -> None:  # type: ignore[no-untyped-def]
    first, second = (events.key_hmac("secret", "scope", name) for name in ("many-1", "many-2"))
    events.record(session=session, key=first, source="prescriber", events=[_event()])
    fresh = events.record_many(
        session=session, source="prescriber", submissions=[(first, [_event()]), (second, [_event(), _event()])]
    )
    assert fresh == [False, True]
    assert len(session.exec(select(SignpostEvent)).all()) == 3


def test_a_key_repeated_within_one_call_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    key = events.key_hmac("secret", "scope", "twice")
    with pytest.raises(ValueError):
        events.record_many(session=session, source="prescriber", submissions=[(key, [_event()]), (key, [_event()])])
    assert session.exec(select(SignpostEvent)).all() == []


def test_a_large_submission_is_stored_whole_in_several_inserts(session) -> None:  # type: ignore[no-untyped-def]
    needs = [f"need-{i}" for i in range(1_201)]  # past two statements' worth of rows
    key = events.key_hmac("secret", "scope", "large")
    assert events.record(session=session, key=key, source="template", events=[_event(n) for n in needs])
    stored = session.exec(select(SignpostEvent.need_code, SignpostEvent.occurred_on, SignpostEvent.age_band)).all()
    assert sorted(stored) == sorted((n, date(2026, 10, 3), "25-34") for n in needs)


def test_a_batch_stores_each_new_submission_with_its_events_and_marks_only_those_with_events_pending(session) -> None:  # type: ignore[no-untyped-def]
    seen = "s-key"
    events.record(session=session, key=seen, source="prescriber", events=[_event("seen-before")])
    batch = [
        ("b-key", [replace(_event("debt"), services_offered=["svc-1", "svc-2"]), _event("food")]),
        (seen, [_event("again")]),
        ("a-key", []),
        ("c-key", [_event()]),
    ]
    assert events.record_many(session=session, source="prescriber", submissions=batch) == [True, False, True, True]
    stored = session.exec(select(EventSubmission.key_hmac, EventSubmission.event_count, EventSubmission.source)).all()
    assert sorted(stored) == [
        ("a-key", 0, "prescriber"),
        ("b-key", 2, "prescriber"),
        ("c-key", 1, "prescriber"),
        (seen, 1, "prescriber"),
    ]
    by_key = session.exec(
        select(
            EventSubmission.key_hmac, SignpostEvent.need_code, SignpostEvent.services_offered, SignpostEvent.source
        ).join(SignpostEvent, SignpostEvent.submission_id == EventSubmission.id)  # type: ignore[arg-type]
    ).all()
    assert sorted(by_key) == [
        ("b-key", "debt", ["svc-1", "svc-2"], "template"), ("b-key", "food", [], "template"),
        ("c-key", "housing-damp", [], "template"), (seen, "seen-before", [], "template"),
    ]  # fmt: skip
    pending = session.exec(
        select(EventSubmission.key_hmac).join(IndicatorPending, IndicatorPending.submission_id == EventSubmission.id)  # type: ignore[arg-type]
    ).all()
    assert sorted(pending) == ["b-key", "c-key", seen]
