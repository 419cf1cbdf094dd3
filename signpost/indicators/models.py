"""Roll-ups of the anonymised events: counts kept current as events arrive, so reports never scan events."""

from datetime import date

from sqlalchemy import UniqueConstraint
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


class IndicatorCount(SQLModel, table=True):
    """How many events share one combination of attributes in one period of one cube.

    Every dimension is NOT NULL so the unique key (and its upsert) works on SQLite and PostgreSQL alike:
    an unknown or rolled-away value is stored as "" (text) or 0 (numbers), see `rollup.UNKNOWN_*`.
    """

    __tablename__ = "indicator_count"
    __table_args__ = (UniqueConstraint("cube", "period_start", *DIMENSIONS, name="uq_indicator_count_cell"),)

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
