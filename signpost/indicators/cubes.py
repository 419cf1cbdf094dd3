"""The roll-ups' shape: which cubes count the events at which grain over which dimensions, and `tally`, the one
key function that says which cells an event counts in (the SQL in `store` counts the same cells)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import Any, Protocol

from signpost.indicators.models import DIMENSIONS

UNKNOWN_TEXT = ""
UNKNOWN_NUMBER = 0

NUMERIC = {"ward_vintage", "imd_decile", "imd_year"}
KEY_COLUMNS = ("cube", "period_start", *DIMENSIONS)


GRAINS = ("day", "month", "quarter", "year")


@dataclass(frozen=True)
class Cube:
    name: str
    grain: str  # one of GRAINS
    dimensions: frozenset[str]


# Ordered smallest first: a report takes, for each grain, the first cube that holds what it groups and filters
# by. The narrow area cubes answer the headline report (ward × decile × need) from a few thousand cells a
# period whatever the volume; quarters and years let a 12-month report read 4 to 6 periods, not 12.
# The full cubes hold nearly one cell per event (practice × age band × ward × … are that many), so reports by
# practice or by age band get small cubes of their own.
_AREA = {"need_code", "ward_code", "ward_vintage", "imd_decile", "imd_year"}
# Every small cube keeps the vintages, so a report read from it can state them.
_NEED = {"kind", "source", "need_code", "category_code", "ward_vintage", "imd_year"}
CUBES = (
    Cube("year_area", "year", frozenset(_AREA)),
    Cube("quarter_area", "quarter", frozenset(_AREA)),
    Cube("month_age", "month", frozenset(_NEED | {"age_band"})),
    Cube("month_area", "month", frozenset(_AREA)),
    Cube("month_practice", "month", frozenset(_NEED | {"practice_ods"})),
    Cube("month_area_kind", "month", frozenset(_AREA | {"kind", "source", "category_code"})),
    Cube("month", "month", frozenset(DIMENSIONS)),
    Cube("day", "day", frozenset(DIMENSIONS)),
)
CUBES_BY_NAME = {c.name: c for c in CUBES}


def period_start(day: date, grain: str) -> date:
    """The first day of the period of `grain` that `day` falls in."""
    if grain == "day":
        return day
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


class EventLike(Protocol):
    """An event or a row of one: `occurred_on` and every name in DIMENSIONS (read-only)."""

    @property
    def occurred_on(self) -> date: ...


Key = tuple[Any, ...]


DEFAULTS = tuple(UNKNOWN_NUMBER if d in NUMERIC else UNKNOWN_TEXT for d in DIMENSIONS)
_ATTRIBUTES = attrgetter("occurred_on", *DIMENSIONS)
# Per cube: its name, its grain, and which dimensions it keeps (None = all of them).
_PLANS = [
    (
        cube.name,
        cube.grain,
        None if cube.dimensions == set(DIMENSIONS) else tuple(d in cube.dimensions for d in DIMENSIONS),
    )
    for cube in CUBES
]


def tally(events: Iterable[EventLike]) -> Counter[Key]:
    """The roll-up cells the events count in, with how many each (the one key function for live and rebuild)."""
    # Group identical events first (at C speed), then spread each distinct combination over the cubes.
    distinct = Counter(map(_ATTRIBUTES, events))
    counts: Counter[Key] = Counter()
    periods_of: dict[date, dict[str, date]] = {}  # a chunk's events fall on a few hundred days at most
    for (day, *values), n in distinct.items():
        known = tuple(default if v is None else v for v, default in zip(values, DEFAULTS, strict=True))
        periods = periods_of.get(day)
        if periods is None:
            periods = periods_of[day] = {grain: period_start(day, grain) for grain in GRAINS}
        for name, grain, keep in _PLANS:
            kept = (
                known if keep is None else tuple(v if k else d for v, k, d in zip(known, keep, DEFAULTS, strict=True))
            )
            counts[(name, periods[grain], *kept)] += n
    return counts


def cell_keys(event: EventLike) -> list[Key]:
    """The cell of every cube that one event counts in."""
    return list(tally([event]))
