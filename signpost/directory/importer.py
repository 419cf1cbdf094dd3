"""Import Open Referral feeds (ORUK 1.0 and 3.0 JSON, CSV) from a file or a paged remote feed.

Every record is normalised to one ORUK 3.0-shaped dict first (HTML reduced to safe text, empty strings
as missing, vendor `pc_` fields dropped), then written; re-importing matches on the feed's ids.
"""

import codecs
import csv
import hashlib
import html
import io
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dt_time
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import httpx
import ijson
from sqlalchemy import bindparam, delete, insert, select, update

from signpost.directory import categorise, fulltext
from signpost.directory import ids as oruk_ids
from signpost.directory.models import (
    CategoryOrigin,
    Contact,
    CostOption,
    HolidaySchedule,
    ImportRun,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceAudit,
    ServiceSearch,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.schemas import HOLIDAY_MAX_DAYS, WEEKDAYS

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table
    from sqlmodel import Session


FORMATS = ("oruk1", "oruk3", "csv")
STATUSES = {"active", "inactive", "defunct", "temporarily closed"}


class FeedError(Exception):
    """A feed that cannot be read at all (not one bad record: those are rejected one by one)."""


class RecordError(ValueError):
    """One record that cannot be imported, with the field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# ---------------------------------------------------------------------------------------------------------------
# Text cleaning


class _TextExtractor(HTMLParser):
    """HTML to plain text: block elements become line breaks, scripts and styles are dropped."""

    BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section"}
    HIDDEN = {"script", "style", "head", "title", "iframe", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.mailto: tuple[str, int] | None = None  # an open mailto: link's address, and where its text starts

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") or "" if tag == "a" else ""
        if href.lower().startswith("mailto:"):
            self.mailto = (href[7:].split("?", 1)[0].strip(), len(self.parts))
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self.mailto:
            # "e-mail us" linked to an address keeps the address, which the link text alone would lose.
            address, start = self.mailto
            if address and address.lower() not in "".join(self.parts[start:]).lower():
                self.parts.append(f" ({address})")
            self.mailto = None
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


_MARKUP = re.compile(r"<[a-zA-Z/!][^>]*>|&[#a-zA-Z0-9]+;")


def safe_text(value: Any) -> str | None:
    """Free text without markup: HTML reduced to its words and line breaks; blank as missing."""
    if value is None:
        return None
    text = str(value)
    if _MARKUP.search(text):
        parser = _TextExtractor()
        parser.feed(text)
        parser.close()
        text = "".join(parser.parts)
        text = html.unescape(text)  # anything the parser left, e.g. double-escaped entities
        text = _MARKUP.sub("", text) if "<" in text else text
    text = _INVISIBLE.sub("", text).replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n")
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    collapsed = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return collapsed or None


def plain(value: Any) -> str | None:
    """A short single-line value; empty strings and whitespace are missing."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return None
    text = _WHITESPACE.sub(" ", _INVISIBLE.sub("", html.unescape(str(value))).replace("\xa0", " ")).strip()
    return text or None


_WHITESPACE = re.compile(r"\s+")
# Zero-width spaces and joiners, word joiners, byte-order marks and soft hyphens: invisible, but they break
# search and duplicate matching.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")


def _url_text(value: Any) -> str | None:
    """A URL as published: only complete entities (`&amp;`) are decoded, so `?tab=1&section=2` keeps its `&section`
    (HTML's unescaping would read `&sect` as the section sign)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = _INVISIBLE.sub("", _ENTITY.sub(lambda m: html.unescape(m.group(0)), str(value))).strip()
    return text or None


# What normalising the current record changed or left out (a list while a record is read, else None).
_WARNINGS: ContextVar[list[str] | None] = ContextVar("import_warnings", default=None)


def _warn(message: str) -> None:
    """Note something the import changed or left out, for the report's warnings (never silently)."""
    found = _WARNINGS.get()
    if found is not None:
        found.append(message)


def _age(record: dict[str, Any], key: str) -> int | None:
    value = record.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(key, f"{value!r} is not a number of years") from None
    if number < 0 or number > 130 or number != int(number):
        raise RecordError(key, f"{value!r} is not a whole number of years between 0 and 130")
    return int(number)


def _date(record: dict[str, Any], key: str) -> date | None:
    value = plain(record.get(key))
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RecordError(key, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _url(value: Any, key: str) -> str | None:
    text = _url_text(value)
    if text is None:
        return None
    if not re.match(r"^https?://", text, re.I):
        if re.match(r"^[\w-]+(\.[\w-]+)+(/|$)", text):
            _warn(f"{key}: {text!r} has no https:// in front; it was added")
            text = "https://" + text  # "www.example.org" as published: a website all the same
        else:
            raise RecordError(key, f"{text!r} is not a web address")
    return text


def _email(value: Any, key: str) -> str | None:
    text = plain(value)
    if text is None:
        return None
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
        raise RecordError(key, f"{text!r} is not an e-mail address")
    return text


def _ident(value: Any, key: str = "id") -> str | None:
    text = plain(value)
    if text and len(text) > 64:
        raise RecordError(key, "is longer than 64 characters")
    return text


def _clip(value: str | None, limit: int, key: str = "") -> str | None:
    """Text cut to the column's length (on a word boundary where one is near)."""
    if value is None or len(value) <= limit:
        return value
    _warn(f"{key or 'text'}: {len(value)} characters, more than the {limit} kept; shortened ({value[:30]!r}…)")
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut).rstrip() + "…"


def _list(record: dict[str, Any], *keys: str) -> list[Any]:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)]
    return []


# ORUK 1.0 `attending_type` and free-text delivery words → the directory's delivery modes.
DELIVERY_WORDS = {
    "venue": "in_person",
    "in person": "in_person",
    "in_person": "in_person",
    "home visit": "in_person",
    "phone": "phone",
    "telephone": "phone",
    "online": "online",
    "internet": "online",
    "video": "online",
}
DAYS = {day.lower(): day for day in WEEKDAYS}
LANGUAGE_CODES = {
    "english": "en",
    "welsh": "cy",
    "polish": "pl",
    "urdu": "ur",
    "punjabi": "pa",
    "arabic": "ar",
    "bengali": "bn",
    "romanian": "ro",
    "french": "fr",
    "spanish": "es",
    "portuguese": "pt",
    "kurdish": "ku",
    "farsi": "fa",
    "persian": "fa",
    "tigrinya": "ti",
    "somali": "so",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "yue",
    "gujarati": "gu",
    "hindi": "hi",
    "lithuanian": "lt",
    "slovak": "sk",
    "czech": "cs",
    "russian": "ru",
    "ukrainian": "uk",
    "british sign language": "bfi",
    "bsl": "bfi",
    "pashto": "ps",
    "turkish": "tr",
}


def _delivery(record: dict[str, Any]) -> list[str]:
    modes: list[str] = []
    raw: list[Any] = []
    for key in ("delivery_modes", "attending_type"):
        value = record.get(key)
        raw.extend(value if isinstance(value, list) else [value])
    for item in raw:
        word = plain(item.get("delivery_method") if isinstance(item, dict) else item)
        if word and (mode := DELIVERY_WORDS.get(word.lower())) and mode not in modes:
            modes.append(mode)
    return sorted(modes)


