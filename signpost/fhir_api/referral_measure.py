"""The referral outcome Measures (fhir/Measure-referral-*.json) evaluated from the outcome roll-up.

Every figure goes through the one publication path: each stratum's count with the cell key of the referrals it
counts (perturbed, suppressed, rounded), the method stated as on every MeasureReport. The time-to-acceptance
Measure's mean is given only beside a published count of the same cells (a mean beside a suppressed count would
disclose what the suppression hides).
"""

from datetime import UTC, date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlmodel import Session

from signpost.indicators import measures
from signpost.indicators.service import months_spanned
from signpost.indicators.suppression import SuppressionPolicy
from signpost.referrals import report, store

LANGUAGE = "text/x-signpost-referral-outcome"
REASON_SYSTEM = f"{measures.BASE}/CodeSystem/referral-status-reason"
SERVICE_SYSTEM = f"{measures.BASE}/HealthcareService"
MONTH_SYSTEM = f"{measures.BASE}/CodeSystem/calendar-month"
DAYS = {"system": "http://unitsofmeasure.org", "code": "d", "unit": "days"}
# Stratifier criteria expression -> the roll-up grouping it reads (report.GROUPINGS), or the decline reason.
STRATIFIERS = {
    "month": "month",
    "need": "need",
    "category": "category",
    "service": "service",
    "ward": "ward",
    "imd_decile": "decile",
    "reason": "reason",
}


def is_referral_measure(measure: dict[str, Any]) -> bool:
    return measures.criteria_language(measure) == LANGUAGE


def _selection(expression: str) -> tuple[str, bool]:
    """`measure=accepted;observe=days-to-accept`: the roll-up measure counted, and whether days are observed."""
    clauses = dict(c.strip().partition("=")[::2] for c in expression.split(";") if c.strip())
    return clauses.get("measure", "made"), clauses.get("observe") == "days-to-accept"


def _counted(row: Any, measure: str) -> bool:
    if measure == "declined":  # every reason: the reason is a stratifier
        return str(row.measure).startswith("declined-")
    return bool(row.measure == measure)


def _key(group: str, row: Any) -> Any:
    if group == "reason":
        return str(row.measure).removeprefix("declined-")
    return report.group_value(group, row)


def _value(group: str, value: Any) -> dict[str, Any]:
    if value in (measures.service.UNKNOWN, 0, None):
        return measures._unknown_value()
    if group in ("ward", "need", "category"):
        return measures._value({"ward": "ward", "need": "need", "category": "category"}[group], value, {})
    if group == "decile":
        return measures._value("imd_decile", value, {})
    system = {"reason": REASON_SYSTEM, "service": SERVICE_SYSTEM, "month": MONTH_SYSTEM}[group]
    return {"coding": [{"system": system, "code": str(value)}], "text": str(value)}


def _stratum_parts(cells: report.Cells, measure: str, observe: bool, policy: SuppressionPolicy) -> dict[str, Any]:
    population = measures._population(cells.counts.get(measure, 0), cells.keys.get(measure, 0), policy)
    parts: dict[str, Any] = {"population": [population]}
    if observe:
        mean = cells.mean_days_to_accept(policy)
        if mean is not None:
            parts["measureScore"] = {"value": mean, **DAYS}
    return parts


def _months(start: date, end: date) -> list[str]:
    first = start.replace(day=1)
    return [f"{first + relativedelta(months=n):%Y-%m}" for n in range(months_spanned(start, end))]


def evaluate(
    *, session: Session, measure: dict[str, Any], start: date, end: date, policy: SuppressionPolicy
) -> dict[str, Any]:
    """A summary MeasureReport of one referral outcome Measure over whole months start..end, as published."""
    group_def = measure["group"][0]
    counted, observe = _selection(group_def["population"][0]["criteria"]["expression"])
    rows = [r for r in store.outcome_rows(session, start.replace(day=1), end) if _counted(r, counted)]
    total = report.Cells()
    for row in rows:
        total.add(row, as_measure=counted)
    stratifiers = []
    for stratifier in group_def.get("stratifier", []):
        group = STRATIFIERS[stratifier["criteria"]["expression"]]
        by_value: dict[Any, report.Cells] = {}
        for row in rows:
            by_value.setdefault(_key(group, row), report.Cells()).add(row, as_measure=counted)
        # Known axes are listed whole (zeros are published as 0); others as far as the roll-up has them.
        axis: list[Any] = {"reason": report.DECLINE_REASONS, "month": _months(start, end)}.get(group) or sorted(
            by_value, key=lambda v: (isinstance(v, str), str(v).zfill(3))
        )
        strata = [
            {
                "value": _value(group, value),
                **_stratum_parts(by_value.get(value, report.Cells()), counted, observe, policy),
            }
            for value in axis
        ]
        stratifiers.append({"code": [stratifier["code"]], "stratum": strata})
    report_id = f"{measure['id']}-{start:%Y%m%d}-{end:%Y%m%d}"
    found: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": report_id,
        "extension": [
            {"url": f"{measures.BASE}/StructureDefinition/suppression-policy", "valueString": policy.description},
            {"url": f"{measures.BASE}/StructureDefinition/disclosure-method", "valueCode": policy.method},
        ],
        "identifier": [{"system": measures.REPORT_IDENTIFIER_SYSTEM, "value": report_id}],
        "status": "complete",
        "type": "summary",
        "measure": measure["url"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "group": [{**_stratum_parts(total, counted, observe, policy), "stratifier": stratifiers}],
    }
    if measure.get("improvementNotation"):
        found["improvementNotation"] = measure["improvementNotation"]
    return found
