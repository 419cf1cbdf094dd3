"""The NHS design system's date input (day, month, year as three fields), read back into one date."""

from collections.abc import Mapping
from datetime import date
from typing import Any

PARTS = ("day", "month", "year")


def parts(form: Mapping[str, Any], name: str) -> dict[str, str]:
    """The three fields as typed (kept to show the form again), or split from an ISO date sent as `name`."""
    typed = {part: str(form.get(f"{name}-{part}") or "").strip() for part in PARTS}
    if not any(typed.values()) and form.get(name):
        try:
            given = date.fromisoformat(str(form.get(name)).strip())
        except ValueError:
            return typed
        return {"day": str(given.day), "month": str(given.month), "year": str(given.year)}
    return typed


def read(typed: dict[str, str], *, label: str = "Date of birth") -> tuple[date | None, str | None]:
    """(the date or None when left empty, a message naming what is wrong or None)."""
    if not any(typed.values()):
        return None, None
    missing = [part for part in PARTS if not typed[part]]
    if missing:
        return None, f"{label} must include a {' and a '.join(missing)}"
    if not all(typed[part].isdigit() for part in PARTS) or len(typed["year"]) != 4:
        return None, f"{label} must be a real date, like 27 3 1980"
    try:
        found = date(int(typed["year"]), int(typed["month"]), int(typed["day"]))
    except ValueError:
        return None, f"{label} must be a real date, like 27 3 1980"
    if found > date.today():
        return None, f"{label} must be in the past"
    if found.year < 1900:
        return None, f"{label} must be after 1900"
    return found, None
