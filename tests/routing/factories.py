"""Plain factories of directory rows for routing tests (direct inserts: routing reads, it never writes)."""

from datetime import UTC, date, datetime, time
from typing import Any

from sqlmodel import Session, select

from signpost.directory.models import (
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

LEEDS = "E08000035"


def category_term(session: Session, code: str) -> TaxonomyTerm:
    term = session.exec(
        select(TaxonomyTerm).where(TaxonomyTerm.taxonomy == "service-category", TaxonomyTerm.code == code)
    ).first()
    if term is None:
        term = TaxonomyTerm(code=code, name=code.replace("-", " ").capitalize())
        session.add(term)
        session.flush()
    return term


def make_service(
    session: Session,
    name: str,
    categories: list[str],
    *,
    areas: list[tuple[str, str | None, int | None]] | None = None,
    open_days: list[str] | None = None,
    languages: list[str] | None = None,
    point: tuple[float, float] | None = None,
    phone: str | None = "0113 000 0000",
    address: tuple[str, str] | None = None,
    **fields: Any,
) -> Service:
    """An active, verified, city-wide service in `categories`; override anything."""
    now = datetime.now(UTC)
    organization = Organization(name=f"{name} org", last_modified=now)
    session.add(organization)
    session.flush()
    values: dict[str, Any] = {
        "in_person": True,
        "by_phone": True,
        "online": True,
        "assured_date": date(2026, 10, 1),
        **fields,
    }
    service = Service(organization_id=organization.id, name=name, created_at=now, last_modified=now, **values)
    session.add(service)
    session.flush()
    for code in categories:
        session.add(ServiceTaxonomy(service_id=service.id, taxonomy_term_id=category_term(session, code).id))
    for scope, code, vintage in areas if areas is not None else [("local_authority", LEEDS, None)]:
        session.add(ServiceArea(service_id=service.id, scope=scope, area_code=code, area_vintage=vintage))
    for day in open_days or []:
        session.add(Schedule(service_id=service.id, byday=day, opens_at=time(9), closes_at=time(17)))
    for language in languages or []:
        session.add(Language(service_id=service.id, code=language))
    if point:
        street, postcode = address or (None, None)
        location = Location(
            name=name, latitude=point[0], longitude=point[1], address_1=street, postal_code=postcode, last_modified=now
        )
        session.add(location)
        session.flush()
        session.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
    if phone:
        session.add(Phone(service_id=service.id, number=phone))
    session.flush()
    return service
