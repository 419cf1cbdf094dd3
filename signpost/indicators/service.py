"""Indicator reports: counts from the roll-ups and pending events, grouped as asked, suppressed before they leave."""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, literal_column, select, union_all
from sqlmodel import Session

from signpost.errors import Problem
from signpost.events import vocabulary
from signpost.events.models import SignpostEvent
from signpost.geography import service as geography
from signpost.indicators import cubes, store
from signpost.indicators.models import IndicatorCount
from signpost.indicators.suppression import CELL_KEYS, SuppressionPolicy

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
AGE_BANDS = geography.AGE_BANDS
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
    # Each cell's key (the sum of its events' record keys mod suppression.CELL_KEYS): the seed of its noise.
    cell_keys: dict[tuple[Any, ...], int] = field(default_factory=dict)
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
    """A published period: whole months (the roll-ups' fixed publication units), start before end, not too long."""
    # Whole months only: with any day allowed, overlapping periods that differ by a few days let an analyst
    # difference a suppressed count out of published ones (issue #20); months are what the roll-ups keep.
    misaligned = [
        (name, day, message)
        for name, day, ok, message in (
            (names[0], start, start.day == 1, "must be the first day of a month"),
            (names[1], end, end == month_end(end), "must be the last day of a month"),
        )
        if not ok
    ]
    if misaligned:
        raise Problem(
            422,
            "Reports cover whole months: "
            + "; ".join(f"{name} ({day}) {message}" for name, day, message in misaligned)
            + f"; for example {start.replace(day=1)} to {month_end(end)}.",
            errors=[{"loc": name, "message": message} for name, _, message in misaligned],
        )
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


def month_end(day: date) -> date:
    """The last day of the month of `day`."""
    last: date = day + relativedelta(day=31)  # a day past the month's end is its end
    return last


def _period_end(first: date, grain: str) -> date:
    if grain == "day":
        return first
    if grain == "year":
        return date(first.year, 12, 31)
    return month_end(first.replace(month=first.month + 2) if grain == "quarter" else first)


@dataclass(frozen=True)
class Part:
    """One range of one cube's periods: the cells with cube = `cube` and `first` <= period_start <= `last`."""

    cube: str
    first: date
    last: date


def plan(dimensions: set[str], start: date, end: date, *, by_month: bool) -> list[Part]:
    """Which roll-up answers which part of [start, end]: whole years, quarters and months each from the smallest
    cube of that grain that holds the dimensions (only months when the report is by month), and the days of a
    partial month at either edge from the smallest daily cube."""
    grains = ("month",) if by_month else ("year", "quarter", "month")
    smallest = {
        grain: next((c.name for c in cubes.CUBES if c.grain == grain and dimensions <= c.dimensions), None)
        for grain in (*grains, "day")
    }
    parts: list[Part] = []
    first = start
    while first <= end:
        grain = next(
            (
                g
                for g in (*grains, "day")
                if smallest[g] and cubes.period_start(first, g) == first and _period_end(first, g) <= end
            ),
            "day",
        )
        cube, last = smallest[grain] or "day", _period_end(first, grain)
        if parts and parts[-1].cube == cube:
            parts[-1] = Part(cube, parts[-1].first, first)  # the next period of the same cube: one range
        else:
            parts.append(Part(cube, first, first))
        first = date.fromordinal(last.toordinal() + 1)
    return parts