def _time(value: Any) -> str | None:
    """'9:00', '09:00:00', '09:00Z' → '09:00'; anything else is missing."""
    text = plain(value)
    match = re.match(r"^(\d{1,2}):(\d{2})", text or "")
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _days(item: dict[str, Any]) -> list[str]:
    text = (plain(item.get("byday")) or plain(item.get("weekday")) or "").lower()
    days = []
    for part in re.split(r"[,\s]+", text):
        code = DAYS.get(part[:2]) if part.isalpha() else None  # monthly forms (2MO, -1FR) are not kept
        if code and code not in days:
            days.append(code)
    return days


def _holiday(item: dict[str, Any], key: str, start: Any, end: Any) -> dict[str, Any] | None:
    """A holiday or special opening from a feed: closed all day unless it gives both times (and is not marked
    closed); one that cannot be read is left out with a warning."""
    description = _clip(safe_text(item.get("description")), 300)
    try:
        first = date.fromisoformat((plain(start) or "")[:10])
        last = date.fromisoformat((plain(end) or "")[:10]) if plain(end) else first
    except ValueError:
        _warn(f"{key}: a holiday opening with dates {plain(start)!r} to {plain(end)!r} is not a date; left out")
        return None
    if last < first or (last - first).days >= HOLIDAY_MAX_DAYS or not 2000 <= first.year <= 2100:
        _warn(f"{key}: a holiday opening from {first} to {last} is not a sensible span; left out")
        return None
    opens, closes = _time(item.get("opens_at")), _time(item.get("closes_at"))
    flag = item.get("closed")
    said_closed = flag in (True, "true", "TRUE", "1", 1, "yes")
    # ORUK 3.0 has no `closed`: a dated schedule with no times is a closure. Open at unknown hours is not kept.
    closed = said_closed or (flag in (None, "") and not item.get("opens_at") and not item.get("closes_at"))
    if not closed and not (opens and closes):
        _warn(f"{key}: a holiday opening on {first} gives no full opening and closing times; left out")
        return None
    if not closed and opens and closes and opens >= closes:
        _warn(f"{key}: a holiday opening on {first} closes ({closes}) before it opens ({opens}); left out")
        return None
    return {
        "valid_from": first.isoformat(),
        "valid_to": last.isoformat(),
        "closed": closed,
        "opens_at": None if closed else opens,
        "closes_at": None if closed else closes,
        "description": description,
    }


def _area_scope(item: dict[str, Any]) -> tuple[str, str | None, int | None]:
    scope = (plain(item.get("scope")) or plain(item.get("extent_type")) or "").lower()
    code = plain(item.get("area_code")) or plain(item.get("extent"))
    vintage_raw = item.get("area_vintage")
    vintage = (
        int(vintage_raw)
        if isinstance(vintage_raw, int) or (isinstance(vintage_raw, str) and vintage_raw.isdigit())
        else None
    )
    if scope not in {"national", "local_authority", "ward"}:
        name = (plain(item.get("name") or item.get("service_area")) or "").lower()
        scope = (
            "national"
            if name in {"national", "uk", "united kingdom", "england", "great britain"}
            else "local_authority"
        )
    if code and (len(code) > 9 or not re.match(r"^[A-Z]\d{8}$", code)):
        code = None  # only GSS codes are kept as codes; free text stays in the name
    return scope, code, vintage


