"""Referral outcome indicators from the roll-up (which outlives the referral rows), under the published policy."""

from collections import defaultdict
from datetime import date
from typing import Any

from sqlmodel import Session

from signpost.errors import Problem
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy
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


def group_value(name: str | None, row: Any) -> Any:
    if name is None:
        return "all"
    value = getattr(row, GROUPINGS[name])
    if name == "month":
        return value.isoformat()[:7]
    if name == "decile":
        return value or "unknown"
    return value


class Cells:
    """The counts of one published row (or the total), each with its cell key and the days to accept."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.keys: dict[str, int] = defaultdict(int)
        self.days_to_accept = 0

    def add(self, row: Any, *, as_measure: str | None = None) -> None:
        """Count a roll-up row (under `as_measure` when given: declines of every reason as one)."""
        measure = as_measure or row.measure
        self.counts[measure] += row.count
        # Keys are additive mod CELL_KEYS, so the cell read from many roll-up rows has the key of its referrals.
        self.keys[measure] = (self.keys[measure] + row.cell_key) % CELL_KEYS
        if row.measure == "accepted":  # days are kept on the acceptance cells only: the mean is of those
            self.days_to_accept += row.days_total

    def publish(self, measure: str, policy: SuppressionPolicy) -> int | None:
        return policy.publish(self.counts.get(measure, 0), self.keys.get(measure, 0))

    def total(self, measures: list[str], policy: SuppressionPolicy) -> int | None:
        return policy.total([self.counts.get(m, 0) for m in measures], [self.keys.get(m, 0) for m in measures])

    def mean_days_to_accept(self, policy: SuppressionPolicy) -> float | None:
        """Mean days from referral to acceptance, only beside a published acceptance count of the same cells."""
        # A mean beside a suppressed count would disclose what the suppression hides (its cells are few).
        accepted = self.counts.get("accepted", 0)
        if not accepted or not self.publish("accepted", policy):
            return None
        return round(self.days_to_accept / accepted, 1)


def _published(cells: Cells, policy: SuppressionPolicy) -> dict[str, Any]:
    return {
        **{name.replace("-60", "_within_60_days"): cells.publish(name, policy) for name in FUNNEL},
        "declined": {reason: cells.publish(f"declined-{reason}", policy) for reason in DECLINE_REASONS},
        "declined_total": cells.total([f"declined-{r}" for r in DECLINE_REASONS], policy),
        "not_completed": {reason: cells.publish(f"failed-{reason}", policy) for reason in FAIL_REASONS},
        "mean_days_to_accept": cells.mean_days_to_accept(policy),
    }


def collect(*, session: Session, start: date, end: date, group_by: str | None) -> tuple[dict[Any, Cells], Cells]:
    """The roll-up's cells for whole months start..end, by one grouping, and their total."""
    groups: dict[Any, Cells] = defaultdict(Cells)
    total = Cells()
    for row in store.outcome_rows(session, start.replace(day=1), end):
        groups[group_value(group_by, row)].add(row)
        total.add(row)
    return groups, total


def outcome_report(
    *, session: Session, start: date, end: date, group_by: str | None, policy: SuppressionPolicy
) -> dict[str, Any]:
    """Referrals made, received, accepted, declined by reason, completed (and within 60 days), by one grouping."""
    groups, total = collect(session=session, start=start, end=end, group_by=group_by)
    rows = [
        {"group": {group_by or "all": key}, **_published(groups[key], policy)}
        for key in sorted(groups, key=lambda k: (isinstance(k, str), str(k).zfill(3)))
    ]
    return {
        "indicator": "referral-outcomes",
        "period": {"start": start.replace(day=1).isoformat(), "end": end.isoformat()},
        "group_by": group_by,
        "suppression": policy.as_dict(),
        "rows": rows,
        "total": _published(total, policy),
        "note": "Counted by the month each referral was made; kept after the referrals themselves are deleted.",
    }
