"""When a service is open on a given day: its regular weekly hours, unless a holiday or special opening covers it.

For routing's "open today": `dated(row)` gives a stored exception as `DatedHours` (the read model reads them), and
`hours_on(regular, holidays, on)` says which hours hold on a day and which exception set them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from signpost.directory.models import HolidaySchedule
from signpost.directory.schemas import WEEKDAYS


@dataclass(frozen=True)
class DatedHours:
    """A holiday or special opening: closed all day, or open `opens_at` to `closes_at` ("HH:MM"), inclusive dates."""

    valid_from: date
    valid_to: date
    closed: bool
    opens_at: str | None
    closes_at: str | None
    description: str | None

    def covers(self, on: date) -> bool:
        return self.valid_from <= on <= self.valid_to


def dated(row: HolidaySchedule) -> DatedHours:
    """A stored holiday or special opening, with its times as "HH:MM"."""
    return DatedHours(
        row.valid_from,
        row.valid_to,
        row.closed,
        row.opens_at.strftime("%H:%M") if row.opens_at else None,
        row.closes_at.strftime("%H:%M") if row.closes_at else None,
        row.description,
    )


def hours_on(
    regular: dict[str, list[tuple[str, str]]], dated: Sequence[DatedHours], on: date
) -> tuple[list[tuple[str, str]], DatedHours | None]:
    """The spans ("HH:MM", "HH:MM") the service is open on `on`, and the exception that set them (None when the
    regular hours hold). Exceptions covering the day replace its regular hours; a closure wins over special hours
    (a service that says it is closed is not sent a patient that day)."""
    covering = [d for d in dated if d.covers(on)]
    if not covering:
        return sorted(regular.get(WEEKDAYS[on.weekday()], [])), None
    closed = next((d for d in covering if d.closed), None)
    if closed is not None:
        return [], closed
    spans = sorted((d.opens_at, d.closes_at) for d in covering if d.opens_at and d.closes_at)
    return spans, covering[0]
