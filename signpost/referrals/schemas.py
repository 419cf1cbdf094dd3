"""API shapes of the referral loop."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class ReferralCreate(BaseModel):
    """A referral to one service for one need; the postcode becomes a ward and decile and is not kept."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=64, description="The directory service's id")
    need: str = Field(min_length=1, max_length=64, description="A need code from the social-need CodeSystem")
    postcode: str | None = Field(default=None, max_length=16, description="Optional; used for ward and decile only")


class ReferralIssued(BaseModel):
    """The token to give the person (shown only now) and the Task that follows the referral."""

    token: str
    task_id: str
    service: str
    status: str
    created_on: date


class ReferralListed(BaseModel):
    """One of the caller's referrals, by the token's first group and its status."""

    token_hint: str
    task_id: str
    service: str
    need: str
    status: str
    status_reason: str | None
    created_on: date
    overdue: bool


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="taking-referrals, waitlist or not-taking-referrals")
    wait_band: str | None = Field(default=None, description="For a waitlist: under-1-month, 1-3-months, over-3-months")


class CapacityOut(BaseModel):
    service: str
    status: str
    wait_band: str | None
    set_on: date
    label: str


class ProviderKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="Who holds the key, e.g. 'Intake team'")


class ProviderKeyIssued(BaseModel):
    id: int
    organization: str
    name: str
    key: str = Field(description="Shown once; give it to the organisation")