def normalise_service(raw: Any) -> dict[str, Any]:
    """One feed record (ORUK 1.0 or 3.0) as exactly what the directory stores; RecordError names the bad field."""
    if not isinstance(raw, dict):
        raise RecordError("record", "is not a JSON object")
    # Only named fields are read, so vendor extensions (`pc_…` fields) never reach the directory.
    record: dict[str, Any] = raw
    service_id = _ident(record.get("id"))
    if not service_id:
        raise RecordError("id", "is missing; a feed record needs its id so re-imports update it")
    name = plain(record.get("name"))
    if not name:
        raise RecordError("name", "is missing")
    if len(name) > 300:
        raise RecordError("name", "is longer than 300 characters")
    status = (plain(record.get("status")) or "active").lower()
    if status not in STATUSES:
        raise RecordError("status", f"{status!r} is not one of {', '.join(sorted(STATUSES))}")

    minimum_age = _age(record, "minimum_age")
    maximum_age = _age(record, "maximum_age")
    criteria: list[str] = []
    for item in _list(record, "eligibilitys", "eligibilities"):  # ORUK 1.0 keeps ages in eligibility rows
        if minimum_age is None:
            minimum_age = _age(item, "minimum_age")
        if maximum_age is None:
            maximum_age = _age(item, "maximum_age")
        if text := safe_text(item.get("eligibility") or item.get("description")):
            criteria.append(text)
    if minimum_age is not None and maximum_age is not None and minimum_age > maximum_age:
        raise RecordError("minimum_age", f"{minimum_age} is above maximum_age {maximum_age}")

    org_raw: dict[str, Any] = record["organization"] if isinstance(record.get("organization"), dict) else {}
    org_id = _ident(org_raw.get("id"), "organization.id") or _ident(record.get("organization_id"), "organization_id")
    org_name = plain(org_raw.get("name")) or name
    organization = {
        "id": org_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"signpost:organization:{org_name.lower()}")),
        "name": _clip(org_name, 300, "organization.name"),
        "alternate_name": _clip(plain(org_raw.get("alternate_name")), 300),
        "description": safe_text(org_raw.get("description")),
        "email": _clip(_safe_email(org_raw.get("email"), "organization.email"), 300, "organization.email"),
        "website": _safe_url(org_raw.get("website") or org_raw.get("url"), "organization.website"),
        "charity_number": _clip(plain(org_raw.get("charity_number")), 20),
        "company_number": _clip(plain(org_raw.get("company_number")), 20),
    }

    terms: list[dict[str, Any]] = []
    for link in _list(record, "attributes", "service_taxonomys", "taxonomy_terms"):
        term = next((link[k] for k in ("taxonomy_term", "taxonomy") if isinstance(link.get(k), dict)), link)
        term_id = _ident(term.get("id"), "taxonomy_term.id") or _ident(link.get("taxonomy_term_id"), "taxonomy_term_id")
        if not term_id or any(t["id"] == term_id for t in terms):
            continue
        label = plain(term.get("term")) or plain(term.get("name")) or term_id
        vocabulary = plain(term.get("taxonomy")) if isinstance(term.get("taxonomy"), str) else None
        terms.append(
            {
                "id": term_id,
                "code": _clip(plain(term.get("code")) or term_id, 100),
                "name": _clip(label, 300),
                "taxonomy": _clip(vocabulary or plain(term.get("vocabulary")) or "imported", 100),
                "parent_id": _ident(term.get("parent_id") or term.get("parent"), "taxonomy_term.parent_id"),
            }
        )
    terms.sort(key=lambda t: t["id"])

    locations: list[dict[str, Any]] = []
    for sal in _list(record, "service_at_locations", "locations"):
        loc = sal.get("location") if isinstance(sal.get("location"), dict) else sal
        loc_id = _ident(loc.get("id"), "location.id") or _ident(sal.get("location_id"), "location_id")
        if not loc_id or any(x["id"] == loc_id for x in locations):
            continue
        address = (_list(loc, "addresses", "physical_addresses") or [{}])[0]
        postcode = plain(address.get("postal_code"))
        postcode = _postcode(postcode)
        locations.append(
            {
                "id": loc_id,
                "location_type": (plain(loc.get("location_type")) or "physical")[:20],
                "name": _clip(plain(loc.get("name")), 300),
                "description": safe_text(loc.get("description")),
                "latitude": _coordinate(loc.get("latitude"), "location.latitude", 90),
                "longitude": _coordinate(loc.get("longitude"), "location.longitude", 180),
                "address_1": _clip(plain(address.get("address_1")), 300),
                "city": _clip(plain(address.get("city")), 100),
                "state_province": _clip(plain(address.get("state_province")), 100),
                "postal_code": postcode,
            }
        )
    locations.sort(key=lambda x: x["id"])

    def phone_rows(container: dict[str, Any]) -> list[dict[str, Any]]:
        rows = []
        for p in _list(container, "phones"):
            number = plain(p.get("number"))
            if number and len(number) <= 50:
                rows.append(
                    {
                        "number": number,
                        "type": _clip(plain(p.get("type")), 20),
                        "description": _clip(plain(p.get("description")), 300),
                    }
                )
        return rows

    contacts = []
    for contact in _list(record, "contacts"):
        entry = {
            "name": _clip(plain(contact.get("name")), 200),
            "title": _clip(plain(contact.get("title")), 200),
            "email": _clip(_safe_email(contact.get("email"), "contacts.email"), 300, "contacts.email"),
            "phones": phone_rows(contact),
        }
        if any(entry.values()):
            contacts.append(entry)

    schedules: list[dict[str, Any]] = []
    holidays: list[dict[str, Any]] = []
    for item in _list(record, "holiday_schedules"):  # HSDS 2 / ORUK 1.0
        if dated := _holiday(item, "holiday_schedules", item.get("start_date"), item.get("end_date")):
            holidays.append(dated)
    for item in _list(record, "schedules", "regular_schedules"):
        opens, closes = _time(item.get("opens_at")), _time(item.get("closes_at"))
        if not _days(item) and plain(item.get("valid_from")):
            # ORUK 3.0 has no holiday table: a dated schedule on no weekday is an exception to the regular hours.
            if dated := _holiday(item, "schedules", item.get("valid_from"), item.get("valid_to")):
                holidays.append(dated)
            continue
        if not (opens and closes):
            continue
        for day in _days(item):
            schedules.append(
                {
                    "byday": day,
                    "opens_at": opens,
                    "closes_at": closes,
                    "description": _clip(safe_text(item.get("description")), 300),
                }
            )
    schedules.sort(key=lambda x: (list(DAYS.values()).index(x["byday"]), x["opens_at"]))
    holidays.sort(key=lambda row: json.dumps(row, sort_keys=True))

    cost_options = []
    for item in _list(record, "cost_options"):
        amount = item.get("amount")
        cost_options.append(
            {
                "option": _clip(plain(item.get("option")), 200),
                "amount": float(amount) if isinstance(amount, (int, float)) and not isinstance(amount, bool) else None,
                "amount_description": _clip(plain(item.get("amount_description")), 300),
            }
        )
    languages: list[dict[str, Any]] = []
    for item in _list(record, "languages"):
        lname = plain(item.get("name") or item.get("language"))
        code = plain(item.get("code")) or LANGUAGE_CODES.get((lname or "").lower())
        if code and len(code) <= 10:
            languages.append(
                {"name": _clip(lname, 100), "code": code.lower(), "note": _clip(plain(item.get("note")), 300)}
            )
    languages.sort(key=lambda x: x["code"])
    areas = []
    for item in _list(record, "service_areas"):
        scope, code, vintage = _area_scope(item)
        areas.append(
            {
                "name": _clip(plain(item.get("name") or item.get("service_area")), 200),
                "description": _clip(safe_text(item.get("description")), 500),
                "scope": scope,
                "area_code": code,
                "area_vintage": vintage,
            }
        )

    # Canonical order, so a feed that lists the same things in another order is unchanged (and child ids,
    # derived from positions, stay the same).
    for rows in (contacts, cost_options, areas):
        rows.sort(key=lambda row: json.dumps(row, sort_keys=True, default=str))
    for contact in contacts:
        contact_phones = cast(list[dict[str, Any]], contact["phones"])
        contact_phones.sort(key=lambda row: json.dumps(row, sort_keys=True))
    service_phones = sorted(phone_rows(record), key=lambda row: json.dumps(row, sort_keys=True))

    return {
        "id": service_id,
        "name": name,
        "alternate_name": _clip(plain(record.get("alternate_name")), 300, "alternate_name"),
        "description": safe_text(record.get("description")),
        "url": _safe_url(record.get("url")),
        "email": _clip(_safe_email(record.get("email")), 300, "email"),
        "status": status,
        "interpretation_services": _clip(
            safe_text(record.get("interpretation_services")), 500, "interpretation_services"
        ),
        "application_process": safe_text(record.get("application_process")),
        "fees_description": _clip(
            safe_text(record.get("fees_description") or record.get("fees")), 500, "fees_description"
        ),
        "minimum_age": minimum_age,
        "maximum_age": maximum_age,
        "eligibility_description": "\n".join(criteria) or safe_text(record.get("eligibility_description")),
        "assured_date": _date(record, "assured_date"),
        "assurer_email": _clip(_safe_email(record.get("assurer_email"), "assurer_email"), 300, "assurer_email"),
        "delivery_modes": _delivery(record),
        "organization": organization,
        "taxonomy_terms": terms,
        "locations": locations,
        "contacts": contacts,
        "phones": service_phones,
        "schedules": schedules,
        "holiday_schedules": holidays,
        "cost_options": cost_options,
        "languages": languages,
        "service_areas": areas,
    }


def _postcode(value: str | None) -> str | None:
    """A UK postcode in its normal form; anything else as written when it fits, else missing."""
    from signpost.directory import places

    if not value:
        return None
    normal = places.normalise_postcode_or_none(value)
    if normal is None:
        _warn(
            f"postal_code: {value[:12]!r} is not a UK postcode; "
            + ("kept as written" if len(value) <= 10 else "left out")
        )
    return normal or (value.upper() if len(value) <= 10 else None)


def _safe_url(value: Any, key: str = "url") -> str | None:
    """A website that is not a web address (or too long to keep whole) is dropped rather than failing the record."""
    try:
        url = _url(value, key)
    except RecordError as exc:
        _warn(f"{key}: {exc.message}; left out")
        return None
    if url is not None and len(url) > 500:
        _warn(f"{key}: longer than 500 characters; left out")
        return None
    return url


def _safe_email(value: Any, key: str = "email") -> str | None:
    try:
        return _email(value, key)
    except RecordError as exc:
        _warn(f"{key}: {exc.message}; left out")
        return None


def _coordinate(value: Any, key: str, limit: float) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecordError(key, f"{value!r} is not a number") from None
    if abs(number) > limit:
        raise RecordError(key, f"{number} is out of range")
    return number


# ---------------------------------------------------------------------------------------------------------------
# Reading feeds

_READ_BYTES = 1 << 16  # bytes read at a time from a file


