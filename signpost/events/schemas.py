"""API shapes for recording signposts and referrals."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The most signposts one batch may carry: a day's uploads from a busy service fit, and a batch stays one
# short transaction (and well under the request body limit).
MAX_BATCH = 1000


class SignpostCreate(BaseModel):
    """What a prescriber records; postcode and birth date are turned into coarse attributes and dropped."""

    model_config = ConfigDict(extra="forbid")

    services: list[str] = Field(min_length=1, max_length=20, description="Directory service ids")
    needs: list[str] = Field(min_length=1, max_length=20, description="Need codes (CodeSystem social-need)")
    kind: Literal["signposted", "referred"]
    occurred_on: date | None = Field(default=None, description="The day it happened (default: today)")
    postcode: str | None = Field(default=None, max_length=16, description="Used for ward and IMD decile, never stored")
    birth_date: date | None = Field(default=None, description="Used for the age band, never stored")
    practice_ods: str | None = Field(
        default=None,
        max_length=6,
        pattern=r"^[A-Za-z][0-9]{5}$",
        description="The GP practice's ODS code (a letter and five digits); one in the ODS list once it is loaded",
    )


class SignpostRecorded(BaseModel):
    recorded: int = Field(description="Events counted: one per need")
    needs: list[str]


class SignpostBatchItem(SignpostCreate):
    """One signposting in a batch, with the key that recognises a retry of it (as Idempotency-Key does)."""

    idempotency_key: str = Field(
        min_length=1, max_length=200, description="Unique per signposting; a retry with the same key counts once"
    )


class SignpostBatch(BaseModel):
    """Many signpostings at once (e.g. a day's uploads); checked as a whole, recorded all or none."""

    model_config = ConfigDict(extra="forbid")

    signposts: list[SignpostBatchItem] = Field(min_length=1, max_length=MAX_BATCH)


class SignpostItemRecorded(SignpostRecorded):
    replayed: bool = Field(description="True when this item's key was recorded before: it was not counted again")


class SignpostBatchRecorded(BaseModel):
    recorded: int = Field(description="Events counted by this request (replayed items add none)")
    replayed: int = Field(description="Items recognised as retries")
    results: list[SignpostItemRecorded] = Field(description="One per item, in the order sent")
