"""API keys: stored only as a hash, shown once."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class Role(StrEnum):
    clinician = "clinician"
    prescriber = "prescriber"
    # A service's organisation, by its own key: answers the referrals to its services, sets their capacity.
    provider = "provider"
    editor = "editor"
    analyst = "analyst"
    admin = "admin"


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    role: str = Field(max_length=20)
    practice_ods: str | None = Field(default=None, max_length=10)
    # A provider key's organisation (directory id; no FK: the key outlives a merged or retired record).
    organization_id: str | None = Field(default=None, max_length=64, index=True)
    prefix: str = Field(max_length=12)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