def count(
    *, session: Session, start: date, end: date, group_by: list[str], filters: dict[str, str] | None = None
) -> Counts:
    """Unsuppressed counts over [start, end] grouped as asked, read from the smallest roll-ups that hold them and
    the events not yet folded into them."""
    filters = {k: v for k, v in (filters or {}).items() if v}
    by_month = "month" in group_by
    # In the order asked; a month is grouped by period_start (days at the edges are folded into months below).
    # The vintages are read too, so the report can state them: the cubes read must hold them.
    names = [GROUPINGS[g] or "period_start" for g in group_by] + ["ward_vintage", "imd_year"]
    parts = plan({*names, *filters} - {"period_start"}, start, end, by_month=by_month)
    table = IndicatorCount.__table__  # type: ignore[attr-defined]
    selects = [
        select(*(table.c[name] for name in names), table.c.n, table.c.cell_key).where(
            # The cube's name as a literal, not a parameter: only then can SQLite and PostgreSQL (whose prepared
            # statements turn generic) use the cube's partial covering index (models.SMALL_CUBE_COLUMNS).
            table.c.cube == literal_column(f"'{part.cube}'"),
            table.c.period_start >= part.first,
            table.c.period_start <= part.last,
            *(table.c[name] == value for name, value in filters.items()),
        )
        for part in parts
    ]
    # The events recorded since the last fold, in the same statement: one snapshot, so each is counted once.
    selects.append(
        store.pending_events(*names).where(
            SignpostEvent.occurred_on >= start,  # type: ignore[arg-type]
            SignpostEvent.occurred_on <= end,  # type: ignore[arg-type]
            *(getattr(SignpostEvent, name) == value for name, value in filters.items()),
        )
    )
    cells = union_all(*selects).subquery()
    keys = [cells.c[name] for name in names]
    query = select(*keys, func.sum(cells.c.n), func.sum(cells.c.cell_key)).group_by(*keys)
    if session.get_bind().dialect.name == "postgresql":
        # Past a few hundred thousand cells the estimate crosses JIT's threshold, and compiling costs more than the
        # query (bench/events_scale.py). LOCAL: this transaction only, so it is safe behind PgBouncer too.
        session.connection().exec_driver_sql("SET LOCAL jit = off")
    unknown = (cubes.UNKNOWN_TEXT, cubes.UNKNOWN_NUMBER)
    found = Counts(cells={}, cube="+".join(dict.fromkeys(part.cube for part in parts)))
    month_at = group_by.index("month") if by_month else None
    # All rows at once: fetched one at a time they cost a report over many cells dearly (bench/events_scale.py).
    for *values, vintage, imd_year, n, cell_key in session.connection().execute(query).all():
        if vintage:
            found.ward_vintages.add(vintage)
        if imd_year:
            found.imd_years.add(imd_year)
        cell = [UNKNOWN if v in unknown else v for v in values]
        if month_at is not None:
            cell[month_at] = values[month_at].strftime("%Y-%m")
        key = tuple(cell)
        found.cells[key] = found.cells.get(key, 0) + int(n)
        found.cell_keys[key] = (found.cell_keys.get(key, 0) + int(cell_key)) % CELL_KEYS
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
            day = date.fromordinal(month_end(day).toordinal() + 1)
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
    axes = [_axis(g, start, end, {cell[i] for cell in counts.cells}, ward_list) for i, g in enumerate(group_by)]
    size = 1
    for axis in axes:
        size *= len(axis)
    all_listed = size <= MAX_LISTED_CELLS
    cells = itertools.product(*axes) if all_listed else sorted(counts.cells, key=lambda c: tuple(map(str, c)))
    ward_at = group_by.index("ward") if "ward" in group_by else None
    ward_terms = {w.code: (w.name, w.population) for w in ward_list}
    found, keys, publish = counts.cells, counts.cell_keys, policy.publish
    rows = []
    for cell in cells:
        n = found.get(tuple(cell), 0)
        published = publish(n, keys.get(tuple(cell), 0)) if n else 0
        row: dict[str, Any] = dict(zip(group_by, cell, strict=True))
        if ward_at is None:
            row["count"], row["suppressed"] = published, published is None
        else:
            name, population = ward_terms.get(cell[ward_at], (None, None))
            row["ward_name"], row["count"], row["suppressed"] = name, published, published is None
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
        "total": policy.total(list(counts.cells.values()), list(counts.cell_keys.values())),
        "rows": rows,
    }


CSV_META = (
    "period_start",
    "period_end",
    "suppression_policy",
    "disclosure_method",
    "ward_vintage",
    "imd_year",
    "generated_at",
)


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
        published["suppression"]["method"],
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
