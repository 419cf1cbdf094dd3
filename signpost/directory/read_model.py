"""The directory as its readers see it; every query that reads services for others to show or rank is here.

- `views`: a page of services with what is listed about them (FHIR HealthcareService search and read), each
  related table read once for the page, not once per service.
- `candidates`: the active services of some categories with what routing ranks by, in one statement, kept in
  memory per category for the server's `routing_cache_seconds`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, Date, Float, Integer, String, bindparam, cast, literal_column, null, union_all
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from signpost.directory import capacity as directory_capacity
from signpost.directory import opening as directory_opening
from signpost.directory.models import (
    CategoryOrigin,
    HolidaySchedule,
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
from signpost.directory.schemas import WEEKDAYS
from signpost.directory.service import CATEGORY_TAXONOMY
from signpost.geography import service as geography
from signpost.remember import Remembered


@dataclass
class ServiceView:
    """One service and what is listed about it, each list in the order it is shown."""

    service: Service
    categories: list[TaxonomyTerm] = field(default_factory=list)  # by code
    location_ids: list[str] = field(default_factory=list)  # by id
    phones: list[str] = field(default_factory=list)  # as entered
    languages: list[Language] = field(default_factory=list)  # by code
    schedules: list[Schedule] = field(default_factory=list)  # as entered
    holidays: list[HolidaySchedule] = field(default_factory=list)  # by first day


def services(*, session: Session, service_ids: list[str]) -> dict[str, Service]:
    """The services with these ids (those the directory holds), in one statement."""
    if not service_ids:
        return {}
    return {s.id: s for s in session.exec(select(Service).where(col(Service.id).in_(service_ids))).all()}


def views(*, session: Session, services: Sequence[Service]) -> list[ServiceView]:
    """The services, each with its categories, locations, phones, languages, opening times and holiday openings: six
    queries in all."""
    found = {s.id: ServiceView(s) for s in services}
    ids = list(found)
    if not ids:
        return []
    for service_id, term in session.exec(
        select(ServiceTaxonomy.service_id, TaxonomyTerm)
        .join(ServiceTaxonomy, col(ServiceTaxonomy.taxonomy_term_id) == TaxonomyTerm.id)
        .where(col(ServiceTaxonomy.service_id).in_(ids), col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
        .order_by(TaxonomyTerm.code)
    ).all():
        found[service_id].categories.append(term)
    for service_id, location_id in session.exec(
        select(ServiceAtLocation.service_id, ServiceAtLocation.location_id)
        .where(col(ServiceAtLocation.service_id).in_(ids))
        .order_by(ServiceAtLocation.location_id)
    ).all():
        found[service_id].location_ids.append(location_id)
    for phone in session.exec(select(Phone).where(col(Phone.service_id).in_(ids)).order_by(Phone.id)).all():
        found[phone.service_id].phones.append(phone.number)
    for language in session.exec(
        select(Language).where(col(Language.service_id).in_(ids)).order_by(Language.code)
    ).all():
        found[language.service_id].languages.append(language)
    for schedule in session.exec(select(Schedule).where(col(Schedule.service_id).in_(ids)).order_by(Schedule.id)).all():
        found[schedule.service_id].schedules.append(schedule)
    for holiday in _holidays(session, ids):
        found[holiday.service_id].holidays.append(holiday)
    return [found[s.id] for s in services]


def _holidays(session: Session, service_ids: Sequence[str]) -> Sequence[HolidaySchedule]:
    """The services' holiday and special openings, each service's by first day."""
    return session.exec(
        select(HolidaySchedule)
        .where(col(HolidaySchedule.service_id).in_(list(service_ids)))
        .order_by(col(HolidaySchedule.valid_from), col(HolidaySchedule.id))
    ).all()


# --- Routing: the services of some categories, with what ranking reads -------------------------------------------


@dataclass(frozen=True)
class Facts:
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
    crisis_access: str | None
    online: bool


@dataclass(frozen=True)
class Area:
    scope: str
    area_code: str | None
    area_vintage: int | None


@dataclass
class Candidate:
    service: Facts
    categories: set[str] = field(default_factory=set)
    areas: list[Area] = field(default_factory=list)
    languages: set[str] = field(default_factory=set)
    open_days: set[str] = field(default_factory=set)
    points: list[tuple[float, float]] = field(default_factory=list)
    hours: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # weekday: (opens, closes), "HH:MM"
    capacity: directory_capacity.Capacity | None = None  # as its provider or an editor last stated it
    addresses: list[tuple[tuple[float, float] | None, str]] = field(default_factory=list)  # (point, address)
    holidays: list[directory_opening.DatedHours] = field(default_factory=list)  # dated exceptions to `hours`

    def open_today(self, today: date) -> str | None:
        """Today's opening times in words (a holiday or special opening replaces the day's regular hours), or None
        when the service lists none."""
        spans, exception = directory_opening.hours_on(self.hours, self.holidays, today)
        if exception is None and not self.hours:
            return None
        named = f" ({exception.description})" if exception is not None and exception.description else ""
        if exception is not None and exception.closed:
            return "Closed today" + named
        if not spans:
            return "Not open today"
        return "Open today " + ", ".join(f"{opens} to {closes}" for opens, closes in spans) + named

    def opens_on(self, today: date) -> bool:
        """Whether it opens at all today, holidays and special openings counted."""
        spans, exception = directory_opening.hours_on(self.hours, self.holidays, today)
        return bool(spans) if exception is not None else WEEKDAYS[today.weekday()] in self.open_days

    def nearest_address(self, place: geography.Place | None) -> str | None:
        """The address of the premises nearest the patient (the first listed when there is no place)."""
        if not self.addresses:
            return None
        located = [(p, a) for p, a in self.addresses if p is not None]
        if place is not None and place.known and place.latitude is not None and place.longitude is not None and located:
            lat, lon = place.latitude, place.longitude
            return min(located, key=lambda pa: geography.distance_km(lat, lon, *pa[0]))[1]
        return self.addresses[0][1]

    suggested: set[str] = field(default_factory=set)  # categories only suggested, not yet confirmed by an editor


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
_crisis_and_online = (col(Service.crisis_access), col(Service.online))
_TEXT, _INTEGER, _BOOLEAN, _DATE, _NUMBER = (cast(null(), kind) for kind in (String, Integer, Boolean, Date, Float))
_AFTER_CODE = (_TEXT, _TEXT, _INTEGER, _INTEGER, _BOOLEAN, _BOOLEAN, _DATE, _NUMBER, _NUMBER)
_BEFORE_POINT = (_TEXT, _TEXT, _TEXT, _INTEGER, _INTEGER, _BOOLEAN, _BOOLEAN, _DATE)
_NO_CONTACT = (_TEXT, _TEXT, _TEXT, _TEXT, _BOOLEAN, _TEXT)  # ..., and the category link's origin


@lru_cache(maxsize=1)
def _routing_query() -> Any:
    """Everything ranking reads, in one statement: the active services in the wanted categories, and their areas,
    languages, open days and points. One round trip instead of two is a third of a route's time. (Age and contact
    preferences are checked in Python, where they give their reasons, so what is read serves every patient.)

    Each row is tagged with its kind and fills the columns that kind has; the rest are NULL:
    service (one row per category it matches): id, category code, name, interpretation services, minimum and
    maximum age, in person, by phone, assured date, then description, first phone, url, crisis access and online
    (what the answer shows) and the category link's origin (suggested ones rank lower); area: scope, code,
    vintage; language: code; day: weekday; point: latitude and longitude.
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
            *_crisis_and_online,
            col(ServiceTaxonomy.origin),
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
            c.crisis_access,
            c.online,
            c.origin,
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
            cast(col(Schedule.opens_at), String),
            cast(col(Schedule.closes_at), String),
            *_AFTER_CODE[2:],
            *_NO_CONTACT,
        ).where(col(Schedule.service_id).in_(ids)),
        sa_select(
            col(ServiceAtLocation.service_id),
            literal_column("'point'"),
            col(Location.address_1),
            col(Location.city),
            col(Location.postal_code),
            *_BEFORE_POINT[3:],
            col(Location.latitude),
            col(Location.longitude),
            *_NO_CONTACT,
        )
        .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
        .where(col(ServiceAtLocation.service_id).in_(ids)),
    )


