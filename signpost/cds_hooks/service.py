"""The CDS Services this app offers, and the feedback counts kept about their cards."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from signpost.cds_hooks.cards import OVERRIDE_REASONS
from signpost.cds_hooks.models import CdsFeedback
from signpost.cds_hooks.schemas import Feedback
from signpost.flows.clinical_record import PREFETCH

PATIENT_VIEW = "signpost-patient-view"
ORDER_SELECT = "signpost-order-select"
SERVICES: dict[str, dict[str, Any]] = {
    PATIENT_VIEW: {
        "hook": "patient-view",
        "title": "Signpost: social needs",
        "description": "Says when the social needs template was not asked in the last 12 months, and for each social "
        "need on record offers the matched local services, with a draft referral.",
        "id": PATIENT_VIEW,
        "prefetch": PREFETCH,
    },
    ORDER_SELECT: {
        "hook": "order-select",
        "title": "Signpost: services for a social prescribing referral",
        "description": "When a referral to social prescribing (SNOMED CT 871731000000106) is selected, offers the "
        "local services matched to the social needs on record.",
        "id": ORDER_SELECT,
        "prefetch": PREFETCH,
    },
}
_REASON_CODES = {r["code"] for r in OVERRIDE_REASONS}


def discovery() -> dict[str, Any]:
    """The discovery document (GET /cds-services)."""
    return {"services": list(SERVICES.values())}


def record_feedback(*, session: Session, service_id: str, feedback: list[Feedback]) -> int:
    """Count each card outcome (day, service, outcome, reason code); the caller commits. Comments are never kept."""
    today = datetime.now(UTC).date()
    for item in feedback:
        reason = None
        if item.outcome == "overridden" and item.overrideReason and item.overrideReason.reason:
            code = item.overrideReason.reason.get("code")
            reason = code if code in _REASON_CODES else "other"
        session.add(
            CdsFeedback(
                day=today,
                service_id=service_id,
                outcome=item.outcome,
                accepted_suggestions=len(item.acceptedSuggestions),
                override_reason=reason,
            )
        )
    return len(feedback)


def feedback_counts(*, session: Session) -> dict[tuple[str, str], int]:
    """(service, outcome) → cards."""
    rows = session.exec(
        select(col(CdsFeedback.service_id), col(CdsFeedback.outcome), func.count()).group_by(
            col(CdsFeedback.service_id), col(CdsFeedback.outcome)
        )
    ).all()
    return {(s, o): n for s, o, n in rows}
