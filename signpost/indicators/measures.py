"""The referral indicators as FHIR Measures, and their evaluation into summary MeasureReports."""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from signpost.config import data_dir
from signpost.indicators import service
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy

BASE = "https://signpost.example.org/fhir"
FILTER_LANGUAGE = "text/x-signpost-filter"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
DATA_ABSENT_CODES = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
WARD_SYSTEM = "http://statistics.data.gov.uk/id/statistical-geography"
DECILE_SYSTEM = f"{BASE}/CodeSystem/imd-decile"
NEED_SYSTEM = f"{BASE}/CodeSystem/social-need"
CATEGORY_SYSTEM = f"{BASE}/CodeSystem/service-category"
REPORT_IDENTIFIER_SYSTEM = f"{BASE}/NamingSystem/measure-report"
INITIAL_POPULATION = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/measure-population",
            "code": "initial-population",
            "display": "Initial Population",
        }
    ]
}
# stratifier criteria expression -> report grouping
STRATIFIER_GROUPS = {"ward": "ward", "imd_decile": "imd_decile", "need": "need", "category": "category"}


@dataclass(frozen=True)
class MeasureFilter:
    kind: str | None = None
    needs: tuple[str, ...] | None = None


def parse_filter(expression: str) -> MeasureFilter:
    """`kind=referred;need=a,b` (or `all`): the population a Measure counts."""
    kind, needs = None, None
    for clause in expression.split(";"):
        name, _, value = clause.strip().partition("=")
        if name == "kind":
            kind = value
        elif name == "need":
            needs = tuple(v for v in value.split(",") if v)
    return MeasureFilter(kind, needs)


@lru_cache
def shipped_measures() -> dict[str, dict[str, Any]]:
    """Every Measure shipped in fhir/, by id (the events' and the referral outcomes')."""
    found = {}
    for path in sorted(data_dir("fhir").glob("Measure-*.json")):
        resource = json.loads(path.read_text())
        found[resource["id"]] = resource
    return found


def criteria_language(measure: dict[str, Any]) -> str:
    """The language of a Measure's population criteria: it says which counts the Measure is evaluated from."""
    return str(measure["group"][0]["population"][0]["criteria"]["language"])


def load_measures() -> dict[str, dict[str, Any]]:
    """The Measures evaluated from the signposting events (this module's `evaluate`), by id."""
    return {k: m for k, m in shipped_measures().items() if criteria_language(m) == FILTER_LANGUAGE}


def _unknown_value() -> dict[str, Any]:
    return {"coding": [{"system": DATA_ABSENT_CODES, "code": "unknown", "display": "Unknown"}], "text": "unknown"}


def _value(group: str, value: Any, ward_names: dict[str, str]) -> dict[str, Any]:
    if value == service.UNKNOWN:
        return _unknown_value()
    if group == "ward":
        coding = {"system": WARD_SYSTEM, "code": value}
        if value in ward_names:
            coding["display"] = ward_names[value]
        return {"coding": [coding], "text": ward_names.get(value, value)}
    system = {"imd_decile": DECILE_SYSTEM, "need": NEED_SYSTEM, "category": CATEGORY_SYSTEM}[group]
    return {"coding": [{"system": system, "code": str(value)}], "text": str(value)}


def _population(n: int, cell_key: int, policy: SuppressionPolicy) -> dict[str, Any]:
    published = policy.publish(n, cell_key)
    population: dict[str, Any] = {"code": INITIAL_POPULATION}
    if published is None:
        # Suppressed: say so, and never carry the count.
        population["extension"] = [{"url": DATA_ABSENT, "valueCode": "masked"}]
    else:
        population["count"] = published
    return population


