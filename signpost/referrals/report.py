"""Referral outcome indicators from the roll-up (which outlives the referral rows), under the published policy."""

from collections import defaultdict
from datetime import date
from typing import Any

from sqlmodel import Session

from signpost.errors import Problem
from signpost.indicators.suppression import SuppressionPolicy
from signpost.referrals import service as referrals
from signpost.referrals import store

GROUPINGS = {
    "month": "month",
    "need": "need_code",
    "category": "category_code",
    "service": "service_id",
    "ward": "ward_code",
    "decile": "imd_decile",
}
DECLINE_REASONS = sorted(referrals.REASONS["rejected"])
FAIL_REASONS = sorted(referrals.REASONS["failed"])
# The funnel, in order: made -> accepted -> completed within 60 days of referral (the SDOH closed-loop measure).
FUNNEL = ("made", "received", "accepted", "completed", "completed-60")


def parse_group_by(text: str) -> str | None:
    if not text:
        return None
    if text not in GROUPINGS:
        raise Problem(
            422,
            f"group_by must be one of {', '.join(GROUPINGS)}.",
            errors=[{"loc": "group_by", "message": "unknown grouping"}],
        )
    return text


def _group_value(name: str | None, row: Any) -> Any:
    if name is None:
        return "all"
    value = getattr(row, GROUPINGS[name])
    if name == "month":
        return value.isoformat()[:7]
    if name == "decile":
        return value or "unknown"
    return value


def _published(counts: dict[str, int], days: int, policy: SuppressionPolicy) -> dict[str, Any]:
    accepted = policy.publish(counts.get("accepted", 0))
    mean = None
    if accepted and counts.get("accepted"):
        mean = round(days / counts["accepted"], 1)
    return {
        **{name.replace("-60", "_within_60_days"): policy.publish(counts.get(name, 0)) for name in FUNNEL},
        "declined": {reason: policy.publish(counts.get(f"declined-{reason}", 0)) for reason in DECLINE_REASONS},
        "declined_total": policy.total([counts.get(f"declined-{r}", 0) for r in DECLINE_REASONS]),
        "not_completed": {reason: policy.publish(counts.get(f"failed-{reason}", 0)) for reason in FAIL_REASONS},
        # A mean is shown only beside a published acceptance count: a suppressed count has no visible mean.
        "mean_days_to_accept": mean,
    }


def outcome_report(
    *, session: Session, start: date, end: date, group_by: str | None, policy: SuppressionPolicy
) -> dict[str, Any]:
    """Referrals made, received, accepted, declined by reason, completed (and within 60 days), by one grouping."""
    counts: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    days: dict[Any, int] = defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    total_days = 0
    for row in store.outcome_rows(session, start.replace(day=1), end):
        key = _group_value(group_by, row)
        counts[key][row.measure] += row.count
        totals[row.measure] += row.count
        days[key] += row.days_total
        total_days += row.days_total
    rows = [
        {"group": {group_by or "all": key}, **_published(counts[key], days[key], policy)}
        for key in sorted(counts, key=lambda k: (isinstance(k, str), str(k).zfill(3)))
    ]
    return {
        "indicator": "referral-outcomes",
        "period": {"start": start.replace(day=1).isoformat(), "end": end.isoformat()},
        "group_by": group_by,
        "suppression": policy.as_dict(),
        "rows": rows,
        "total": _published(totals, total_days, policy),
        "note": "Counted by the month each referral was made; kept after the referrals themselves are deleted.",
    }
