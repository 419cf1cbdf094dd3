"""The directory as Open Referral UK 3.0 JSON: queries and the one serialiser the read API and export share."""

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from signpost.directory.models import (
    Accessibility,
    Contact,
    CostOption,
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
from signpost.errors import Problem

ORUK_VERSION = "3.0"
ORUK_PROFILE = "https://github.com/OpenReferralUK/uk-profile"  # the UK profile of HSDS 3.0
CANONICAL = "https://signpost.example.org/fhir"
MAX_PER_PAGE = 200
DAY_ORDER = {day: i for i, day in enumerate(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))}


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


def taxonomy_uri(taxonomy: str) -> str | None:
    """The canonical URI of one of the project's own taxonomies."""
    return f"{CANONICAL}/CodeSystem/{taxonomy}" if taxonomy in {"service-category", "social-need"} else None


def organization_json(org: Organization) -> dict[str, Any]:
    """An organisation as ORUK 3.0 (the UK profile requires id, name, description)."""
    return _drop_none(
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
        }
    )


def taxonomy_term_json(term: TaxonomyTerm) -> dict[str, Any]:
    """A taxonomy term as ORUK 3.0 (`term` as the UK profile names it; `code`/`name` as HSDS does)."""
    return _drop_none(
        {
            "id": term.id,
            "code": term.code,
            "term": term.name,
            "name": term.name,
            "description": term.description,
            "parent_id": term.parent_id,
            "taxonomy": term.taxonomy,
            "taxonomy_id": term.taxonomy,
            "term_uri": term.term_uri,
        }
    )


def location_json(location: Location, accessibility: Sequence[Accessibility] = ()) -> dict[str, Any]:
    address = None
    if location.address_1 or location.postal_code or location.city:
        address = _drop_none(
            {
                "id": f"{location.id}-address",
                "location_id": location.id,
                "address_1": location.address_1 or "",
                "city": location.city or "",
                "state_province": location.state_province,
                "postal_code": location.postal_code or "",
                "country": location.country,
                "address_type": "physical" if location.location_type != "postal" else "postal",
            }
        )
    return _drop_none(
        {
            "id": location.id,
            "location_type": location.location_type,
            "name": location.name,
            "description": location.description,
            "latitude": location.latitude,
            "longitude": location.longitude,
            "addresses": [address] if address else [],
            "accessibility": [
                _drop_none(
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
        item = _drop_none(
            {
                "id": s.id,
                "organization_id": s.organization_id,
                "name": s.name,
                "alternate_name": s.alternate_name,
                "description": s.description or "",
                "url": s.url or "",
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
            }
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
                    "taxonomy_term_id": link.taxonomy_term_id,
                    "taxonomy_term": taxonomy_term_json(terms[link.taxonomy_term_id]),
                }
                for link in related["links"][s.id]
                if link.taxonomy_term_id in terms
            ]
            item["service_areas"] = [
                _drop_none(
                    {
                        "id": a.id,
                        "service_id": s.id,
                        "name": a.name or "",
                        "description": a.description,
                        "extent_type": a.scope,
                        "extent": a.area_code,
                        "area_vintage": a.area_vintage,
                    }
                )
                for a in related["areas"][s.id]
            ]
            item["contacts"] = [
                _drop_none(
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
                _drop_none(
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
            ]
            item["cost_options"] = [
                _drop_none(
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
                _drop_none({"id": lang.id, "service_id": s.id, "name": lang.name, "code": lang.code, "note": lang.note})
                for lang in related["languages"][s.id]
            ]
            item["funding"] = []
        out.append(item)
    return out


def _phone_json(p: Phone) -> dict[str, Any]:
    return _drop_none({"id": p.id, "number": p.number, "type": p.type, "description": p.description})


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


def list_services(
    *,
    session: Session,
    text: str | None,
    taxonomy_term_id: str | None,
    minimum_age: int | None,
    maximum_age: int | None,
    page: int,
    per_page: int,
) -> dict[str, Any]:
    """A page of services matching the ORUK filters; ages select services open to someone in that range."""
    check_paging(page, per_page)
    if minimum_age is not None and maximum_age is not None and minimum_age > maximum_age:
        raise Problem(
            400,
            "minimum_age is above maximum_age.",
            errors=[{"loc": ["query", "minimum_age"], "message": "must not exceed maximum_age"}],
        )
    statement = _public_services()
    if text and text.strip():
        pattern = f"%{text.strip().lower()}%"
        org_match = select(Organization.id).where(func.lower(Organization.name).like(pattern))
        statement = statement.where(
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
            .where(or_(col(TaxonomyTerm.id) == taxonomy_term_id, col(TaxonomyTerm.code) == taxonomy_term_id))
        )
        statement = statement.where(col(Service.id).in_(linked))
    # A service suits the asked range when its own range overlaps it (missing bounds are open).
    if maximum_age is not None:
        statement = statement.where(or_(col(Service.minimum_age).is_(None), col(Service.minimum_age) <= maximum_age))
    if minimum_age is not None:
        statement = statement.where(or_(col(Service.maximum_age).is_(None), col(Service.maximum_age) >= minimum_age))
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
                "id": name,
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
        statement = statement.where(TaxonomyTerm.taxonomy == taxonomy_id)
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
    *, session: Session, postcode: str | None, proximity: float | None, page: int, per_page: int
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
        .where(col(Service.retired_at).is_(None))
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
