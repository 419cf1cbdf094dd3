"""API shapes for recording signposts and referrals."""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SignpostCreate(BaseModel):
    """What a prescriber records; postcode and birth date are turned into coarse attributes and dropped."""

    model_config = ConfigDict(extra="forbid")

    services: list[str] = Field(min_length=1, max_length=20, description="Directory service ids")
    needs: list[str] = Field(min_length=1, max_length=20, description="Need codes (CodeSystem social-need)")
    kind: Literal["signposted", "referred"]
    occurred_on: date | None = Field(default=None, description="The day it happened (default: today)")
    postcode: str | None = Field(default=None, max_length=16, description="Used for ward and IMD decile, never stored")
    birth_date: date | None = Field(default=None, description="Used for the age band, never stored")
    practice_ods: str | None = Field(default=None, max_length=10, pattern=r"^[A-Za-z0-9]{3,10}$")


class SignpostRecorded(BaseModel):
    recorded: int = Field(description="Events counted: one per need")
    needs: list[str]