def _read(session: Session, categories: list[str]) -> dict[str, dict[str, Candidate]]:
    """Each category's active services, with what their reasons and ranking read."""
    found: dict[str, Candidate] = {}
    members: dict[str, list[str]] = {c: [] for c in categories}
    details = []
    # Core execution on the session's connection: these read columns, so the ORM's layer would be pure cost.
    for row in session.connection().execute(_routing_query(), {"categories": categories}):
        service_id, kind, text, text_2, text_3, number, number_2, in_person, by_phone, assured = row[:10]
        if kind == "service":
            description, phone, url, crisis, online, origin = row[12:]
            facts = Facts(
                service_id,
                text_2,
                number,
                number_2,
                in_person,
                by_phone,
                text_3,
                assured,
                description,
                phone,
                url,
                crisis,
                bool(online),
            )
            candidate = found.setdefault(service_id, Candidate(facts))
            if origin == CategoryOrigin.suggested.value:
                candidate.suggested.add(text)
            members[text].append(service_id)
        else:
            details.append(row)
    for service_id, kind, text, code, text_3, vintage, *_, lat, lon, _, _, _, _, _, _ in details:
        candidate = found[service_id]
        if kind == "area":
            candidate.areas.append(Area(text, code, vintage))
        elif kind == "language":
            candidate.languages.add(text.lower())
        elif kind == "day":
            candidate.open_days.add(text.upper())
            if code and text_3:
                candidate.hours.setdefault(text.upper(), []).append((code[:5], text_3[:5]))
        else:
            point = (lat, lon) if lat is not None and lon is not None else None
            if point:
                candidate.points.append(point)
            address = ", ".join(part for part in (text, code, text_3) if part)
            if address:
                candidate.addresses.append((point, address))
    # Stated capacity is remembered with the rest: it changes by the day, and a route that read it afresh would need
    # the database every time (on PostgreSQL, a worker thread per request).
    for service_id, stated in directory_capacity.capacities(session=session, service_ids=list(found)).items():
        found[service_id].capacity = stated
    for holiday in _holidays(session, list(found)) if found else ():
        found[holiday.service_id].holidays.append(directory_opening.dated(holiday))
    return {c: {sid: found[sid] for sid in ids} for c, ids in members.items()}


