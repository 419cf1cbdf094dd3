"""Roll-ups of the anonymised events: counts folded in as events arrive, so reports scan only the newest events."""

from datetime import date

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)

# The attributes an event is counted by; every cube keeps some of them (see rollup.CUBES).
DIMENSIONS = (
    "kind",
    "source",
    "need_code",
    "category_code",
    "ward_code",
    "ward_vintage",
    "imd_decile",
    "imd_year",
    "age_band",
    "practice_ods",
)


# The small cubes answer most reports; on SQLite each gets a partial index holding every column a report reads
# (n and the cell key last), so a report is a few range scans of those indexes, never the wide table (rollup.CUBES).
# Not on PostgreSQL: its planner prefers the unique index once the table is analysed, which is as fast there, and
# a copy of n in an index makes every count update write index entries and keeps the update from being HOT.
_AREA_COLUMNS = ("need_code", "ward_code", "imd_decile", "ward_vintage", "imd_year")
SMALL_CUBE_COLUMNS = {
    "year_area": _AREA_COLUMNS,
    "quarter_area": _AREA_COLUMNS,
    "month_area": _AREA_COLUMNS,
    "month_age": ("kind", "source", "need_code", "category_code", "age_band", "ward_vintage", "imd_year"),
    "month_practice": ("kind", "source", "need_code", "category_code", "practice_ods", "ward_vintage", "imd_year"),
    "month_area_kind": (
        "kind",
        "source",
        "need_code",
        "category_code",
        "ward_code",
        "imd_decile",
        "ward_vintage",
        "imd_year",
    ),
}


def _covering_index(cube: str) -> Index:
    where = text(f"cube = '{cube}'")
    return Index(
        f"ix_indicator_count_{cube}",
        "cube",
        "period_start",
        *SMALL_CUBE_COLUMNS[cube],
        "n",
        "cell_key",
        sqlite_where=where,
    ).ddl_if(dialect="sqlite")


class IndicatorPending(SQLModel, table=True):
    """A recorded submission whose events the roll-ups do not hold yet; `rollup.fold` moves them in and deletes it.

    Reports add these submissions' events to what they read from the roll-ups, in the same statement.
    """

    __tablename__ = "indicator_pending"

    submission_id: int = Field(
        primary_key=True,
        foreign_key="event_submission.id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )


class IndicatorCount(SQLModel, table=True):
    """How many events share one combination of attributes in one period of one cube.

    Every dimension is NOT NULL so the unique key (and its upsert) works on SQLite and PostgreSQL alike:
    an unknown or rolled-away value is stored as "" (text) or 0 (numbers), see `rollup.UNKNOWN_*`.
    """

    __tablename__ = "indicator_count"
    __table_args__ = (
        UniqueConstraint("cube", "period_start", *DIMENSIONS, name="uq_indicator_count_cell"),
        *(_covering_index(cube) for cube in SMALL_CUBE_COLUMNS),
    )

    id: int | None = Field(default=None, primary_key=True)
    cube: str = Field(max_length=16)  # which roll-up: see rollup.CUBES
    period_start: date  # the day, or the first day of the month
    kind: str = Field(max_length=20)
    source: str = Field(max_length=20)
    need_code: str = Field(max_length=64)
    category_code: str = Field(max_length=64)
    ward_code: str = Field(max_length=9)
    ward_vintage: int
    imd_decile: int
    imd_year: int
    age_band: str = Field(max_length=16)
    practice_ods: str = Field(max_length=10)
    n: int
    # The sum of the cell's events' record keys mod 256 (suppression.CELL_KEYS): its perturbation's seed.
    cell_key: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class IndicatorRetention(SQLModel, table=True):
    """One row: the first day whose raw events are kept; earlier periods live in the roll-ups only."""

    __tablename__ = "indicator_retention"

    id: int = Field(default=1, primary_key=True)
    events_from: date
