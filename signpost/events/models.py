"""The anonymised signposting and referral events: coarse attributes only, nothing identifying."""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import JSON, Column, FetchedValue, SmallInteger
from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class EventSubmission(SQLModel, table=True):
    """One accepted submission, recognised on retry by an HMAC of its identifier (never a plain hash)."""

    __tablename__ = "event_submission"

    id: int | None = Field(default=None, primary_key=True)
    key_hmac: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=20)
    created_at: datetime
    event_count: int = 0


class SignpostEvent(SQLModel, table=True):
    """One need signposted or referred on one day; the whole of what is kept about it.

    On PostgreSQL the table is partitioned by the month of `occurred_on` (migration e003, `store.ensure_partitions`),
    so its primary key there is (id, occurred_on): PostgreSQL wants the partition key in every unique constraint.
    Nothing refers to an event by id; a submission's key stays unique on `event_submission`, which is not partitioned.
    """

    __tablename__ = "signpost_event"

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="event_submission.id", index=True)
    occurred_on: date = Field(index=True)
    kind: str = Field(max_length=20)  # signposted | referred
    source: str = Field(max_length=20)  # template | prescriber
    need_code: str = Field(max_length=64)
    category_code: str | None = Field(default=None, max_length=64)
    # Ids of the directory services offered (no FK: retired services stay named in the counts).
    services_offered: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    ward_code: str | None = Field(default=None, max_length=9)  # None = unknown
    ward_vintage: int | None = None
    imd_decile: int | None = None  # None = unknown
    imd_year: int | None = None
    age_band: str = Field(default="unknown", max_length=16)
    practice_ods: str | None = Field(default=None, max_length=10)
    # Random 0..255, drawn by the database on insert (migration e002): the seed of the published cells' noise.
    record_key: int | None = Field(
        default=None, sa_column=Column(SmallInteger, nullable=False, server_default=FetchedValue())
    )


@dataclass(slots=True)  # slotted: no other attribute can be set on one; not frozen, as routing's (bench/README.md)
class NewEvent:
    """What a caller may say about one need; the only fields that can ever be stored."""

    occurred_on: date
    kind: str
    source: str
    need_code: str
    category_code: str | None = None
    services_offered: list[str] = field(default_factory=list)
    ward_code: str | None = None
    ward_vintage: int | None = None
    imd_decile: int | None = None
    imd_year: int | None = None
    age_band: str = "unknown"
    practice_ods: str | None = None
