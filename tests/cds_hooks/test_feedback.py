"""Feedback on cards is counted by day, service, outcome and reason code; nothing else of it is kept."""

from datetime import UTC, datetime

from sqlmodel import select

from signpost.cds_hooks import service as cds
from signpost.cds_hooks.models import CdsFeedback
from tests.cds_hooks.conftest import call
from tests.reliability import canary

SERVICE = "signpost-patient-view"


def _feedback(outcome: str, **more):  # type: ignore[no-untyped-def]
    return {"card": "9b9c5e1e-1c1d-4a5f-9f57-0e6b1d7c1a11", "outcome": outcome,
            "outcomeTimestamp": datetime.now(UTC).isoformat(), **more}  # fmt: skip


def test_accepted_and_overridden_cards_are_counted(hooks, ehr, session) -> None:  # type: ignore[no-untyped-def]
    body = {
        "feedback": [
            _feedback("accepted", acceptedSuggestions=[{"id": "s1"}]),
            _feedback(
                "overridden",
                overrideReason={"reason": {"code": "patient-declined", "system": "x"}, "userComment": canary.FREE_TEXT},
            ),
            _feedback("overridden", overrideReason={"reason": {"code": canary.NAME}}),
        ]
    }
    answer = call(hooks, ehr, f"{SERVICE}/feedback", body)
    assert answer.status_code == 200 and answer.json() == {"counted": 3}
    assert cds.feedback_counts(session=session) == {(SERVICE, "accepted"): 1, (SERVICE, "overridden"): 2}
    rows = session.exec(select(CdsFeedback)).all()
    assert sorted(str(r.override_reason) for r in rows) == ["None", "other", "patient-declined"]
    assert not canary.traces_in(repr([r.model_dump() for r in rows]))


def test_malformed_feedback_is_400_and_nothing_is_counted(hooks, ehr, session) -> None:  # type: ignore[no-untyped-def]
    answer = call(hooks, ehr, f"{SERVICE}/feedback", {"feedback": [_feedback("ignored")]})
    assert answer.status_code == 400
    assert "outcome" in answer.json()["detail"]
    assert cds.feedback_counts(session=session) == {}
