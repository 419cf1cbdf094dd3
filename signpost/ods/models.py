"""NHS Digital's list of GP practices (epraccur), as far as checking a practice code needs it."""

from datetime import date

from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class OdsPractice(SQLModel, table=True):
    """One GP practice from epraccur: its code, name, status and dates (no people, no addresses)."""

    __tablename__ = "ods_practice"

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=200)
    status: str = Field(max_length=1)  # A active, C closed, D dormant, P proposed
    open_date: date | None = None
    close_date: date | None = None