def _csv_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(lines)
    if not reader.fieldnames or "id" not in reader.fieldnames or "name" not in reader.fieldnames:
        raise FeedError("the CSV needs a header row with at least 'id' and 'name'")
    for row in reader:
        record: dict[str, Any] = {k: v for k, v in row.items() if k and not k.startswith("organization_")}
        record["organization"] = {
            k.removeprefix("organization_"): v for k, v in row.items() if k and k.startswith("organization_")
        }
        terms = [t for t in (row.get("taxonomy_terms") or "").split("|") if t.strip()]
        record["taxonomy_terms"] = [
            {"id": t.split("=", 1)[0], "term": t.split("=", 1)[-1], "taxonomy": row.get("taxonomy") or None}
            for t in terms
        ]
        record["delivery_modes"] = [m for m in (row.get("delivery_modes") or "").split("|") if m]
        record["languages"] = [{"code": c} for c in (row.get("languages") or "").split("|") if c]
        yield record


def records_from_csv(text: str) -> list[dict[str, Any]]:
    """The CSV export's rows back as records (organisation and lists flattened as the exporter writes them)."""
    return list(_csv_records(io.StringIO(text, newline="")))


def records_from_json(payload: Any) -> list[Any]:
    """The records of a JSON document: a list, or an ORUK 1.0/3.0 page (`content` or `contents`)."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in ("contents", "content", "services", "items"):
            if isinstance(payload.get(key), list):
                return list(payload[key])
        if "id" in payload and "name" in payload:
            return [payload]
    raise FeedError("the JSON is neither a list of services nor an Open Referral page (contents)")


def _json_records(handle: BinaryIO) -> Iterator[Any]:
    """The records of a JSON file, a top-level list's items parsed one at a time (ijson), so the list is never held
    whole. Anything but a top-level list (an ORUK page object, say) is read whole: such files are one page."""
    origin = handle.tell()
    head = b""
    while not head.lstrip(b" \t\r\n\xef\xbb\xbf") and (more := handle.read(_READ_BYTES)):
        head += more
    handle.seek(origin + (len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0))
    if not head.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"["):
        try:
            payload = json.loads(handle.read().decode("utf-8"))
        except UnicodeDecodeError:
            raise FeedError("the file is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise FeedError(f"the file is not valid JSON ({exc.msg}, line {exc.lineno})") from None
        yield from records_from_json(payload)
        return
    read = 0
    try:
        for item in ijson.items(handle, "item", use_float=True, buf_size=_READ_BYTES):
            yield item
            read += 1
    except ijson.JSONError as exc:
        # Only the message's first line: the rest quotes the file around the fault.
        message = exc.args[0] if exc.args else ""
        problem = (message.decode(errors="replace") if isinstance(message, bytes) else str(message)).splitlines()
        reason = problem[0].removeprefix("parse error: ").removeprefix("lexical error: ").rstrip(".") if problem else ""
        if "UTF8" in reason:
            raise FeedError("the file is not UTF-8 text") from None
        raise FeedError(f"the file is not valid JSON ({reason}, after record {read})") from None


def iter_file_records(handle: BinaryIO, fmt: str | None, filename: str = "") -> Iterator[Any]:
    """Raw records from an open file (local or uploaded), read as they are needed rather than all at once."""
    if not (fmt == "csv" or (fmt is None and filename.lower().endswith(".csv"))):
        yield from _json_records(handle)
        return
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    try:
        yield from _csv_records(text)
    except UnicodeDecodeError:
        raise FeedError("the file is not UTF-8 text") from None
    except csv.Error as exc:
        raise FeedError(f"the CSV cannot be read ({exc})") from None
    finally:
        text.detach()  # the caller's file stays open


def scan_file(handle: BinaryIO, fmt: str | None, filename: str = "") -> int:
    """Read a whole file once, holding nothing, so a broken one fails before anything is written: the record count.

    The file is left at its start, ready to import.
    """
    count = sum(1 for _ in iter_file_records(handle, fmt, filename))
    handle.seek(0)
    return count


def read_file_records(data: bytes, fmt: str | None, filename: str = "") -> list[Any]:
    """Records from an uploaded or local file held in memory."""
    return list(iter_file_records(io.BytesIO(data), fmt, filename))


@dataclass
class FetchPolicy:
    """How patiently a remote feed is read."""

    per_page: int = 100
    max_pages: int = 10_000
    attempts: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep


def _page_info(payload: Any, page: int) -> tuple[list[Any], bool]:
    """(records, is_last) for one page of an ORUK 1.0 (`content`, `last`) or 3.0 (`contents`, `last_page`) feed."""
    records = records_from_json(payload)
    if isinstance(payload, list):
        return records, True  # a plain list is the whole feed
    for key in ("last_page", "last"):
        if isinstance(payload.get(key), bool):
            return records, payload[key]
    for key in ("total_pages", "totalPages"):
        if isinstance(payload.get(key), int):
            return records, page >= payload[key]
    return records, not records


def fetch_remote(
    url: str, *, client: httpx.Client, policy: FetchPolicy | None = None, on_page: Callable[[int], None] | None = None
) -> Iterator[Any]:
    """Page through a remote feed, retrying 5xx answers and timeouts with backoff; yields raw records."""
    policy = policy or FetchPolicy()
    page = 1
    seen: set[str] = set()
    while page <= policy.max_pages:
        payload = _get_page(url, page=page, client=client, policy=policy)
        try:
            records, last = _page_info(payload, page)
        except FeedError as exc:
            raise FeedError(f"page {page} of {url}: {exc}") from None
        # A server that ignores `page` returns page 1 again: stop instead of looping for ever.
        ids = [str(r.get("id")) for r in records if isinstance(r, dict)]
        if page > 1 and ids and all(i in seen for i in ids):
            break
        seen.update(ids)
        yield from records
        if on_page:
            on_page(page)
        if last or not records:
            break
        page += 1


def _get_page(url: str, *, page: int, client: httpx.Client, policy: FetchPolicy) -> Any:
    separator = "&" if "?" in url else "?"
    page_url = f"{url}{separator}page={page}&per_page={policy.per_page}"
    last_error = ""
    for attempt in range(policy.attempts):
        if attempt:
            policy.sleep(policy.backoff_s * 2 ** (attempt - 1))
        try:
            response = client.get(page_url, timeout=policy.timeout_s, headers={"Accept": "application/json"})
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last_error = f"{type(exc).__name__}"
            continue
        if response.status_code >= 500 or response.status_code == 429:
            last_error = f"HTTP {response.status_code}"
            continue
        if response.status_code >= 400:
            raise FeedError(f"page {page} of {url} answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise FeedError(f"page {page} of {url} is not valid JSON") from None
    raise FeedError(f"page {page} of {url} failed {policy.attempts} times (last: {last_error})")


# ---------------------------------------------------------------------------------------------------------------
# The report


@dataclass
class Rejection:
    """A record left out, and why."""

    index: int
    id: str | None
    name: str | None
    field: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    source: str
    format: str
    dry_run: bool = False
    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    # Records that named no organisation: each is filed under an organisation named after the service, and listed.
    without_organization: list[dict[str, Any]] = field(default_factory=list)
    categories: dict[str, Any] | None = None  # categorise.CategorisationReport.summary() of the feed's services
    # Everything normalising changed or left out of a record that was imported: {id, name, message}.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None  # the import_run row (None on a dry run): the review queue filters on it

    def summary(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "source": self.source,
            "format": self.format,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "total": self.total,
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "duplicates": self.duplicates,
            "rejected": [r.__dict__ for r in self.rejected],
            "without_organization": self.without_organization,
            "categories": self.categories,
            "warnings": self.warnings,
        }


def iter_normalised(records: Iterable[Any], report: ImportReport) -> Iterator[dict[str, Any]]:
    """Clean records, rejecting the bad ones (with reasons) and repeats of an id within the feed."""
    seen: set[str] = set()
    for index, raw in enumerate(records):
        report.total += 1
        noted: list[str] = []
        reset = _WARNINGS.set(noted)
        try:
            record = normalise_service(raw)
        except RecordError as exc:
            rid = _ident(raw.get("id")) if isinstance(raw, dict) else None
            rname = plain(raw.get("name")) if isinstance(raw, dict) else None
            report.rejected.append(Rejection(index, rid, rname, exc.field, exc.message))
            continue
        finally:
            _WARNINGS.reset(reset)
        if not _names_organization(raw):
            report.without_organization.append({"id": record["id"], "name": record["name"]})
        if record["id"] in seen:
            report.rejected.append(
                Rejection(index, record["id"], record["name"], "id", "appears earlier in the same feed")
            )
            continue
        # A rejected record's notes are moot (it is listed as rejected); a kept one's are the warnings.
        report.warnings.extend({"id": record["id"], "name": record["name"], "message": m} for m in dict.fromkeys(noted))
        seen.add(record["id"])
        yield record


def _names_organization(raw: dict[str, Any]) -> bool:
    org = raw.get("organization")
    return bool(
        (isinstance(org, dict) and (plain(org.get("name")) or plain(org.get("id"))))
        or plain(raw.get("organization_id"))
    )


# ---------------------------------------------------------------------------------------------------------------
# Writing

_SERVICE_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "interpretation_services",
    "application_process",
    "fees_description",
    "minimum_age",
    "maximum_age",
    "eligibility_description",
    "assured_date",
    "assurer_email",
)
_ORG_FIELDS = ("name", "alternate_name", "description", "email", "website", "charity_number", "company_number")
_LOCATION_FIELDS = (
    "location_type",
    "name",
    "description",
    "latitude",
    "longitude",
    "address_1",
    "city",
    "state_province",
    "postal_code",
)
_NAMESPACE = uuid.NAMESPACE_URL.bytes


def _table(model: Any) -> "Table":
    """A model's table, for the Core statements a bulk import is written in."""
    return cast("Table", model.__table__)


