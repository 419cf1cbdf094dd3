"""The directory as Open Referral UK 3.0 JSON: queries and the one serialiser the read API and export share."""

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import exists, func, or_
from sqlmodel import Session, col, select

from signpost.directory.ids import term_id
from signpost.directory.models import (
    Accessibility,
    Contact,
    CostOption,
    HolidaySchedule,
    Language,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.schemas import WEEKDAYS
from signpost.errors import Problem

ORUK_VERSION = "3.0"
ORUK_PROFILE = "https://github.com/OpenReferralUK/uk-profile"  # the UK profile of HSDS 3.0
CANONICAL = "https://signpost.example.org/fhir"
MAX_PER_PAGE = 200
DAY_ORDER = {day: i for i, day in enumerate(WEEKDAYS)}


def _iso(value: date | datetime | time | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return value.isoformat()


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """ORUK leaves out what is unknown rather than sending nulls."""
    return {k: v for k, v in data.items() if v is not None}


def _drop_empty(data: dict[str, Any], *, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """Unknown and empty fields left out (an empty `url` is no URI), but for those the profile requires."""
    return {k: v for k, v in data.items() if v is not None and (v != "" or k in keep)}


def taxonomy_uri(taxonomy: str) -> str | None:
    """The canonical URI of one of the project's own taxonomies."""
    return f"{CANONICAL}/CodeSystem/{taxonomy}" if taxonomy in {"service-category", "social-need"} else None


def taxonomy_id(taxonomy: str) -> str:
    """A taxonomy's ORUK id: the profile wants a UUID, so one derived from its name (the same everywhere, always)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, taxonomy_uri(taxonomy) or f"{CANONICAL}/taxonomy/{taxonomy}"))


def address_id(location_id: str) -> str:
    """The id of a location's one address (the directory keeps it in the location's row): a UUID derived from it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{CANONICAL}/directory/location/{location_id}/address"))


def organization_json(org: Organization) -> dict[str, Any]:
    """An organisation as ORUK 3.0 (the UK profile requires id, name, description)."""
    return _drop_empty(
        {
            "id": org.id,
            "name": org.name,
            "alternate_name": org.alternate_name,
            "description": org.description or "",
            "email": org.email,
            "website": org.website,
            "charity_number": org.charity_number,
            "company_number": org.company_number,
            "last_modified": _iso(org.last_modified),
        },
        keep=("description",),
    )


def taxonomy_term_json(term: TaxonomyTerm) -> dict[str, Any]:
    """A taxonomy term as ORUK 3.0 (`term` as the UK profile names it; `code`/`name` as HSDS does)."""
    return _drop_none(
        {
            "id": term_id(term.id),
            "code": term.code,
            "term": term.name,
            "name": term.name,
            "description": term.description or "",
            "parent_id": term_id(term.parent_id) if term.parent_id else None,
            "taxonomy": term.taxonomy,
            "taxonomy_id": taxonomy_id(term.taxonomy),
            "term_uri": term.term_uri,
        }
    )


def location_json(location: Location, accessibility: Sequence[Accessibility] = ()) -> dict[str, Any]:
    address = None
    if location.address_1 or location.postal_code or location.city:
        address = _drop_none(
            {
                "id": address_id(location.id),
                "location_id": location.id,
                "address_1": location.address_1 or "",
                "city": location.city or "",
                # Required by the profile's address, as are the three around it: empty when the feed had none.
                "state_province": location.state_province or "",
                "postal_code": location.postal_code or "",
                "country": location.country,
                "address_type": "physical" if location.location_type != "postal" else "postal",
            }
        )
    return _drop_empty(
        {
            "id": location.id,
            "location_type": location.location_type,
            "name": location.name,
            "description": location.description,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "addresses": [address] if address else [],
            "accessibility": [
                _drop_empty(
                    {
                        "id": a.id,
                        "location_id": a.location_id,
                        "description": a.description,
                        "details": a.details,
                        "url": a.url,
                    }
                )
                for a in accessibility
            ],
        }
    )


def _by_service(session: Session, model: Any, ids: list[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    if ids:
        for row in session.exec(select(model).where(col(model.service_id).in_(ids)).order_by(model.id)):
            grouped[row.service_id].append(row)
    return grouped


def services_json(session: Session, services: Sequence[Service], *, full: bool) -> list[dict[str, Any]]:
    """Services as ORUK 3.0 JSON: `full` nests every related record, otherwise one-to-one fields and organisation."""
    ids = [s.id for s in services]
    org_ids = {s.organization_id for s in services}
    orgs = {o.id: o for o in session.exec(select(Organization).where(col(Organization.id).in_(org_ids)))} if ids else {}
    related: dict[str, dict[str, list[Any]]] = {}
    if full:
        for name, model in (
            ("sal", ServiceAtLocation),
            ("links", ServiceTaxonomy),
            ("areas", ServiceArea),
            ("contacts", Contact),
            ("phones", Phone),
            ("schedules", Schedule),
            ("holidays", HolidaySchedule),
            ("costs", CostOption),
            ("languages", Language),
        ):
            related[name] = _by_service(session, model, ids)
        location_ids = {sal.location_id for rows in related["sal"].values() for sal in rows}
        locations = {loc.id: loc for loc in session.exec(select(Location).where(col(Location.id).in_(location_ids)))}
        access: dict[str, list[Accessibility]] = defaultdict(list)
        for a in session.exec(select(Accessibility).where(col(Accessibility.location_id).in_(location_ids))):
            access[a.location_id].append(a)
        term_ids = {link.taxonomy_term_id for rows in related["links"].values() for link in rows}
        terms = {t.id: t for t in session.exec(select(TaxonomyTerm).where(col(TaxonomyTerm.id).in_(term_ids)))}

    out = []
    for s in services:
        item = _drop_empty(
            {
                "id": s.id,
                "organization_id": s.organization_id,
                "name": s.name,
                "alternate_name": s.alternate_name,
                "description": s.description or "",
                "url": s.url,
                "email": s.email,
                "status": s.status,
                "interpretation_services": s.interpretation_services,
                "application_process": s.application_process,
                "fees_description": s.fees_description,
                "minimum_age": s.minimum_age,
                "maximum_age": s.maximum_age,
                "eligibility_description": s.eligibility_description,
                "assured_date": _iso(s.assured_date),
                "assurer_email": s.assurer_email,
                "last_modified": _iso(s.last_modified),
                # Not an ORUK field: the directory's delivery modes, so an export re-imports whole.
                "delivery_modes": [
                    m for m, on in (("in_person", s.in_person), ("phone", s.by_phone), ("online", s.online)) if on
                ],
            },
            keep=("description",),
        )
        org = orgs.get(s.organization_id)
        if org is not None:
            item["organization"] = organization_json(org)
        if full:
            phones = related["phones"][s.id]
            item["service_at_locations"] = [
                {
                    "id": sal.id,
                    "service_id": s.id,
                    "location_id": sal.location_id,
                    "location": location_json(locations[sal.location_id], access[sal.location_id]),
                }
                for sal in related["sal"][s.id]
                if sal.location_id in locations
            ]
            item["attributes"] = [
                {
                    "id": link.id,
                    "link_id": s.id,
                    "link_type": "service",
                    "link_entity": "service",
                    "taxonomy_term_id": term_id(link.taxonomy_term_id),
                    "taxonomy_term": taxonomy_term_json(terms[link.taxonomy_term_id]),
                }
                for link in related["links"][s.id]
                if link.taxonomy_term_id in terms
            ]
            item["service_areas"] = [
                _drop_empty(
                    {
                        "id": a.id,
                        "service_id": s.id,
                        "name": a.name,
                        "description": a.description,
                        "extent_type": a.scope,
                        "extent": a.area_code,
                        "area_vintage": a.area_vintage,
                    }
                )
                for a in related["areas"][s.id]
            ]
            item["contacts"] = [
                _drop_empty(
                    {
                        "id": c.id,
                        "service_id": s.id,
                        "name": c.name,
                        "title": c.title,
                        "email": c.email,
                        "phones": [_phone_json(p) for p in phones if p.contact_id == c.id],
                    }
                )
                for c in related["contacts"][s.id]
            ]
            item["phones"] = [_phone_json(p) for p in phones if p.contact_id is None]
            item["schedules"] = [
                _drop_empty(
                    {
                        "id": sc.id,
                        "service_id": s.id,
                        "location_id": sc.location_id,
                        "freq": sc.freq,
                        "byday": sc.byday,
                        "opens_at": _iso(sc.opens_at),
                        "closes_at": _iso(sc.closes_at),
                        "description": sc.description,
                    }
                )
                for sc in sorted(related["schedules"][s.id], key=lambda sc: (DAY_ORDER.get(sc.byday, 7), sc.opens_at))
            ] + [
                # ORUK 3.0 has no holiday table: a dated schedule on no weekday, without times when closed all day.
                _drop_empty(
                    {
                        "id": h.id,
                        "service_id": s.id,
                        "valid_from": _iso(h.valid_from),
                        "valid_to": _iso(h.valid_to),
                        "dtstart": _iso(h.valid_from),
                        "opens_at": None if h.closed else _iso(h.opens_at),
                        "closes_at": None if h.closed else _iso(h.closes_at),
                        "description": h.description,
                        "notes": "Closed all day" if h.closed else "Open these hours instead of the regular ones",
                    }
                )
                for h in sorted(related["holidays"][s.id], key=lambda h: (h.valid_from, h.id))
            ]
            item["cost_options"] = [
                _drop_empty(
                    {
                        "id": c.id,
                        "service_id": s.id,
                        "option": c.option,
                        "amount": c.amount,
                        "currency": c.currency,
                        "amount_description": c.amount_description,
                    }
                )
                for c in related["costs"][s.id]
            ]
            item["languages"] = [
                _drop_empty(
                    {"id": lang.id, "service_id": s.id, "name": lang.name, "code": lang.code, "note": lang.note}
                )
                for lang in related["languages"][s.id]
            ]
            item["funding"] = []
        out.append(item)
    return out


def _phone_json(p: Phone) -> dict[str, Any]:
    return _drop_empty({"id": p.id, "number": p.number, "type": p.type, "description": p.description})


# ---------------------------------------------------------------------------------------------------------------
# Paging


def page_envelope(contents: list[Any], *, total: int, page: int, per_page: int) -> dict[str, Any]:
    """The ORUK 3.0 paging envelope."""
    total_pages = max(1, math.ceil(total / per_page)) if per_page else 1
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": len(contents) == 0,
        "contents": contents,
    }


def check_paging(page: int, per_page: int) -> None:
    if page < 1:
        raise Problem(400, "page must be 1 or more.", errors=[{"loc": ["query", "page"], "message": "must be >= 1"}])
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise Problem(
            400,
            f"per_page must be between 1 and {MAX_PER_PAGE}.",
            errors=[{"loc": ["query", "per_page"], "message": f"must be 1..{MAX_PER_PAGE}"}],
        )


def _count(session: Session, statement: Any) -> int:
    return int(session.exec(select(func.count()).select_from(statement.order_by(None).subquery())).one())


# ---------------------------------------------------------------------------------------------------------------
# Queries


def _public_services() -> Any:
    """Retired services stay readable by id but are not listed."""
    return select(Service).where(col(Service.retired_at).is_(None))


DAYS = {
    **{code: code for code in DAY_ORDER},
    **dict(zip(("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"), DAY_ORDER, strict=True)),
}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(:([0-5]\d))?$")


def _bad_query(name: str, message: str) -> Problem:
    return Problem(400, f"{name}: {message}", errors=[{"loc": ["query", name], "message": message}])


def _parse_time(name: str, value: str | None) -> time | None:
    if value is None:
        return None
    match = _TIME.match(value.strip())
    if not match:
        raise _bad_query(name, f"{value!r} is not a time of day (HH:MM or HH:MM:SS)")
    return time(int(match.group(1)), int(match.group(2)), int(match.group(4) or 0))


def _parse_instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad_query(name, f"{value!r} is not a date or date-time (e.g. 2026-01-31T09:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ServiceFilters:
    """The ORUK 3.0 `/services` filters, as given in the query."""

    text: str | None = None
    taxonomy_term_id: str | None = None
    taxonomy_id: str | None = None
    minimum_age: int | None = None
    maximum_age: int | None = None
    day: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    modified_after: str | None = None


def _schedule_condition(filters: ServiceFilters) -> Any:
    """Services with one opening that meets `day`, `start_time` (opens at or after) and `end_time` (closes by)."""
    day = filters.day
    if day is not None and day.strip().upper() not in DAYS:
        raise _bad_query("day", f"{day!r} is not a day; use MO..SU or Monday..Sunday")
    opens, closes = _parse_time("start_time", filters.start_time), _parse_time("end_time", filters.end_time)
    if opens is not None and closes is not None and opens >= closes:
        raise _bad_query("end_time", "must be after start_time")
    if day is None and opens is None and closes is None:
        return None
    conditions = [col(Schedule.service_id) == Service.id]
    if day is not None:
        conditions.append(col(Schedule.byday) == DAYS[day.strip().upper()])
    if opens is not None:
        conditions.append(col(Schedule.opens_at) >= opens)
    if closes is not None:
        conditions.append(col(Schedule.closes_at) <= closes)
    return exists().where(*conditions)


def _taxonomy_names(session: Session, value: str) -> list[str]:
    """The taxonomies an ORUK `taxonomy_id` names: by its UUID, or by name as earlier versions of this API took."""
    names = session.exec(select(TaxonomyTerm.taxonomy).distinct()).all()
    return [name for name in names if value in (name, taxonomy_id(name))]


def _term_ids(session: Session, value: str) -> list[str]:
    """Stored term ids an ORUK `taxonomy_term_id` names: the id itself, or the one whose derived UUID it is."""
    found = [value]
    if len(value) == 36:
        found += [t for t in session.exec(select(TaxonomyTerm.id)).all() if t != value and term_id(t) == value]
    return found


def service_conditions(session: Session, filters: ServiceFilters) -> list[Any]:
    """The WHERE clauses on Service for the ORUK filters (shared by /services and /service_at_locations)."""
    text, taxonomy_term_id = filters.text, filters.taxonomy_term_id
    minimum_age, maximum_age = filters.minimum_age, filters.maximum_age
    if minimum_age is not None and maximum_age is not None and minimum_age > maximum_age:
        raise Problem(
            400,
            "minimum_age is above maximum_age.",
            errors=[{"loc": ["query", "minimum_age"], "message": "must not exceed maximum_age"}],
        )
    conditions: list[Any] = []
    if text and text.strip():
        pattern = f"%{text.strip().lower()}%"
        org_match = select(Organization.id).where(func.lower(Organization.name).like(pattern))
        conditions.append(
            or_(
                func.lower(Service.name).like(pattern),
                func.lower(func.coalesce(Service.description, "")).like(pattern),
                col(Service.organization_id).in_(org_match),
            )
        )
    if taxonomy_term_id:
        linked = (
            select(ServiceTaxonomy.service_id)
            .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
            .where(
                or_(
                    col(TaxonomyTerm.id).in_(_term_ids(session, taxonomy_term_id)),
                    col(TaxonomyTerm.code) == taxonomy_term_id,
                )
            )
        )
        conditions.append(col(Service.id).in_(linked))
    if filters.taxonomy_id:
        in_taxonomy = (
            select(ServiceTaxonomy.service_id)
            .join(TaxonomyTerm, col(TaxonomyTerm.id) == col(ServiceTaxonomy.taxonomy_term_id))
            .where(col(TaxonomyTerm.taxonomy).in_(_taxonomy_names(session, filters.taxonomy_id)))
        )
        conditions.append(col(Service.id).in_(in_taxonomy))
    if (schedule := _schedule_condition(filters)) is not None:
        conditions.append(schedule)
    if (after := _parse_instant("modified_after", filters.modified_after)) is not None:
        conditions.append(col(Service.last_modified) >= after)
    # A service suits the asked range when its own range overlaps it (missing bounds are open).
    if maximum_age is not None:
        conditions.append(or_(col(Service.minimum_age).is_(None), col(Service.minimum_age) <= maximum_age))
    if minimum_age is not None:
        conditions.append(or_(col(Service.maximum_age).is_(None), col(Service.maximum_age) >= minimum_age))
    return conditions


def list_services(*, session: Session, filters: ServiceFilters, page: int, per_page: int) -> dict[str, Any]:
    """A page of services matching the ORUK filters; ages select services open to someone in that range."""
    check_paging(page, per_page)
    statement = _public_services().where(*service_conditions(session, filters))
    total = _count(session, statement)
    rows = session.exec(
        statement.order_by(Service.name, Service.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return page_envelope(services_json(session, rows, full=False), total=total, page=page, per_page=per_page)


def get_service(*, session: Session, service_id: str) -> dict[str, Any]:
    """One service, fully nested; 404 when unknown."""
    service = session.get(Service, service_id)
    if service is None:
        raise Problem(404, f"No service has id {service_id}.")
    return services_json(session, [service], full=True)[0]


def list_taxonomies(*, session: Session, page: int, per_page: int) -> dict[str, Any]:
    """The taxonomies the directory's terms come from."""
    check_paging(page, per_page)
    names = sorted(session.exec(select(TaxonomyTerm.taxonomy).distinct()).all())
    chosen = names[(page - 1) * per_page : page * per_page]
    contents = [
        _drop_none(
            {
                "id": taxonomy_id(name),
                "name": name,
                "description": (
                    "Signpost service categories" if name == "service-category" else f"Terms of the {name} taxonomy"
                ),
                "uri": taxonomy_uri(name),
                "version": None,
            }
        )
        for name in chosen
    ]
    return page_envelope(contents, total=len(names), page=page, per_page=per_page)


def list_taxonomy_terms(*, session: Session, taxonomy_id: str | None, page: int, per_page: int) -> dict[str, Any]:
    """A page of taxonomy terms."""
    check_paging(page, per_page)
    statement = select(TaxonomyTerm)
    if taxonomy_id:
        statement = statement.where(col(TaxonomyTerm.taxonomy).in_(_taxonomy_names(session, taxonomy_id)))
    total = _count(session, statement)
    rows = session.exec(
        statement.order_by(TaxonomyTerm.taxonomy, TaxonomyTerm.code).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return page_envelope([taxonomy_term_json(t) for t in rows], total=total, page=page, per_page=per_page)


def list_organizations(*, session: Session, page: int, per_page: int) -> dict[str, Any]:
    """A page of organisations."""
    check_paging(page, per_page)
    statement = select(Organization)
    total = _count(session, statement)
    rows = session.exec(
        statement.order_by(Organization.name, Organization.id).offset((page - 1) * per_page).limit(per_page)
    )
    return page_envelope([organization_json(o) for o in rows], total=total, page=page, per_page=per_page)


def list_service_at_locations(
    *,
    session: Session,
    postcode: str | None,
    proximity: float | None,
    page: int,
    per_page: int,
    filters: ServiceFilters | None = None,
) -> dict[str, Any]:
    """Services at their locations; with a postcode, nearest first, and within `proximity` metres when given."""
    from signpost.geography import service as geography

    check_paging(page, per_page)
    if proximity is not None and proximity <= 0:
        raise Problem(
            400,
            "proximity must be a positive distance in metres.",
            errors=[{"loc": ["query", "proximity"], "message": "must be > 0"}],
        )
    origin: tuple[float, float] | None = None
    if postcode:
        try:
            normalised = geography.normalise_postcode(postcode)
        except geography.InvalidPostcode:
            raise Problem(
                400,
                f"{postcode!r} is not a UK postcode.",
                errors=[{"loc": ["query", "postcode"], "message": "not a UK postcode"}],
            ) from None
        place = geography.resolve(session, normalised)
        if place.latitude is None or place.longitude is None:
            raise Problem(
                422,
                f"The postcode {normalised} is not in the loaded postcode data, so distances cannot be measured.",
                errors=[{"loc": ["query", "postcode"], "message": "unknown postcode"}],
            )
        origin = (place.latitude, place.longitude)
    elif proximity is not None:
        raise Problem(
            400,
            "proximity needs a postcode to measure from.",
            errors=[{"loc": ["query", "proximity"], "message": "needs postcode"}],
        )

    statement = (
        select(ServiceAtLocation, Service, Location)
        .join(Service, col(Service.id) == col(ServiceAtLocation.service_id))
        .join(Location, col(Location.id) == col(ServiceAtLocation.location_id))
        .where(col(Service.retired_at).is_(None), *service_conditions(session, filters or ServiceFilters()))
    )
    if origin is None:
        total = _count(session, statement)
        rows = list(
            session.exec(
                statement.order_by(Service.name, ServiceAtLocation.id).offset((page - 1) * per_page).limit(per_page)
            ).all()
        )
        distances: dict[str, float] = {}
    else:
        # Distances are computed in Python: directories are thousands of locations, and this keeps
        # SQLite and PostgreSQL identical without a spatial extension.
        candidates = [
            r for r in session.exec(statement).all() if r[2].latitude is not None and r[2].longitude is not None
        ]
        distances = {
            sal.id: geography.distance_km(origin[0], origin[1], float(loc.latitude or 0), float(loc.longitude or 0))
            * 1000
            for sal, _s, loc in candidates
        }
        if proximity is not None:
            candidates = [r for r in candidates if distances[r[0].id] <= proximity]
        candidates.sort(key=lambda r: (distances[r[0].id], r[1].name))
        total = len(candidates)
        rows = candidates[(page - 1) * per_page : page * per_page]
    services = {s.id: s for _sal, s, _loc in rows}
    serialised = {item["id"]: item for item in services_json(session, list(services.values()), full=False)}
    contents = []
    for sal, service, location in rows:
        entry: dict[str, Any] = {
            "id": sal.id,
            "service_id": service.id,
            "location_id": location.id,
            "service": serialised[service.id],
            "location": location_json(location),
        }
        if sal.id in distances:
            entry["distance"] = round(distances[sal.id])  # metres, as ORUK's proximity
        contents.append(entry)
    return page_envelope(contents, total=total, page=page, per_page=per_page)