def evaluate(
    *, session: Session, measure: dict[str, Any], start: date, end: date, policy: SuppressionPolicy
) -> dict[str, Any]:
    """A summary MeasureReport for one Measure over [start, end], stratified as the Measure says, suppressed."""
    group_def = measure["group"][0]
    population_def = group_def["population"][0]
    selection = parse_filter(population_def["criteria"].get("expression", ""))
    stratifiers = group_def.get("stratifier", [])
    wanted = ["ward", "imd_decile", "need"]
    if any(s.get("criteria", {}).get("expression") == "category" for s in stratifiers):
        wanted.append("category")
    counts = service.count(
        session=session, start=start, end=end, group_by=wanted, filters={"kind": selection.kind or ""}
    )
    cells = {
        key: n
        for key, n in counts.cells.items()
        if selection.needs is None or key[wanted.index("need")] in selection.needs
    }
    cell_keys = {key: counts.cell_keys.get(key, 0) for key in cells}
    ward_list = service.wards(session)
    ward_names = {w.code: w.name for w in ward_list}
    population_by_ward = {w.code: w.population for w in ward_list}

    def axis(group: str) -> list[Any]:
        seen = {key[wanted.index(group)] for key in cells}
        if group == "need" and selection.needs is not None:
            return list(selection.needs)
        return service._axis(group, start, end, seen, ward_list)

    def marginal(groups: list[str]) -> tuple[dict[tuple[Any, ...], int], dict[tuple[Any, ...], int]]:
        """Counts summed over the other groupings, with their cell keys summed alike."""
        sums: dict[tuple[Any, ...], int] = defaultdict(int)
        keys: dict[tuple[Any, ...], int] = defaultdict(int)
        for key, n in cells.items():
            at = tuple(key[wanted.index(g)] for g in groups)
            sums[at] += n
            keys[at] = (keys[at] + cell_keys[key]) % CELL_KEYS
        return sums, keys

    report_stratifiers = []
    for stratifier in stratifiers:
        if "component" in stratifier:
            groups = [STRATIFIER_GROUPS[c["criteria"]["expression"]] for c in stratifier["component"]]
            sums, keys = marginal(groups)
            strata = [
                {
                    "component": [
                        {"code": c["code"], "value": _value(g, v, ward_names)}
                        for c, g, v in zip(stratifier["component"], groups, key, strict=True)
                    ],
                    "population": [_population(n, keys[key], policy)],
                }
                # Combinations without events are left out: a ward × decile grid is mostly empty.
                for key, n in sorted(sums.items(), key=lambda item: tuple(map(str, item[0])))
                if n
            ]
        else:
            group = STRATIFIER_GROUPS[stratifier["criteria"]["expression"]]
            sums, keys = marginal([group])
            strata = []
            for value in axis(group):
                n, cell_key = sums.get((value,), 0), keys.get((value,), 0)
                stratum: dict[str, Any] = {
                    "value": _value(group, value, ward_names),
                    "population": [_population(n, cell_key, policy)],
                }
                published = policy.publish(n, cell_key)
                residents = population_by_ward.get(value) if group == "ward" else None
                if published is not None and residents:
                    # Rates from the published count only, so they reveal no more than the count does.
                    stratum["measureScore"] = {
                        "value": round(published * 1000 / residents, 2),
                        "unit": "per 1,000 residents",
                    }
                strata.append(stratum)
        # mea-1 keeps a component stratifier's name out of `code` in the Measure (it is the element id there).
        code = stratifier["code"] if "code" in stratifier else {"text": stratifier["id"]}
        report_stratifiers.append({"code": [code], "stratum": strata})

    ward_vintage = next((w.vintage for w in ward_list if w.vintage), None) or (
        max(counts.ward_vintages) if counts.ward_vintages else None
    )
    imd_year = max(counts.imd_years) if counts.imd_years else None
    extensions: list[dict[str, Any]] = [
        {"url": f"{BASE}/StructureDefinition/suppression-policy", "valueString": policy.description},
        {"url": f"{BASE}/StructureDefinition/disclosure-method", "valueCode": policy.method},
    ]
    if ward_vintage:
        extensions.append({"url": f"{BASE}/StructureDefinition/ward-vintage", "valueInteger": ward_vintage})
    if imd_year:
        extensions.append({"url": f"{BASE}/StructureDefinition/imd-year", "valueInteger": imd_year})
    report_id = f"{measure['id']}-{start:%Y%m%d}-{end:%Y%m%d}"
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": report_id,
        "extension": extensions,
        "identifier": [{"system": REPORT_IDENTIFIER_SYSTEM, "value": report_id}],
        "status": "complete",
        "type": "summary",
        "measure": measure["url"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "group": [
            {
                "population": [_population(sum(cells.values()), sum(cell_keys.values()) % CELL_KEYS, policy)],
                "stratifier": report_stratifiers,
            }
        ],
    }
    if measure.get("improvementNotation"):
        report["improvementNotation"] = measure["improvementNotation"]
    return report
