"""The edit page's repeating groups (phones, e-mail contacts, opening times, holiday openings, locations,
languages, area served, costs): posted rows to API data, messages in words for each field, and back again for the page.

Posted names are `<group>-<row>-<field>`. A row whose boxes are all empty is dropped (that is how an editor
removes one); "Add another" is a plain submit that comes back with one more empty row, so no script is needed.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from signpost.directory import places
from signpost.directory.schemas import (
    ContactIn,
    CostOptionIn,
    HolidayScheduleIn,
    LanguageIn,
    LocationIn,
    PhoneIn,
    ScheduleIn,
    ServiceAreaIn,
)
from signpost.directory.service import location_warnings

DAYS = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
]
# The languages most asked for in England and Wales after English (ONS Census 2021 main language), with BCP 47 codes.
LANGUAGES = [
    ("en", "English"),
    ("cy", "Welsh"),
    ("pl", "Polish"),
    ("ro", "Romanian"),
    ("pa", "Panjabi"),
    ("ur", "Urdu"),
    ("pt", "Portuguese"),
    ("es", "Spanish"),
    ("ar", "Arabic"),
    ("bn", "Bengali"),
    ("gu", "Gujarati"),
    ("it", "Italian"),
    ("lt", "Lithuanian"),
    ("zh", "Chinese"),
    ("fr", "French"),
    ("so", "Somali"),
    ("tr", "Turkish"),
    ("ta", "Tamil"),
    ("fa", "Persian"),
    ("ku", "Kurdish"),
    ("uk", "Ukrainian"),
    ("ru", "Russian"),
    ("ti", "Tigrinya"),
    ("bg", "Bulgarian"),
    ("hu", "Hungarian"),
    ("sgn-GB", "British Sign Language"),
]
HOLIDAY_CHOICES = [("yes", "Closed all day"), ("no", "Open, at other times")]
SCOPES = [("national", "All of the UK"), ("local_authority", "A local authority"), ("ward", "A ward")]


@dataclass(frozen=True)
class Group:
    """One repeating group: its label for one row, and its fields (name, label)."""

    name: str
    one: str
    fields: tuple[tuple[str, str], ...]
    hidden: tuple[str, ...] = ()


GROUPS = [
    Group("phones", "Phone", (("number", "Phone number"), ("description", "What this number is for"))),
    Group("contacts", "Email contact", (("name", "Name or team"), ("email", "Email"))),
    Group("schedules", "Opening time", (("byday", "Day"), ("opens_at", "Opens"), ("closes_at", "Closes"))),
    Group(
        "holiday_schedules",
        "Holiday or special opening",
        (
            ("valid_from", "First day"),
            ("valid_to", "Last day"),
            ("closed", "Closed or open"),
            ("opens_at", "Opens"),
            ("closes_at", "Closes"),
            ("description", "What it is"),
        ),
    ),
    Group(
        "locations",
        "Location",
        (
            ("name", "Name of the place"),
            ("address_1", "Address"),
            ("city", "Town or city"),
            ("postal_code", "Postcode"),
            ("accessibility", "Accessibility"),
        ),
        hidden=("latitude", "longitude", "placed"),
    ),
    Group("languages", "Language", (("code", "Language"),)),
    Group(
        "service_areas",
        "Area served",
        (("scope", "Area"), ("area_code", "Area code"), ("area_vintage", "Ward year"), ("name", "Area name")),
    ),
    Group(
        "cost_options",
        "Cost",
        (("option", "What it is"), ("amount", "Amount in pounds"), ("amount_description", "Details")),
    ),
]
BY_NAME = {g.name: g for g in GROUPS}
_MODELS: dict[str, Any] = {
    "phones": PhoneIn,
    "contacts": ContactIn,
    "schedules": ScheduleIn,
    "holiday_schedules": HolidayScheduleIn,
    "locations": LocationIn,
    "languages": LanguageIn,
    "service_areas": ServiceAreaIn,
    "cost_options": CostOptionIn,
}
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
_GSS = re.compile(r"^[EWSN]\d{8}$")
_HOW_TO_FIX = {
    "number": "enter a UK phone number, like 0113 496 0000",
    "email": "enter an email address like name@example.org",
    "opens_at": "enter a time like 09:00",
    "closes_at": "enter a time like 17:00",
    "postal_code": "enter a full postcode, like LS1 4AP",
    "area_code": "enter the area's GSS code, like E08000035",
    "area_vintage": "enter the year of the ward boundaries, like 2024",
    "amount": "enter an amount in pounds, like 5 or 2.50",
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def rows_from_detail(detail: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The service's lists as the page shows them (every value as text)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for group in GROUPS:
        rows = []
        for item in detail.get(group.name) or []:
            row = {name: _text(item.get(name)) for name, _ in group.fields + tuple((h, h) for h in group.hidden)}
            if group.name == "holiday_schedules":
                row["closed"] = "yes" if item.get("closed") else "no"
            if group.name == "locations":
                row["accessibility"] = "; ".join(a["description"] for a in item.get("accessibility") or [])
                row["placed"] = _text(item.get("postal_code"))
            rows.append(row)
        groups[group.name] = rows
    return groups


def rows_from_post(raw: FormData) -> dict[str, list[dict[str, str]]]:
    """The posted rows of every group, in order, empty rows dropped."""
    found: dict[str, dict[int, dict[str, str]]] = {g.name: {} for g in GROUPS}
    for key, value in raw.multi_items():
        parts = key.split("-", 2)
        if len(parts) == 3 and parts[0] in found and parts[1].isdigit():
            found[parts[0]].setdefault(int(parts[1]), {})[parts[2]] = str(value).strip()
    groups: dict[str, list[dict[str, str]]] = {}
    for group in GROUPS:
        rows = [found[group.name][i] for i in sorted(found[group.name])]
        groups[group.name] = [
            {name: row.get(name, "") for name, _ in group.fields + tuple((h, h) for h in group.hidden)}
            for row in rows
            if any(row.get(name) for name, _ in group.fields)
        ]
    return groups


def _when(value: str) -> time | None:
    match = _TIME.match(value)
    return time(int(match.group(1)), int(match.group(2))) if match else None


def _day(value: str) -> date | None:
    """A date as the date box sends it (2026-12-25) or as people type it (25/12/2026)."""
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None


def _row_data(group: str, row: dict[str, str], key: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """One row as API data, and messages (keyed as the page's field ids) for what is not right."""
    errors: dict[str, str] = {}
    labels = dict(BY_NAME[group].fields)

    def wrong(field: str) -> None:
        errors[key(field)] = f"{labels[field]}: {_HOW_TO_FIX[field]}"

    def opening_times() -> tuple[time | None, time | None]:
        """The row's opening and closing times, naming each missing or wrong one and a close not after the open."""
        opens, closes = _when(row["opens_at"]), _when(row["closes_at"])
        if opens is None:
            wrong("opens_at")
        if closes is None:
            wrong("closes_at")
        elif opens is not None and closes <= opens:
            errors[key("closes_at")] = "Closes: enter a time after it opens"
        return opens, closes

    data: dict[str, Any] = {name: row[name] or None for name, _ in BY_NAME[group].fields}
    if group == "schedules":
        if not row["byday"]:
            errors[key("byday")] = "Day: choose the day it opens"
        opens, closes = opening_times()
        data.update(opens_at=opens, closes_at=closes)
    elif group == "holiday_schedules":
        first = _day(row["valid_from"])
        last = _day(row["valid_to"]) if row["valid_to"] else first
        if first is None:
            errors[key("valid_from")] = "First day: enter a date like 25/12/2026"
        if last is None and row["valid_to"]:
            errors[key("valid_to")] = "Last day: enter a date like 26/12/2026, or leave it empty for one day"
        elif first is not None and last is not None and last < first:
            errors[key("valid_to")] = "Last day: enter a day on or after the first day"
        # Closed unless the editor says open, or gives times without choosing.
        closed = row["closed"] == "yes" or (not row["closed"] and not (row["opens_at"] or row["closes_at"]))
        if closed:
            opens, closes = _when(row["opens_at"]), _when(row["closes_at"])
            if row["opens_at"] or row["closes_at"]:
                errors[key("opens_at")] = "Opens: leave the times empty when it is closed all day"
        else:
            opens, closes = opening_times()
        data.update(valid_from=first, valid_to=last, closed=closed, opens_at=opens, closes_at=closes)
    elif group == "locations":
        postcode = row["postal_code"]
        if postcode:
            try:
                postcode = places.normalise_postcode(postcode)
            except ValueError:
                wrong("postal_code")
        data["postal_code"] = postcode or None
        # The position stays with the postcode it was found for; a new postcode is placed afresh by geography.
        same = bool(postcode) and postcode == row["placed"] and row["latitude"] and row["longitude"]
        data["latitude"] = float(row["latitude"]) if same else None
        data["longitude"] = float(row["longitude"]) if same else None
        data["accessibility"] = [
            {"description": part.strip()} for part in (row["accessibility"] or "").split(";") if part.strip()
        ]
        if not (row["address_1"] or postcode or row["name"]):
            errors[key("address_1")] = "Address: enter the address or postcode of the place"
    elif group == "languages":
        data["name"] = dict(LANGUAGES).get(row["code"])
    elif group == "service_areas":
        scope = row["scope"]
        if scope not in dict(SCOPES):
            errors[key("scope")] = "Area: choose all of the UK, a local authority or a ward"
        if scope in ("local_authority", "ward") and not _GSS.match(row["area_code"].upper()):
            wrong("area_code")
        data["area_code"] = row["area_code"].upper() or None
        if scope == "ward" and not row["area_vintage"].isdigit():
            wrong("area_vintage")
        data["area_vintage"] = int(row["area_vintage"]) if row["area_vintage"].isdigit() else None
    elif group == "cost_options":
        try:
            amount = float(row["amount"].lstrip("£")) if row["amount"] else None
            if amount is not None and amount < 0:
                raise ValueError
            data["amount"] = amount
        except ValueError:
            wrong("amount")
    # The API's own rules for the row (a UK phone number, an e-mail address, lengths), reported on their boxes.
    try:
        _MODELS[group].model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            if not err.get("loc") and errors:
                continue  # a rule across the row's boxes, already said on the box itself
            field = str(err["loc"][0]) if err.get("loc") else BY_NAME[group].fields[0][0]
            field = field if field in labels else BY_NAME[group].fields[0][0]
            if key(field) not in errors:
                message = _HOW_TO_FIX.get(field) or str(err["msg"]).removeprefix("Value error, ")
                errors[key(field)] = f"{labels[field]}: {message}"
    return data, errors


def field_id(group: str, index: int, field: str) -> str:
    return f"{group}-{index}-{field}"


def groups_data(groups: dict[str, list[dict[str, str]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every group as ServiceFields data, or messages for the fields that are not right."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for group in GROUPS:
        items = []
        for i, row in enumerate(groups[group.name]):
            item, found = _row_data(group.name, row, lambda f, i=i, g=group.name: field_id(g, i, f))
            items.append(item)
            errors.update(found)
        data[group.name] = items
    return data, errors


def validation_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's findings inside the groups, in words, keyed as the page's field ids."""
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc") or ()
        if len(loc) >= 3 and str(loc[0]) in BY_NAME and isinstance(loc[1], int):
            group, index, field = str(loc[0]), int(loc[1]), str(loc[2])
            labels = dict(BY_NAME[group].fields)
            label = labels.get(field, BY_NAME[group].one)
            message = _HOW_TO_FIX.get(field) or str(err["msg"]).removeprefix("Value error, ")
            found.setdefault(
                field_id(group, index, field if field in labels else group_first(group)), f"{label}: {message}"
            )
    return found


def group_first(group: str) -> str:
    return BY_NAME[group].fields[0][0]


def warnings(detail: dict[str, Any] | None) -> list[str]:
    return location_warnings((detail or {}).get("locations") or [])