def _child_id(service_id: str, kind: str, index: int) -> str:
    """Child rows get ids derived from their service, so a re-import rewrites the same rows.

    The same value as `uuid.uuid5(NAMESPACE_URL, …)`, without building UUID objects (a bulk import makes millions).
    """
    digest = bytearray(hashlib.sha1(_NAMESPACE + f"signpost:{service_id}:{kind}:{index}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _comparable(record: dict[str, Any]) -> dict[str, Any]:
    """What decides 'unchanged': everything stored, organisation and locations included.

    Terms count by id only: a held term is never rewritten by a feed that names it differently.
    """
    return cast(dict[str, Any], json.loads(_fingerprint(record)))


def _fingerprint(record: dict[str, Any]) -> str:
    """The comparable content as one string: two records are the same when their fingerprints are."""
    terms = sorted(t["id"] for t in record["taxonomy_terms"])
    return json.dumps({**record, "taxonomy_terms": terms}, default=str, sort_keys=True)


def _held_records(connection: "Connection", ids: list[str]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Held services as (normalised record, service row), read with one query per table and no ORM objects.

    The record has the shape `normalise_service` gives a feed record, so comparing the two says whether a
    re-import changes anything.
    """

    def rows(model: Any, column: str, keys: Iterable[str]) -> list[Any]:
        table = _table(model)
        keys = list(keys)
        return list(connection.execute(select(table).where(table.c[column].in_(keys))).mappings()) if keys else []

    def grouped(model: Any, kind: str) -> dict[str, list[Any]]:
        """Each service's rows in the order the feed gave them (their ids say it: see `_child_rows`)."""
        out: dict[str, list[Any]] = {}
        for row in rows(model, "service_id", ids):
            out.setdefault(row["service_id"], []).append(row)
        for sid, group in out.items():
            if len(group) > 1:
                position = {_child_id(sid, kind, i): i for i in range(len(group))}
                group.sort(key=lambda row: (position.get(row["id"], len(group)), row["id"]))
        return out

    services = rows(Service, "id", ids)
    if not services:
        return {}
    orgs = {o["id"]: o for o in rows(Organization, "id", {s["organization_id"] for s in services})}
    sals, links, areas, contacts, phones, schedules, holidays, costs, languages = (
        grouped(model, kind)
        for model, kind in (
            (ServiceAtLocation, "sal"),
            (ServiceTaxonomy, "term"),
            (ServiceArea, "area"),
            (Contact, "contact"),
            (Phone, "phone"),
            (Schedule, "schedule"),
            (HolidaySchedule, "holiday"),
            (CostOption, "cost"),
            (Language, "language"),
        )
    )
    locations = {x["id"]: x for x in rows(Location, "id", {s["location_id"] for v in sals.values() for s in v})}
    # Crosswalked and suggested categories are derived, not the feed's: they never make a record look changed.
    links = {sid: [x for x in v if x["origin"] == CategoryOrigin.given.value] for sid, v in links.items()}

    def pick(row: Any, fields: Iterable[str]) -> dict[str, Any]:
        return {f: row[f] for f in fields}

    def phone(row: Any) -> dict[str, Any]:
        return pick(row, ("number", "type", "description"))

    held = {}
    for s in services:
        sid = s["id"]
        org = orgs.get(s["organization_id"])
        service_phones = phones.get(sid, [])
        modes = [
            m for m, on in (("in_person", s["in_person"]), ("phone", s["by_phone"]), ("online", s["online"])) if on
        ]
        record = {
            **pick(s, ("id", *_SERVICE_FIELDS)),
            "delivery_modes": modes,
            "organization": {"id": s["organization_id"], **(pick(org, _ORG_FIELDS) if org else {})},
            "taxonomy_terms": [{"id": link["taxonomy_term_id"]} for link in links.get(sid, [])],
            "locations": [
                {"id": x["id"], **pick(x, _LOCATION_FIELDS)}
                for x in (locations.get(sal["location_id"]) for sal in sals.get(sid, []))
                if x is not None
            ],
            "contacts": [
                {
                    **pick(c, ("name", "title", "email")),
                    "phones": [phone(p) for p in service_phones if p["contact_id"] == c["id"]],
                }
                for c in contacts.get(sid, [])
            ],
            "phones": [phone(p) for p in service_phones if p["contact_id"] is None],
            "schedules": [
                {
                    "byday": x["byday"],
                    "opens_at": x["opens_at"].strftime("%H:%M"),
                    "closes_at": x["closes_at"].strftime("%H:%M"),
                    "description": x["description"],
                }
                for x in schedules.get(sid, [])
            ],
            "holiday_schedules": [
                {
                    "valid_from": x["valid_from"].isoformat(),
                    "valid_to": x["valid_to"].isoformat(),
                    "closed": bool(x["closed"]),
                    "opens_at": x["opens_at"].strftime("%H:%M") if x["opens_at"] else None,
                    "closes_at": x["closes_at"].strftime("%H:%M") if x["closes_at"] else None,
                    "description": x["description"],
                }
                for x in holidays.get(sid, [])
            ],
            "cost_options": [pick(x, ("option", "amount", "amount_description")) for x in costs.get(sid, [])],
            "languages": [pick(x, ("name", "code", "note")) for x in languages.get(sid, [])],
            "service_areas": [
                pick(x, ("name", "description", "scope", "area_code", "area_vintage")) for x in areas.get(sid, [])
            ],
        }
        held[sid] = (record, s)
    return held


class _DuplicateIndex:
    """The records held, as maps read once, for the directory's duplicate rules (`service.duplicate_matches`).

    Asking the database per new service costs a query per rule and, for the postcode rule, every service at
    that postcode: quadratic over a large feed. The maps are read on the first new service and kept current
    as the import writes. Close names are compared only within an organisation, as the rule says.
    """

    def __init__(self, connection: "Connection") -> None:
        self.connection = connection
        self.loaded = False
        self.names: dict[str, str] = {}  # service id → name
        self.by_org: dict[str, dict[str, str]] = {}  # organisation id → {service id: normalised name}
        self.at_postcode: dict[tuple[str, str], set[str]] = {}  # (normalised name, postcode) → service ids
        self.numbers: dict[tuple[str, str], dict[str, str]] = {}  # (field, NUMBER) → {organisation id: name}
        self.org_numbers: dict[str, list[tuple[str, str]]] = {}  # organisation id → its keys in `numbers`

    def load(self) -> None:

        from signpost.directory import service as directory

        if self.loaded:
            return
        self.loaded = True
        s, o = _table(Service).c, _table(Organization).c
        keys: dict[str, str] = {}
        for sid, name, org_id in self.connection.execute(
            select(s.id, s.name, s.organization_id).where(s.retired_at.is_(None))
        ):
            keys[sid] = key = directory.normalise_name(name)
            self.names[sid] = name
            self.by_org.setdefault(org_id, {})[sid] = key
        sal, loc = _table(ServiceAtLocation).c, _table(Location).c
        for sid, postcode in self.connection.execute(
            select(sal.service_id, loc.postal_code)
            .join_from(_table(ServiceAtLocation), _table(Location), loc.id == sal.location_id)
            .where(loc.postal_code.is_not(None))
        ):
            if sid in keys:
                self.at_postcode.setdefault((keys[sid], postcode), set()).add(sid)
        for org_id, name, charity, company in self.connection.execute(
            select(o.id, o.name, o.charity_number, o.company_number).where(
                (o.charity_number.is_not(None)) | (o.company_number.is_not(None))
            )
        ):
            self.set_organization(org_id, name, charity, company)

    def set_organization(self, org_id: str, name: str, charity: str | None, company: str | None) -> None:
        if not self.loaded:
            return
        for key in self.org_numbers.pop(org_id, []):
            self.numbers.get(key, {}).pop(org_id, None)
        keys = [(f, n.upper()) for f, n in (("charity_number", charity), ("company_number", company)) if n]
        for key in keys:
            self.numbers.setdefault(key, {})[org_id] = name
        if keys:
            self.org_numbers[org_id] = keys

    def named_at(self, key: str, postcodes: list[str]) -> list[tuple[str, str, str]]:
        return [
            (sid, self.names[sid], code) for code in postcodes for sid in sorted(self.at_postcode.get((key, code), ()))
        ]

    def with_number(self, field: str, number: str) -> list[tuple[str, str]]:
        return list(self.numbers.get((field, number), {}).items())

    def in_organization(self, organization_id: str) -> dict[str, tuple[str, str]]:
        return {sid: (self.names[sid], key) for sid, key in self.by_org.get(organization_id, {}).items()}

    def matches(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """What `find_duplicates` answers for this record: the same rules (`duplicate_matches`), asked of the maps."""
        from signpost.directory import service as directory

        self.load()
        org = record["organization"]
        found = directory.duplicate_matches(
            held=self,
            name=record["name"],
            organization_id=org["id"],
            postcodes=[x["postal_code"] or "" for x in record["locations"]],
            charity_number=org["charity_number"],
            company_number=org["company_number"],
        )
        return [m.as_dict() for m in found]

    def set_service(self, record: dict[str, Any], before: dict[str, Any] | None = None) -> None:
        """Keep the maps current after a service is written (`before`: what it was, when it was held)."""
        from signpost.directory import service as directory

        if not self.loaded:
            return
        sid = record["id"]
        if before is not None:
            old_key = directory.normalise_name(before["name"])
            self.by_org.get(before["organization"]["id"], {}).pop(sid, None)
            for x in before["locations"]:
                self.at_postcode.get((old_key, x["postal_code"]), set()).discard(sid)
        key = directory.normalise_name(record["name"])
        self.names[sid] = record["name"]
        self.by_org.setdefault(record["organization"]["id"], {})[sid] = key
        for x in record["locations"]:
            if x["postal_code"]:
                self.at_postcode.setdefault((key, x["postal_code"]), set()).add(sid)


@dataclass
class _ImportState:
    """What one import keeps between batches: the duplicate maps and the taxonomy term names seen."""

    duplicates: _DuplicateIndex
    term_names: dict[str, str] = field(default_factory=dict)
    run_id: int | None = None  # the import_run row every service written is marked with


def import_records(
    *,
    session: "Session",
    records: Iterable[Any],
    report: ImportReport,
    actor: str,
    on_record: Callable[[], None] | None = None,
    on_batch: Callable[[], None] | None = None,
    batch_size: int = 1000,
) -> ImportReport:
    """Load records into the directory: new ids created, changed ones updated, the same left alone.

    Records are read one at a time and written in batches with a few set-wise statements each, so memory
    stays flat whatever the feed's size. Does not commit: `on_batch` runs after each batch (the command line
    commits there, so a running server's writes are not held up for the whole import). On a dry run
    everything happens inside a savepoint that is rolled back, and `on_batch` is not called.
    """
    session.flush()
    savepoint = session.begin_nested() if report.dry_run else None
    run = ImportRun(
        source=report.source[:500], format=report.format[:20], actor=actor[:200], started_at=datetime.now(UTC)
    )
    session.add(run)
    session.flush()
    state = _ImportState(_DuplicateIndex(session.connection()), run_id=run.id)
    report.run_id = None if report.dry_run else run.id
    try:
        batch: list[dict[str, Any]] = []
        for record in iter_normalised(records, report):
            batch.append(record)
            if len(batch) >= batch_size:
                _write_batch(session, batch, report, actor, on_record, state)
                batch = []
                if on_batch and not report.dry_run:
                    on_batch()
                    state.duplicates.connection = session.connection()
        if batch:
            _write_batch(session, batch, report, actor, on_record, state)
        # Crosswalks and suggestions for every service the feed holds, unchanged ones too (a map may have changed).
        feed_ids = [*report.created, *report.updated, *report.unchanged]
        report.categories = categorise.categorise(
            session=session, service_ids=feed_ids, actor=actor, reindex=set(report.updated)
        ).summary()
        run.created, run.updated, run.unchanged = len(report.created), len(report.updated), len(report.unchanged)
        session.add(run)
        session.flush()
        if on_batch and not report.dry_run:
            on_batch()
    finally:
        if savepoint is not None:
            savepoint.rollback()
    return report


def _write_batch(
    session: "Session",
    batch: list[dict[str, Any]],
    report: ImportReport,
    actor: str,
    on_record: Callable[[], None] | None,
    state: _ImportState,
) -> None:
    """One batch in a few set-wise statements: parents before children, as the foreign keys need."""

    connection = session.connection()
    duplicates = state.duplicates

    def add(model: Any, rows: list[dict[str, Any]]) -> None:
        if rows:
            connection.execute(insert(_table(model)), rows)

    def change(model: Any, fields: Iterable[str], rows: list[dict[str, Any]], key: str = "id") -> None:
        """Many rows updated in one executemany, each row naming its key as `b_<key>`."""
        if rows:
            table = _table(model)
            statement = (
                update(table)
                .where(table.c[key] == bindparam("b_" + key))
                .values({f: bindparam("b_" + f) for f in fields})
            )
            connection.execute(statement, [{"b_" + k: v for k, v in row.items()} for row in rows])

    def held(model: Any, ids: Iterable[str]) -> dict[str, Any]:
        table = _table(model)
        ids = list(ids)
        if not ids:
            return {}
        return {row["id"]: row for row in connection.execute(select(table).where(table.c.id.in_(ids))).mappings()}

    now = datetime.now(UTC)
    befores = _held_records(connection, [r["id"] for r in batch])
    # A feed that carries a category this directory derived (its own export, say) names what is already held:
    # such terms are left to categorise, so they neither look like a change nor get linked twice.
    links = _table(ServiceTaxonomy)
    derived: dict[str, set[str]] = {}
    for sid, term_id in connection.execute(
        select(links.c.service_id, links.c.taxonomy_term_id).where(
            links.c.service_id.in_(list(befores)), links.c.origin != CategoryOrigin.given.value
        )
    ):
        derived.setdefault(sid, set()).add(term_id)
    for record in batch:
        if held_derived := derived.get(record["id"]):
            record["taxonomy_terms"] = [t for t in record["taxonomy_terms"] if t["id"] not in held_derived]
    orgs = held(Organization, {r["organization"]["id"] for r in batch})
    locations = held(Location, {x["id"] for r in batch for x in r["locations"]})
    term_names = state.term_names
    unknown_terms = {t["id"] for r in batch for t in r["taxonomy_terms"]} - term_names.keys()
    if unknown_terms:
        term_table = _table(TaxonomyTerm)
        for term_id, term_name in connection.execute(
            select(term_table.c.id, term_table.c.name).where(term_table.c.id.in_(unknown_terms))
        ):
            term_names[term_id] = term_name
    if still := {t for t in unknown_terms - term_names.keys() if oruk_ids.is_uuid(t)}:
        # A UUID the read API published for a term held under another id (ids.term_id): the same term.
        term_table = _table(TaxonomyTerm)
        published = {
            oruk_ids.term_id(i): (i, n) for i, n in connection.execute(select(term_table.c.id, term_table.c.name))
        }
        for record in batch:
            for term in record["taxonomy_terms"]:
                if term["id"] in still and term["id"] in published:
                    term["id"], name = published[term["id"]]
                    term_names[term["id"]] = name

    # 1. Organisations, then terms (a held term is never rewritten by a feed) and locations (shared).
    org_rows: dict[str, dict[str, Any]] = {}  # what each organisation holds once this batch is written
    new_orgs: dict[str, dict[str, Any]] = {}
    changed_orgs: dict[str, dict[str, Any]] = {}
    new_terms: dict[str, dict[str, Any]] = {}
    new_locations: dict[str, dict[str, Any]] = {}
    changed_locations: dict[str, dict[str, Any]] = {}
    for record in batch:
        org_data = record["organization"]
        org_id = org_data["id"]
        current = org_rows.get(org_id) or orgs.get(org_id)
        if current is None:
            new_orgs[org_id] = {**org_data, "last_modified": now}
            org_rows[org_id] = org_data
        elif any(current[f] != org_data[f] for f in _ORG_FIELDS):
            target = new_orgs if org_id in new_orgs else changed_orgs
            target[org_id] = {**org_data, "last_modified": now}
            org_rows[org_id] = org_data
        else:
            org_rows.setdefault(org_id, org_data)
        for term_data in record["taxonomy_terms"]:
            if term_data["id"] not in term_names:
                term_names[term_data["id"]] = term_data["name"]
                new_terms[term_data["id"]] = {**term_data, "description": None, "term_uri": None, "lgsl_ids": []}
        for loc_data in record["locations"]:
            loc_id = loc_data["id"]
            current = new_locations.get(loc_id) or changed_locations.get(loc_id) or locations.get(loc_id)
            if current is None:
                new_locations[loc_id] = {
                    **loc_data,
                    "organization_id": org_id,
                    "country": "GB",
                    "last_modified": now,
                }
            elif any(current[f] != loc_data[f] for f in _LOCATION_FIELDS):
                if loc_id in new_locations:
                    new_locations[loc_id].update(loc_data)
                else:
                    changed_locations[loc_id] = {**loc_data, "last_modified": now}
    add(Organization, list(new_orgs.values()))
    change(Organization, (*_ORG_FIELDS, "last_modified"), list(changed_orgs.values()))
    for org_id in new_orgs.keys() | changed_orgs.keys():
        org_data = org_rows[org_id]
        duplicates.set_organization(org_id, org_data["name"], org_data["charity_number"], org_data["company_number"])
    add(TaxonomyTerm, list(new_terms.values()))
    add(Location, list(new_locations.values()))
    change(Location, (*_LOCATION_FIELDS, "last_modified"), list(changed_locations.values()))

    # 2. Services: classify, create or update.
    new_services: list[dict[str, Any]] = []
    changed_services: list[dict[str, Any]] = []
    written: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []  # (service row, record, changes)
    replaced: list[str] = []
    for record in batch:
        fields: dict[str, Any] = {f: record[f] for f in _SERVICE_FIELDS} | _delivery_flags(record)
        if record["id"] not in befores:
            matches = duplicates.matches(record)
            if matches:
                report.duplicates.append({"id": record["id"], "name": record["name"], "matches": matches})
            duplicates.set_service(record)
            row = {
                "id": record["id"],
                "organization_id": record["organization"]["id"],
                **fields,
                "assurer": None,
                "import_run_id": state.run_id,
                "created_at": now,
                "last_modified": now,
                "retired_at": None,
                "version": 1,
            }
            new_services.append(row)
            written.append((row, record, {"source": {"before": None, "after": report.source}}))
            report.created.append(record["id"])
        else:
            stored, service = befores[record["id"]]
            held_print, feed_print = _fingerprint(stored), _fingerprint(record)
            if held_print == feed_print:
                report.unchanged.append(service["id"])
            else:
                before, after = json.loads(held_print), json.loads(feed_print)
                changes = {
                    k: {"before": before.get(k), "after": after.get(k)} for k in after if before.get(k) != after.get(k)
                }
                row = {
                    **fields,
                    "id": service["id"],
                    "organization_id": record["organization"]["id"],
                    "last_modified": now,
                    "version": service["version"] + 1,
                    "import_run_id": state.run_id,
                }
                changed_services.append(row)
                if service["retired_at"] is None:
                    duplicates.set_service(record, stored)
                written.append((row, record, changes))
                replaced.append(service["id"])
                report.updated.append(service["id"])
        if on_record:
            on_record()
    add(Service, new_services)
    if changed_services:
        change(Service, [k for k in changed_services[0] if k != "id"], changed_services)
        # Phones point at contacts, so they go first.
        for model in (
            Phone,
            Contact,
            Schedule,
            HolidaySchedule,
            ServiceAtLocation,
            ServiceTaxonomy,
            ServiceArea,
            CostOption,
            Language,
        ):
            table = _table(model)
            statement = delete(table).where(table.c.service_id.in_(replaced))
            if model is ServiceTaxonomy:  # derived links stay; categorise brings them in line afterwards
                statement = statement.where(table.c.origin == CategoryOrigin.given.value)
            connection.execute(statement)

    # 3. Related rows, the full-text rows and the audit trail.
    search_table = _table(ServiceSearch)
    held_search = (
        set(connection.scalars(select(search_table.c.service_id).where(search_table.c.service_id.in_(replaced))))
        if replaced
        else set()
    )
    org_names = {org_id: data["name"] for org_id, data in org_rows.items()}
    children: dict[Any, list[dict[str, Any]]] = {}
    new_search: list[dict[str, Any]] = []
    changed_search: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    for row, record, changes in written:
        for model, child in _child_rows(row["id"], record):
            children.setdefault(model, []).append(child)
        text = {"service_id": row["id"], **_search_text(row, record, org_names, term_names)}
        (changed_search if row["id"] in held_search else new_search).append(text)
        audits.append(
            {
                "service_id": row["id"],
                "at": now,
                "actor": actor,
                "action": "import",
                "version": row["version"],
                "changes": changes,
            }
        )
    add(Contact, children.pop(Contact, []))
    for model in (
        ServiceAtLocation,
        ServiceTaxonomy,
        ServiceArea,
        Phone,
        Schedule,
        HolidaySchedule,
        CostOption,
        Language,
    ):
        add(model, children.pop(model, []))
    add(ServiceSearch, new_search)
    search_columns = ("name", "description", "organization", "taxonomy", "terms")
    change(ServiceSearch, search_columns, changed_search, key="service_id")
    add(ServiceAudit, audits)


def _delivery_flags(record: dict[str, Any]) -> dict[str, bool]:
    modes = set(record["delivery_modes"])
    return {"in_person": "in_person" in modes, "by_phone": "phone" in modes, "online": "online" in modes}


def _search_text(
    service: dict[str, Any], record: dict[str, Any], org_names: dict[str, str], term_names: dict[str, str]
) -> dict[str, str]:
    """The full-text row, with the same content as `directory.service.index_service` (a test holds them equal);
    built from memory because a bulk import cannot afford that function's queries per service."""
    terms = [(t["id"], term_names[t["id"]]) for t in record["taxonomy_terms"] if t["id"] in term_names]
    return {
        "name": " ".join(filter(None, [service["name"], service["alternate_name"]])),
        "description": "\n".join(filter(None, [service["description"], service["eligibility_description"]])),
        "organization": org_names.get(record["organization"]["id"], ""),
        **fulltext.taxonomy_columns(terms),
    }


def _child_rows(sid: str, record: dict[str, Any]) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A service's related rows from the record, with ids derived from the service so re-imports reuse them."""

    for i, loc in enumerate(record["locations"]):
        yield ServiceAtLocation, {"id": _child_id(sid, "sal", i), "service_id": sid, "location_id": loc["id"]}
    for i, term in enumerate(record["taxonomy_terms"]):
        yield ServiceTaxonomy, {"id": _child_id(sid, "term", i), "service_id": sid, "taxonomy_term_id": term["id"]}
    for i, area in enumerate(record["service_areas"]):
        yield ServiceArea, {"id": _child_id(sid, "area", i), "service_id": sid, **area}
    phone_index = 0
    for i, contact in enumerate(record["contacts"]):
        contact_id = _child_id(sid, "contact", i)
        yield Contact, {"id": contact_id, "service_id": sid, **{k: v for k, v in contact.items() if k != "phones"}}
        for phone in contact["phones"]:
            yield (
                Phone,
                {"id": _child_id(sid, "phone", phone_index), "service_id": sid, "contact_id": contact_id, **phone},
            )
            phone_index += 1
    for phone in record["phones"]:
        yield Phone, {"id": _child_id(sid, "phone", phone_index), "service_id": sid, "contact_id": None, **phone}
        phone_index += 1
    for i, sched in enumerate(record["schedules"]):
        yield (
            Schedule,
            {
                "id": _child_id(sid, "schedule", i),
                "service_id": sid,
                "location_id": None,
                "freq": "WEEKLY",
                "byday": sched["byday"],
                "opens_at": dt_time.fromisoformat(sched["opens_at"]),
                "closes_at": dt_time.fromisoformat(sched["closes_at"]),
                "description": sched["description"],
            },
        )
    for i, holiday in enumerate(record["holiday_schedules"]):
        yield (
            HolidaySchedule,
            {
                "id": _child_id(sid, "holiday", i),
                "service_id": sid,
                "valid_from": date.fromisoformat(holiday["valid_from"]),
                "valid_to": date.fromisoformat(holiday["valid_to"]),
                "closed": holiday["closed"],
                "opens_at": dt_time.fromisoformat(holiday["opens_at"]) if holiday["opens_at"] else None,
                "closes_at": dt_time.fromisoformat(holiday["closes_at"]) if holiday["closes_at"] else None,
                "description": holiday["description"],
            },
        )
    for i, cost in enumerate(record["cost_options"]):
        yield CostOption, {"id": _child_id(sid, "cost", i), "service_id": sid, "currency": "GBP", **cost}
    for i, lang in enumerate(record["languages"]):
        yield Language, {"id": _child_id(sid, "language", i), "service_id": sid, **lang}


def load_source(
    source: str, *, fmt: str | None, client: httpx.Client | None = None, policy: FetchPolicy | None = None
) -> Iterator[Any]:
    """Raw records from a local file or a remote feed (http/https, paged)."""
    if fmt is not None and fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if re.match(r"^https?://", source, re.I):
        if fmt == "csv":
            own = client is None
            http = client or httpx.Client(follow_redirects=True)
            try:
                response = http.get(source, timeout=(policy or FetchPolicy()).timeout_s)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise FeedError(f"{source} could not be read: {exc}") from None
            finally:
                if own:
                    http.close()
            yield from records_from_csv(response.text)
            return
        if client is None:
            with httpx.Client(follow_redirects=True) as http:
                yield from fetch_remote(source, client=http, policy=policy)
        else:
            yield from fetch_remote(source, client=client, policy=policy)
        return
    from pathlib import Path

    path = Path(source)
    if not path.is_file():
        raise FeedError(f"{source} is not a file")
    with path.open("rb") as handle:
        yield from iter_file_records(handle, fmt, path.name)


def scan_source(source: str, *, fmt: str | None) -> int | None:
    """The number of records in a local file, checked whole before an import (None for a remote feed)."""
    from pathlib import Path

    if fmt is not None and fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if re.match(r"^https?://", source, re.I):
        return None
    path = Path(source)
    if not path.is_file():
        raise FeedError(f"{source} is not a file")
    with path.open("rb") as handle:
        return scan_file(handle, fmt, path.name)
