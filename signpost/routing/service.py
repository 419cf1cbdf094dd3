"""Needs → service categories (the ConceptMap in `fhir/`) → eligible services, ranked, each with reasons."""

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Float, Integer, String, bindparam, cast, literal_column, null, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from signpost.directory import capacity as directory_capacity
from signpost.directory.models import (
    Language,
    Location,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.geography import service as geography
from signpost.remember import Remembered
from signpost.template import conformance
from signpost.template.needs import Assessment, Need, Preferences

UK = ZoneInfo("Europe/London")
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@dataclass(frozen=True)
class Match:
    """One service offered for one need, and why."""

    service_id: str
    name: str
    reasons: list[str]
    same_day: bool = False
    distance_km: float | None = None
    description: str | None = None
    phone: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Offer:
    """The services offered for one need."""

    need: Need
    category_code: str | None
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class _Facts:
    """The columns of a service that routing and the answer read (its first phone too): loading these alone keeps a
    route well under a millisecond."""

    id: str
    name: str
    minimum_age: int | None
    maximum_age: int | None
    in_person: bool
    by_phone: bool
    interpretation_services: str | None
    assured_date: date | None
    description: str | None
    phone: str | None
    url: str | None


@dataclass(frozen=True)
class _Area:
    scope: str
    area_code: str | None
    area_vintage: int | None


@dataclass
class _Candidate:
    service: _Facts
    categories: set[str] = field(default_factory=set)
    areas: list[_Area] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    open_days: set[str] = field(default_factory=set)
    points: list[tuple[float, float]] = field(default_factory=list)


def categories_for(need_code: str) -> list[str]:
    """The service categories a need routes to, in the ConceptMap's order."""
    return [t["code"] for t in conformance.concept_map_targets(conformance.NEED_TO_CATEGORY_MAP).get(need_code, [])]


FACTS = [
    col(Service.id),
    col(Service.name),
    col(Service.minimum_age),
    col(Service.maximum_age),
    col(Service.in_person),
    col(Service.by_phone),
    col(Service.interpretation_services),
    col(Service.assured_date),
]
_TEXT, _INTEGER, _BOOLEAN, _DATE, _NUMBER = (cast(null(), kind) for kind in (String, Integer, Boolean, Date, Float))
_AFTER_CODE = (_TEXT, _TEXT, _INTEGER, _INTEGER, _BOOLEAN, _BOOLEAN, _DATE, _NUMBER, _NUMBER)
_BEFORE_POINT = (_TEXT, _TEXT, _TEXT, _INTEGER, _INTEGER, _BOOLEAN, _BOOLEAN, _DATE)
_NO_CONTACT = (_TEXT, _TEXT, _TEXT)


@lru_cache(maxsize=1)
def _routing_query() -> Any:
    """Everything ranking reads, in one statement: the active services in the wanted categories, and their areas,
    languages, open days and points. One round trip instead of two is a third of a route's time. (Age and contact
    preferences are checked in Python, where they give their reasons, so what is read serves every patient.)

    Each row is tagged with its kind and fills the columns that kind has; the rest are NULL:
    service (one row per category it matches): id, category code, name, interpretation services, minimum and
    maximum age, in person, by phone, assured date, then description, first phone and url (what the answer
    shows); area: scope, code, vintage; language: code; day: weekday; point: latitude and longitude.
    """
    first_phone = (
        sa_select(col(Phone.number))
        .where(col(Phone.service_id) == col(Service.id))
        .order_by(col(Phone.id))
        .limit(1)
        .scalar_subquery()
    )
    wanted = (
        sa_select(
            *FACTS,
            col(TaxonomyTerm.code).label("category"),
            col(Service.description),
            first_phone.label("phone"),
            col(Service.url),
        )
        .join(ServiceTaxonomy, col(ServiceTaxonomy.service_id) == col(Service.id))
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
        .where(col(TaxonomyTerm.taxonomy) == "service-category")
        .where(col(TaxonomyTerm.code).in_(bindparam("categories", expanding=True)))
        .where(col(Service.status) == ServiceStatus.active.value)
        .where(col(Service.retired_at).is_(None))
    )
    candidate = wanted.cte("candidate")
    ids = sa_select(candidate.c.id)
    c = candidate.c
    return union_all(
        # First, so that its column types (a date, booleans) decide how every row's values are read.
        sa_select(
            c.id,
            literal_column("'service'"),
            c.category,
            c.name,
            c.interpretation_services,
            c.minimum_age,
            c.maximum_age,
            c.in_person,
            c.by_phone,
            c.assured_date,
            _NUMBER,
            _NUMBER,
            c.description,
            c.phone,
            c.url,
        ),
        sa_select(
            col(ServiceArea.service_id),
            literal_column("'area'"),
            col(ServiceArea.scope),
            col(ServiceArea.area_code),
            _TEXT,
            col(ServiceArea.area_vintage),
            _INTEGER,
            _BOOLEAN,
            _BOOLEAN,
            _DATE,
            _NUMBER,
            _NUMBER,
            *_NO_CONTACT,
        ).where(col(ServiceArea.service_id).in_(ids)),
        sa_select(
            col(Language.service_id),
            literal_column("'language'"),
            col(Language.code),
            *_AFTER_CODE,
            *_NO_CONTACT,
        ).where(col(Language.service_id).in_(ids)),
        sa_select(
            col(Schedule.service_id),
            literal_column("'day'"),
            col(Schedule.byday),
            *_AFTER_CODE,
            *_NO_CONTACT,
        ).where(col(Schedule.service_id).in_(ids)),
        sa_select(
            col(ServiceAtLocation.service_id),
            literal_column("'point'"),
            *_BEFORE_POINT,
            col(Location.latitude),
            col(Location.longitude),
            *_NO_CONTACT,
        )
        .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
        .where(col(ServiceAtLocation.service_id).in_(ids)),
    )


def _read(session: Session, categories: list[str]) -> dict[str, dict[str, _Candidate]]:
    """Each category's active services, with what their reasons and ranking read."""
    found: dict[str, _Candidate] = {}
    members: dict[str, list[str]] = {c: [] for c in categories}
    details = []
    # Core execution on the session's connection: these read columns, so the ORM's layer would be pure cost.
    for row in session.connection().execute(_routing_query(), {"categories": categories}):
        service_id, kind, text, text_2, text_3, number, number_2, in_person, by_phone, assured = row[:10]
        if kind == "service":
            description, phone, url = row[12:]
            facts = _Facts(
                service_id, text_2, number, number_2, in_person, by_phone, text_3, assured, description, phone, url
            )
            found.setdefault(service_id, _Candidate(facts))
            members[text].append(service_id)
        else:
            details.append(row)
    for service_id, kind, text, code, _, vintage, *_, lat, lon, _, _, _ in details:
        candidate = found[service_id]
        if kind == "area":
            candidate.areas.append(_Area(text, code, vintage))
        elif kind == "language":
            candidate.languages.add(text.lower())
        elif kind == "day":
            candidate.open_days.add(text.upper())
        elif lat is not None and lon is not None:
            candidate.points.append((lat, lon))
    return {c: {sid: found[sid] for sid in ids} for c, ids in members.items()}


# Per process: each category's services as read from the directory.
_remembered: Remembered[str, dict[str, _Candidate]] = Remembered("directory categories", _read)


def forget_directory() -> None:
    """Read the directory afresh at the next route in this process."""
    _remembered.forget()


def _candidates(session: Session, categories: set[str], remember_seconds: float) -> dict[str, _Candidate]:
    """The services in any of the categories, each with the ones it is in; a category read less than
    `remember_seconds` ago is not read again (0: read every time)."""
    by_category = _remembered.held(categories, remember_seconds, session)
    missing = sorted(categories - by_category.keys())
    if missing:
        by_category.update(_remembered.read(session, missing, keep=remember_seconds > 0))
    found: dict[str, _Candidate] = {}
    for category, services in by_category.items():
        for service_id, candidate in services.items():
            mine = found.get(service_id)
            if mine is None:  # what was read is shared and never changed: only the categories are this route's
                mine = found[service_id] = dataclasses.replace(candidate, categories=set())
            mine.categories.add(category)
    return found


def _area_reason(candidate: _Candidate, place: geography.Place | None, local_authorities: list[str]) -> str | None:
    """Why the service covers the patient, or None when it does not (or cannot be shown to)."""
    if not candidate.areas:
        return "No area limits listed"
    reasons = []
    for area in candidate.areas:
        if area.scope == "national":
            reasons.append("National service")
        elif area.scope == "local_authority":
            here = place.local_authority if place and place.known and place.local_authority else None
            if (here and area.area_code == here) or (not here and area.area_code in local_authorities):
                reasons.append("Covers the whole city")
        elif (
            area.scope == "ward"
            and place
            and place.known
            and area.area_code == place.ward_code
            and area.area_vintage in (None, place.ward_vintage)
        ):
            reasons.append(f"Covers the patient's ward ({place.ward_name or place.ward_code})")
    # The narrowest cover is the most telling reason.
    return sorted(reasons, key=lambda r: ("ward" not in r, "city" not in r))[0] if reasons else None


def _age_reason(service: _Facts, age: int | None) -> tuple[bool, str | None]:
    low, high = service.minimum_age, service.maximum_age
    if low is None and high is None:
        return True, None
    limits = f"{low or 0}+" if high is None else f"{low or 0} to {high}"
    if age is None:
        return True, f"Ages {limits} (age not given)"
    if (low is not None and age < low) or (high is not None and age > high):
        return False, None
    return True, f"Age fits ({limits})"


def _mode_fits(service: _Facts, preferences: Preferences) -> tuple[bool, str | None]:
    if preferences.no_phone:
        return (service.in_person, "Face to face") if service.in_person else (False, None)
    if preferences.phone_only:
        if service.by_phone:
            return True, "By phone (no internet needed)"
        if service.in_person:
            return True, "Face to face (no internet needed)"
        return False, None
    return True, None


def _verified(service: _Facts, today: date) -> str:
    if service.assured_date is None:
        return "Not yet verified"
    months = (today.year - service.assured_date.year) * 12 + today.month - service.assured_date.month
    if months <= 0:
        return "Verified this month"
    return f"Verified {months} month{'s' if months != 1 else ''} ago"


def route(
    *,
    session: Session,
    assessment: Assessment,
    place: geography.Place | None,
    age: int | None,
    per_need: int,
    local_authorities: list[str],
    now: datetime,
    remember_seconds: float = 0.0,
) -> list[Offer]:
    """For each need, up to `per_need` eligible services: urgent needs to same-day services first,
    then the most recently verified, then the nearest. What was read of the directory for a category is used
    again for `remember_seconds` (the server's `routing_cache_seconds`)."""
    wanted = {need.code: categories_for(need.code) for need in assessment.needs}
    candidates = _candidates(session, {c for cats in wanted.values() for c in cats}, remember_seconds)
    # Stated capacity is read fresh each time (not remembered with the directory): it changes by the day.
    stated = directory_capacity.capacities(session=session, service_ids=list(candidates)) if candidates else {}
    local_now = now.astimezone(UK)
    today_code = WEEKDAYS[local_now.weekday()]
    prefs = assessment.preferences
    offers = []
    for need in assessment.needs:
        cats = wanted[need.code]
        ranked: list[tuple[tuple[float, ...], Match]] = []
        for candidate in candidates.values():
            matched = [c for c in cats if c in candidate.categories]
            if not matched:
                continue
            service = candidate.service
            area = _area_reason(candidate, place, local_authorities)
            age_ok, age_reason = _age_reason(service, age)
            mode_ok, mode_reason = _mode_fits(service, prefs)
            if area is None or not age_ok or not mode_ok:
                continue
            reasons = [f"Helps with {need.display.lower()}", area]
            language_fits = True
            if prefs.interpreter and prefs.language:
                name = prefs.language_display or prefs.language
                if prefs.language.lower() in candidate.languages:
                    reasons.append(f"Offers {name}")
                elif service.interpretation_services:
                    reasons.append(f"Arranges interpreters ({name} requested)")
                else:
                    language_fits = False
                    reasons.append(f"Does not list {name}: ask about an interpreter")
            same_day = today_code in candidate.open_days
            if need.urgent and same_day:
                reasons.append("Open today")
            reasons += [r for r in (age_reason, mode_reason) if r]
            reasons.append(_verified(service, local_now.date()))
            capacity = stated.get(service.id)
            if capacity is not None and (not capacity.taking or capacity.wait_band):
                reasons.append(f"{capacity.label}, as of {capacity.set_on.strftime('%-d %b %Y')}")
            distance = None
            if (
                place
                and place.known
                and place.latitude is not None
                and place.longitude is not None
                and candidate.points
            ):
                distance = min(
                    geography.distance_km(place.latitude, place.longitude, lat, lon) for lat, lon in candidate.points
                )
                reasons.append(f"{distance:.1f} km away")
            assured = service.assured_date.toordinal() if service.assured_date else 0
            key = (
                # A service that says it is not taking referrals comes last, whatever else fits.
                1.0 if capacity is not None and not capacity.taking else 0.0,
                0.0 if (not need.urgent or same_day) else 1.0,
                0.0 if language_fits else 1.0,
                float(cats.index(matched[0])),
                -float(assured),
                distance if distance is not None else float("inf"),
            )
            match = Match(
                service.id, service.name, reasons, same_day, distance, service.description, service.phone, service.url
            )
            ranked.append((key, match))
        ranked.sort(key=lambda pair: (pair[0], pair[1].name, pair[1].service_id))
        offers.append(Offer(need, cats[0] if cats else None, [m for _, m in ranked[:per_need]]))
    return offers
