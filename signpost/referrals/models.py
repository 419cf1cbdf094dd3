"""The referral loop's tables: one row per open or recently closed referral, and the roll-up that outlives them."""

from datetime import date, datetime

from sqlalchemy import Column, FetchedValue, Index, SmallInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class Referral(SQLModel, table=True):
    """A referral to one service: coarse attributes and day-precision dates, held under an HMAC of its token.

    Nothing here joins to the anonymised events: the key is random (not a sequence that orders with them), and
    the creation is kept only to the day. `changed_at` records the provider's last move, never the creation.
    """

    __tablename__ = "referral"
    __table_args__ = (Index("ix_referral_owner_changed", "organization_id", "changed_at"),)

    id: str = Field(primary_key=True, max_length=32)  # random: the FHIR Task id
    token_hmac: str = Field(max_length=64, unique=True)
    # The token's first group, so a referrer can tell their referrals apart; the other 8 symbols (~40 bits) are
    # not kept, and a lookup needs the whole token and the owning organisation's key.
    token_hint: str = Field(max_length=4)
    service_id: str = Field(max_length=64, index=True)  # no FK: counts outlive a retired service
    organization_id: str = Field(max_length=64)  # the Task's owner, fixed when the referral is made
    need_code: str = Field(max_length=64)
    category_code: str | None = Field(default=None, max_length=64)
    ward_code: str | None = Field(default=None, max_length=9)
    ward_vintage: int | None = None
    imd_decile: int | None = None
    imd_year: int | None = None
    practice_ods: str | None = Field(default=None, max_length=10)
    referrer: str = Field(max_length=80, index=True)  # the staff key or user who made it ("key:12", "user:ann")
    source: str = Field(max_length=20)  # template | prescriber | api
    status: str = Field(max_length=20, index=True)
    status_reason: str | None = Field(default=None, max_length=30)
    created_on: date
    received_on: date | None = None
    accepted_on: date | None = None
    closed_on: date | None = Field(default=None, index=True)
    changed_at: datetime | None = None
    # Random 0..255, drawn by the database on insert (migration r002): the seed of its outcome cells' noise.
    record_key: int | None = Field(
        default=None, sa_column=Column(SmallInteger, nullable=False, server_default=FetchedValue())
    )


class ReferralOutcome(SQLModel, table=True):
    """Roll-up of referral outcomes by month made and the same groupings as events; rows are never deleted."""

    __tablename__ = "referral_outcome"
    __table_args__ = (
        UniqueConstraint(
            "month",
            "need_code",
            "category_code",
            "service_id",
            "ward_code",
            "imd_decile",
            "measure",
            name="uq_referral_outcome_cell",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    month: date = Field(index=True)  # first day of the month the referral was made
    need_code: str = Field(max_length=64)
    category_code: str = Field(max_length=64)  # "unknown" rather than NULL, so the unique cell holds on both DBs
    service_id: str = Field(max_length=64)
    ward_code: str = Field(max_length=9)  # "unknown" when unknown
    imd_decile: int  # 0 when unknown
    measure: str = Field(max_length=40)  # made | accepted | declined-<reason> | completed | completed-60 | ...
    count: int = 0
    # The sum of the counted referrals' record keys mod 256: the cell key its published count is perturbed with.
    cell_key: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    days_total: int = 0  # for `accepted`: the sum of days from referral to acceptance (mean time to accept)