# Per process: each category's services as read from the directory.
_remembered: Remembered[str, dict[str, Candidate]] = Remembered("directory categories", _read)


def forget() -> None:
    """Read the directory afresh at the next route in this process."""
    _remembered.forget()
    _merged.clear()


def _for_route(candidate: Candidate) -> Candidate:
    """A shallow copy with categories of its own (a quarter of `dataclasses.replace`'s cost: no `__init__`)."""
    mine = object.__new__(Candidate)
    mine.__dict__.update(candidate.__dict__)
    mine.categories, mine.suggested = set(), set()
    return mine


# The candidates of a set of categories, merged from what was read of each: the same needs come back request after
# request, and until one of their categories is read again the merge is the same. Keyed by each category and the
# identity of what was read for it (held in the value, so that identity is not reused); cleared when it grows.
_merged: dict[tuple[tuple[str, int], ...], tuple[dict[str, dict[str, Candidate]], dict[str, Candidate]]] = {}
_MERGES_KEPT = 256


def candidates(session: Session, categories: set[str], remember_seconds: float) -> dict[str, Candidate]:
    """The services in any of the categories, each with the ones it is in; a category read less than
    `remember_seconds` ago is not read again (0: read every time). Shared: the caller must not change them."""
    by_category = _remembered.held(categories, remember_seconds, session)
    missing = sorted(categories - by_category.keys())
    if missing:
        by_category.update(_remembered.read(session, missing, keep=remember_seconds > 0))
        return _merge(by_category)
    key = tuple(sorted((category, id(services)) for category, services in by_category.items()))
    kept = _merged.get(key)
    if kept is None:
        if len(_merged) >= _MERGES_KEPT:
            _merged.clear()
        kept = _merged[key] = (by_category, _merge(by_category))
    return kept[1]


def _merge(by_category: dict[str, dict[str, Candidate]]) -> dict[str, Candidate]:
    found: dict[str, Candidate] = {}
    for category, services in by_category.items():
        for service_id, candidate in services.items():
            mine = found.get(service_id)
            if mine is None:  # what was read is shared and never changed: only the categories are this route's
                mine = found[service_id] = _for_route(candidate)
            mine.categories.add(category)
            if category in candidate.suggested:
                mine.suggested.add(category)
    return found
