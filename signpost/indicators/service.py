"""Indicator reports: counts from the roll-ups, grouped as asked, suppressed before they leave."""

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from signpost.errors import Problem
from signpost.events import vocabulary
from signpost.indicators import rollup
from signpost.indicators.models import IndicatorCount
from signpost.indicators.suppression import SuppressionPolicy

UNKNOWN = "unknown"
# grouping name -> roll-up dimension (month is the period itself)
GROUPINGS: dict[str, str | None] = {
    "month": None,
    "need": "need_code",
    "category": "category_code",
    "ward": "ward_code",
    "imd_decile": "imd_decile",
    "age_band": "age_band",
    "practice": "practice_ods",
    "source": "source",
    "kind": "kind",
}
FILTERS = ("kind", "source")
AGE_BANDS = ("0-15", "16-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+")
# Past this many cells a report lists only the cells that hold events, rather than every zero.
MAX_LISTED_CELLS = 50_000


@dataclass
class Ward:
    code: str
    name: str
    vintage: int | None
    population: int | None


@dataclass
class Counts:
    """Unsuppressed counts by grouping values, with the geography vintages they were recorded under."""

    cells: dict[tuple[Any, ...], int]
    ward_vintages: set[int] = field(default_factory=set)
    imd_years: set[int] = field(default_factory=set)
    cube: str = ""


def parse_group_by(text: str | None) -> list[str]:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPINGS]
    if unknown:
        raise Problem(
            422,
            f"group_by: unknown grouping {', '.join(repr(n) for n in unknown)}; use any of {', '.join(GROUPINGS)}.",
            errors=[{"loc": "group_by", "message": f"unknown grouping '{n}'"} for n in unknown],
        )
    if len(set(names)) != len(names):
        raise Problem(422, "group_by names a grouping twice.", errors=[{"loc": "group_by", "message": "repeated"}])
    return names


