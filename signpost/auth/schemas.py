"""API shapes for keys."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signpost.auth.models import Role


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    name: str = Field(min_length=1, max_length=200)
    practice_ods: str | None = Field(default=None, max_length=10)


class KeyRead(BaseModel):
    id: int
    name: str
    role: Role
    practice_ods: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The secret, shown this once only.")
