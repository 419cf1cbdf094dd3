"""What is kept of CDS Hooks feedback: one row per card outcome, with nothing about the patient or the card's text."""

from datetime import date

from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


class CdsFeedback(SQLModel, table=True):
    """A clinician accepted or overrode one card on one day; the override reason is a code from the card's list."""

    __tablename__ = "cds_feedback"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    service_id: str = Field(max_length=40)  # patient-view | order-select (the CDS Service, not a directory service)
    outcome: str = Field(max_length=20)  # accepted | overridden
    accepted_suggestions: int = 0
    override_reason: str | None = Field(default=None, max_length=64)