def months_spanned(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def check_period(start: date, end: date, *, max_months: int, names: tuple[str, str] = ("start", "end")) -> None:
    if end < start:
        raise Problem(
            422,
            f"{names[1]} ({end}) is before {names[0]} ({start}).",
            errors=[{"loc": names[1], "message": "before " + names[0]}],
        )
    if months_spanned(start, end) > max_months:
        raise Problem(
            422,
            f"The period spans {months_spanned(start, end)} months; at most {max_months} are allowed.",
            errors=[{"loc": names[1], "message": f"period over {max_months} months"}],
        )


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def _choose_cube(dimensions: set[str], start: date, end: date) -> rollup.Cube:
    whole_months = start.day == 1 and end == _month_end(end)
    for cube in rollup.CUBES:
        if dimensions <= cube.dimensions and (cube.grain == "day" or whole_months):
            return cube
    return rollup.CUBES_BY_NAME["day"]


def count(
    *, session: Session, start: date, end: date, group_by: list[str], filters: dict[str, str] | None = None
) -> Counts:
    """Unsuppressed counts over [start, end] grouped as asked, read from the smallest roll-up that holds them."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    dims = [GROUPINGS[g] for g in group_by if GROUPINGS[g]]
    cube = _choose_cube({*dims, *filters}, start, end)  # type: ignore[arg-type]
    table = IndicatorCount.__table__  # type: ignore[attr-defined]
    by_month = "month" in group_by
    keys = ([table.c.period_start] if by_month else []) + [table.c[d] for d in dims]
    keys += [table.c.ward_vintage, table.c.imd_year]
    query = (
        select(*keys, func.sum(table.c.n))
        .where(table.c.cube == cube.name, table.c.period_start >= start, table.c.period_start <= end)
        .group_by(*keys)
    )
    for name, value in filters.items():
        query = query.where(table.c[name] == value)
    found = Counts(cells=defaultdict(int), cube=cube.name)
    for row in session.execute(query):
        *values, vintage, imd_year, n = row
        if vintage:
            found.ward_vintages.add(vintage)
        if imd_year:
            found.imd_years.add(imd_year)
        cell = []
        it = iter(values)
        for g in group_by:
            value = next(it)
            if g == "month":
                value = value.strftime("%Y-%m")
            elif value in (rollup.UNKNOWN_TEXT, rollup.UNKNOWN_NUMBER):
                value = UNKNOWN
            cell.append(value)
        found.cells[tuple(cell)] += int(n)
    return found


def wards(session: Session) -> list[Ward]:
    """The current wards with their populations, from geography (empty while none are loaded)."""
    try:
        from signpost.geography import service as geography
    except ImportError:  # geography not installed in this build
        return []
    return [
        Ward(w.code, w.name, getattr(w, "vintage", None), getattr(w, "population", None))
        for w in geography.list_wards(session)
    ]


def _axis(group: str, start: date, end: date, seen: set[Any], ward_list: list[Ward]) -> list[Any]:
    """Every value a grouping takes in the report, zeros included, with "unknown" last."""
    fixed: list[Any]
    if group == "month":
        fixed, day = [], start.replace(day=1)
        while day <= end:
            fixed.append(day.strftime("%Y-%m"))
            day = date.fromordinal(_month_end(day).toordinal() + 1)
        return fixed
    if group == "ward":
        fixed = [w.code for w in ward_list]
    elif group == "imd_decile":
        fixed = list(range(1, 11))
    elif group == "need":
        fixed = list(vocabulary.need_codes())
    elif group == "category":
        fixed = list(vocabulary.SERVICE_CATEGORIES)
    elif group == "age_band":
        fixed = list(AGE_BANDS)
    elif group == "kind":
        fixed = list(vocabulary.KINDS)
    elif group == "source":
        fixed = list(vocabulary.SOURCES)
    else:
        fixed = []
    extra = sorted((v for v in seen if v not in fixed and v != UNKNOWN), key=str)
    return [*fixed, *extra, UNKNOWN] if group not in ("kind", "source") else [*fixed, *extra]


def report(
    *,
    session: Session,
    start: date,
    end: date,
    group_by: list[str],
    policy: SuppressionPolicy,
    filters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A published report: every cell suppressed under `policy`, rates from published counts, its terms stated."""
    counts = count(session=session, start=start, end=end, group_by=group_by, filters=filters)
    ward_list = wards(session)
    by_code = {w.code: w for w in ward_list}
    axes = [_axis(g, start, end, {cell[i] for cell in counts.cells}, ward_list) for i, g in enumerate(group_by)]
    size = 1
    for axis in axes:
        size *= len(axis)
    all_listed = size <= MAX_LISTED_CELLS
    cells = itertools.product(*axes) if all_listed else sorted(counts.cells, key=lambda c: tuple(map(str, c)))
    ward_at = group_by.index("ward") if "ward" in group_by else None
    rows = []
    for cell in cells:
        n = counts.cells.get(tuple(cell), 0)
        published = policy.publish(n)
        row: dict[str, Any] = dict(zip(group_by, cell, strict=True))
        if ward_at is not None:
            ward = by_code.get(cell[ward_at])
            row["ward_name"] = ward.name if ward else None
        row["count"] = published
        row["suppressed"] = published is None
        if ward_at is not None:
            ward = by_code.get(cell[ward_at])
            population = ward.population if ward else None
            # Rates come from the published (rounded) count, never the raw one, so they disclose nothing more.
            row["rate_per_1000"] = (
                round(published * 1000 / population, 2) if published is not None and population else None
            )
        rows.append(row)
    ward_vintage = next((w.vintage for w in ward_list if w.vintage), None) or (
        max(counts.ward_vintages) if counts.ward_vintages else None
    )
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "group_by": group_by,
        "filters": {k: v for k, v in (filters or {}).items() if v},
        "suppression": policy.as_dict(),
        "ward_vintage": ward_vintage,
        "imd_year": max(counts.imd_years) if counts.imd_years else None,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "zero_cells_listed": all_listed,
        "total": policy.total(list(counts.cells.values())),
        "rows": rows,
    }


CSV_META = ("period_start", "period_end", "suppression_policy", "ward_vintage", "imd_year", "generated_at")


def to_csv(published: dict[str, Any]) -> str:
    """The report as CSV: one row per cell, each carrying the report's terms (policy, vintages, period)."""
    import csv
    import io

    group_by = published["group_by"]
    columns = list(group_by)
    if "ward" in group_by:
        columns.append("ward_name")
    columns += ["count", "suppressed"]
    if "ward" in group_by:
        columns.append("rate_per_1000")
    meta = [
        published["period"]["start"],
        published["period"]["end"],
        published["suppression"]["policy"],
        published["ward_vintage"] or "",
        published["imd_year"] or "",
        published["generated_at"],
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*columns, *CSV_META])
    for row in published["rows"]:
        values = []
        for c in columns:
            v = row.get(c)
            values.append("suppressed" if c == "count" and v is None else ("" if v is None else v))
        writer.writerow([*values, *meta])
    return out.getvalue()
