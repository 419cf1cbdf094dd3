"""The directory as FHIR R4: HealthcareService, Organization, Location, and their searches.

The ORUK ↔ FHIR mapping table in docs/directory.md describes exactly what these functions do.
"""

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select

from signpost.directory import places, read_model
from signpost.directory import service as directory
from signpost.directory.models import (
    HolidaySchedule,
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    ServiceStatus,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.errors import Problem

CANONICAL = "https://signpost.example.org/fhir"
CATEGORY_SYSTEM = f"{CANONICAL}/CodeSystem/service-category"
LGSL_SYSTEM = "http://id.esd.org.uk/service"
VERIFICATION_EXTENSION = f"{CANONICAL}/StructureDefinition/directory-verification"
CHARITY_SYSTEM = "https://register-of-charities.charitycommission.gov.uk"
COMPANY_SYSTEM = "https://find-and-update.company-information.service.gov.uk"
DAYS = {"MO": "mon", "TU": "tue", "WE": "wed", "TH": "thu", "FR": "fri", "SA": "sat", "SU": "sun"}


def instant(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _session(obj: Any) -> Session:
    session = object_session(obj)
    if session is None:
        raise RuntimeError("the record must be attached to a session")
    return session  # type: ignore[return-value]


def to_healthcare_service(
    service: Service, *, review_months: int = 12, view: read_model.ServiceView | None = None
) -> dict[str, Any]:
    """A directory service as a FHIR R4 HealthcareService, from its `view` (read here when not given: the service
    must then be attached to a session)."""
    if view is None:
        [view] = read_model.views(session=_session(service), services=[service])
    terms = view.categories
    state = directory.verification(service, review_months)
    extension: list[dict[str, Any]] = [{"url": "state", "valueCode": state["state"]}]
    if service.assured_date:
        extension.append({"url": "assuredDate", "valueDate": service.assured_date.isoformat()})
    resource: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": service.id,
        "meta": {"versionId": str(service.version), "lastUpdated": instant(service.last_modified)},
        "extension": [{"url": VERIFICATION_EXTENSION, "extension": extension}],
        "identifier": [{"system": f"{CANONICAL}/directory/service", "value": service.id}],
        "active": directory.is_active(service),
        "providedBy": {"reference": f"Organization/{service.organization_id}"},
        "name": service.name,
    }
    if terms:
        resource["category"] = [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": t.code, "display": t.name}]} for t in terms
        ]
        lgsl = sorted({i for t in terms for i in t.lgsl_ids}, key=int)
        if lgsl:
            resource["type"] = [{"coding": [{"system": LGSL_SYSTEM, "code": i}]} for i in lgsl]
    if view.location_ids:
        resource["location"] = [{"reference": f"Location/{location_id}"} for location_id in view.location_ids]
    comment = " ".join(filter(None, [service.description]))
    if comment:
        resource["comment"] = comment[:1000]
    telecom: list[dict[str, Any]] = [{"system": "phone", "value": number} for number in view.phones]
    if service.email:
        telecom.append({"system": "email", "value": service.email})
    if service.url:
        telecom.append({"system": "url", "value": service.url})
    if telecom:
        resource["telecom"] = telecom
    if service.minimum_age is not None or service.maximum_age is not None or service.eligibility_description:
        ages = f"Ages {service.minimum_age if service.minimum_age is not None else 0}" + (
            f" to {service.maximum_age}" if service.maximum_age is not None else " and over"
        )
        eligibility: dict[str, Any] = {"code": {"text": ages}}
        if service.eligibility_description:
            eligibility["comment"] = service.eligibility_description
        resource["eligibility"] = [eligibility]
    languages = view.languages
    if languages:
        resource["communication"] = [
            {"coding": [{"system": "urn:ietf:bcp:47", "code": x.code, **({"display": x.name} if x.name else {})}]}
            for x in languages
        ]
    times = view.schedules
    if times:
        resource["availableTime"] = [
            {
                "daysOfWeek": [DAYS[s.byday]],
                "availableStartTime": s.opens_at.strftime("%H:%M:%S"),
                "availableEndTime": s.closes_at.strftime("%H:%M:%S"),
            }
            for s in times
        ]
    holidays = view.holidays
    if holidays:
        # Dated exceptions: R4 has no dated availableTime, so each is a notAvailable period whose description
        # gives the special hours, if any (a reader of `availableTime` alone would otherwise send people that day).
        resource["notAvailable"] = [
            {
                "description": _holiday_words(h),
                "during": {"start": h.valid_from.isoformat(), "end": h.valid_to.isoformat()},
            }
            for h in holidays
        ]
    if service.fees_description:
        resource["extraDetails"] = service.fees_description
    return resource


def _holiday_words(holiday: HolidaySchedule) -> str:
    """'Christmas Day: closed all day', or 'Christmas Eve: open 10:00 to 14:00 only, not the usual hours'."""
    if holiday.closed or holiday.opens_at is None or holiday.closes_at is None:
        hours = "closed all day"
    else:
        hours = f"open {holiday.opens_at:%H:%M} to {holiday.closes_at:%H:%M} only, not the usual hours"
    text = f"{holiday.description}: {hours}" if holiday.description else hours
    return text[0].upper() + text[1:]


def to_organization(org: Organization) -> dict[str, Any]:
    """A directory organisation as a FHIR R4 Organization."""
    identifiers = [{"system": f"{CANONICAL}/directory/organization", "value": org.id}]
    if org.charity_number:
        identifiers.append({"system": CHARITY_SYSTEM, "value": org.charity_number})
    if org.company_number:
        identifiers.append({"system": COMPANY_SYSTEM, "value": org.company_number})
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": org.id,
        "meta": {"lastUpdated": instant(org.last_modified)},
        "identifier": identifiers,
        "active": True,
        "name": org.name,
    }
    if org.alternate_name:
        resource["alias"] = [org.alternate_name]
    telecom = []
    if org.website:
        telecom.append({"system": "url", "value": org.website})
    if org.email:
        telecom.append({"system": "email", "value": org.email})
    if telecom:
        resource["telecom"] = telecom
    return resource


def to_location(location: Location) -> dict[str, Any]:
    """A directory location as a FHIR R4 Location."""
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": location.id,
        "meta": {"lastUpdated": instant(location.last_modified)},
        "status": "active",
        "mode": "instance",
    }
    if location.name:
        resource["name"] = location.name
    if location.description:
        resource["description"] = location.description
    address: dict[str, Any] = {}
    if location.address_1:
        address["line"] = [location.address_1]
    if location.city:
        address["city"] = location.city
    if location.postal_code:
        address["postalCode"] = location.postal_code
    if address:
        address["country"] = location.country
        resource["address"] = address
    if location.latitude is not None and location.longitude is not None:
        resource["position"] = {"latitude": location.latitude, "longitude": location.longitude}
    if location.organization_id:
        resource["managingOrganization"] = {"reference": f"Organization/{location.organization_id}"}
    return resource


# ---------------------------------------------------------------------------------------------------------------
# Search parameters

_PREFIX = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)?(\d{4}(-\d{2}(-\d{2}([T ].*)?)?)?)$")


def _bad(param: str, message: str) -> Problem:
    return Problem(400, f"{param}: {message}", errors=[{"loc": param, "message": message}])


def _date_condition(column: Any, value: str) -> ColumnElement[bool]:
    match = _PREFIX.match(value.strip())
    if not match:
        raise _bad("_lastUpdated", f"{value!r} is not a FHIR date (e.g. ge2026-01-01)")
    prefix, text = match.group(1) or "eq", match.group(2)
    try:
        if len(text) == 4:
            start = datetime(int(text), 1, 1, tzinfo=UTC)
            end = datetime(int(text) + 1, 1, 1, tzinfo=UTC)
        elif len(text) == 7:
            y, m = int(text[:4]), int(text[5:7])
            start = datetime(y, m, 1, tzinfo=UTC)
            end = start + relativedelta(months=1)
        elif len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            end = datetime.fromordinal(day.toordinal() + 1).replace(tzinfo=UTC)
        else:
            start = end = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if start.tzinfo is None:
                start = end = start.replace(tzinfo=UTC)
    except ValueError:
        raise _bad("_lastUpdated", f"{value!r} is not a valid date") from None
    c = col(column)
    return {
        "eq": and_(c >= start, c < end) if start != end else c == start,
        "ne": or_(c < start, c >= end),
        "gt": c >= end if start != end else c > start,
        "sa": c >= end if start != end else c > start,
        "ge": c >= start,
        "lt": c < start,
        "eb": c < start,
        "le": c < end if start != end else c <= start,
        "ap": and_(c >= start, c < end) if start != end else c == start,
    }[prefix]


def last_updated_conditions(column: Any, values: list[str]) -> list[ColumnElement[bool]]:
    """FHIR date search on a timestamp: ge/gt/le/lt/eq with year, month, day or instant precision (AND)."""
    return [_date_condition(column, value) for value in values]


def _token(value: str) -> tuple[str | None, str]:
    system, bar, code = value.partition("|")
    return (system, code) if bar else (None, value)


# One use of a search parameter: (modifier or None, the values to OR). Repeated uses are ANDed (FHIR R4 3.1.1.4.14).
Criterion = tuple[str | None, tuple[str, ...]]
Criteria = Mapping[str, Sequence[Criterion]]


def _like(text: str) -> str:
    return text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string_conditions(column: Any, criteria: Sequence[Criterion]) -> list[ColumnElement[bool]]:
    """FHIR string search: starts-with by default, `:contains`, `:exact` (case and accents matter)."""
    out: list[ColumnElement[bool]] = []
    for modifier, values in criteria:
        options: list[ColumnElement[bool]] = []
        for value in values:
            if modifier == "exact":
                options.append(col(column) == value)
            elif modifier == "contains":
                options.append(func.lower(column).like("%" + _like(value) + "%", escape="\\"))
            else:
                options.append(func.lower(column).like(_like(value) + "%", escape="\\"))
        out.append(or_(*options))
    return out


def _ids(criteria: Sequence[Criterion], *, prefix: str = "") -> list[list[str]]:
    return [[v.removeprefix(prefix) for v in values] for _, values in criteria]


def _identifier_ids(criteria: Sequence[Criterion], *, system: str) -> list[list[str]]:
    """Identifier tokens that can name a record by its own id (other systems match nothing)."""
    out = []
    for _, values in criteria:
        ids = []
        for value in values:
            token_system, code = _token(value)
            if token_system in (None, system):
                ids.append(code)
        out.append(ids)
    return out


def _date_criteria(column: Any, criteria: Sequence[Criterion]) -> list[ColumnElement[bool]]:
    return [or_(*(_date_condition(column, v) for v in values)) for _, values in criteria]


def search_healthcare_services(
    *, session: Session, criteria: Criteria, offset: int, count: int
) -> tuple[list[Service], int]:
    """Services matching FHIR HealthcareService search criteria; (page, total)."""
    conditions: list[ColumnElement[bool]] = []
    for ids in _ids(criteria.get("_id", [])):
        conditions.append(col(Service.id).in_(ids))
    for ids in _identifier_ids(criteria.get("identifier", []), system=f"{CANONICAL}/directory/service"):
        conditions.append(col(Service.id).in_(ids))
    conditions += _string_conditions(Service.name, criteria.get("name", []))
    for modifier, values in criteria.get("service-category", []):
        codes = []
        for item in values:
            system, code = _token(item)
            if system not in (None, "", CATEGORY_SYSTEM):
                raise _bad("service-category", f"unknown system {system}; use {CATEGORY_SYSTEM}")
            codes.append(code)
        has = exists().where(
            col(ServiceTaxonomy.service_id) == Service.id,
            col(ServiceTaxonomy.taxonomy_term_id) == TaxonomyTerm.id,
            col(TaxonomyTerm.taxonomy) == directory.CATEGORY_TAXONOMY,
            col(TaxonomyTerm.code).in_(codes),
        )
        conditions.append(~has if modifier == "not" else has)
    service_types = criteria.get("service-type", [])
    if service_types:
        terms = session.exec(
            select(TaxonomyTerm).where(col(TaxonomyTerm.taxonomy) == directory.CATEGORY_TAXONOMY)
        ).all()
    for _, values in service_types:
        wanted = []
        for item in values:
            system, code = _token(item)
            if system not in (None, "", LGSL_SYSTEM):
                raise _bad("service-type", f"unknown system {system}; use {LGSL_SYSTEM}")
            wanted.append(code)
        term_ids = [t.id for t in terms if set(t.lgsl_ids) & set(wanted)]
        conditions.append(
            exists().where(
                col(ServiceTaxonomy.service_id) == Service.id, col(ServiceTaxonomy.taxonomy_term_id).in_(term_ids)
            )
        )
    is_active = and_(col(Service.retired_at).is_(None), col(Service.status) == ServiceStatus.active.value)
    for _, values in criteria.get("active", []):
        if set(values) - {"true", "false"}:
            raise _bad("active", "must be true or false")
        options = [is_active if v == "true" else ~is_active for v in values]
        conditions.append(or_(*options))
    for ids in _ids(criteria.get("organization", []), prefix="Organization/"):
        conditions.append(col(Service.organization_id).in_(ids))
    for ids in _ids(criteria.get("location", []), prefix="Location/"):
        conditions.append(
            exists().where(col(ServiceAtLocation.service_id) == Service.id, col(ServiceAtLocation.location_id).in_(ids))
        )
    conditions += _date_criteria(Service.last_modified, criteria.get("_lastUpdated", []))
    base = select(Service).where(*conditions)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    if not count:
        return [], int(total)
    rows = session.exec(base.order_by(Service.name, Service.id).offset(offset).limit(count)).all()
    return list(rows), int(total)


def search_organizations(
    *, session: Session, criteria: Criteria, offset: int, count: int
) -> tuple[list[Organization], int]:
    """Organisations matching FHIR Organization search criteria; (page, total)."""
    conditions: list[ColumnElement[bool]] = []
    for ids in _ids(criteria.get("_id", [])):
        conditions.append(col(Organization.id).in_(ids))
    for _, values in criteria.get("identifier", []):
        options: list[ColumnElement[bool]] = []
        for value in values:
            system, code = _token(value)
            if system in (None, f"{CANONICAL}/directory/organization"):
                options.append(col(Organization.id) == code)
            if system in (None, CHARITY_SYSTEM):
                options.append(col(Organization.charity_number) == code)
            if system in (None, COMPANY_SYSTEM):
                options.append(col(Organization.company_number) == code)
        conditions.append(or_(*options) if options else col(Organization.id).in_([]))
    conditions += _string_conditions(Organization.name, criteria.get("name", []))
    conditions += _date_criteria(Organization.last_modified, criteria.get("_lastUpdated", []))
    base = select(Organization).where(*conditions)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    if not count:
        return [], int(total)
    rows = session.exec(base.order_by(Organization.name, Organization.id).offset(offset).limit(count)).all()
    return list(rows), int(total)


def parse_near(value: str) -> tuple[float, float, float]:
    """`near=lat|lon|distance|km` (distance defaults to 5 km; units km or m)."""
    parts = value.split("|")
    try:
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else 5.0
    except (ValueError, IndexError):
        raise _bad("near", "use near=latitude|longitude|distance|km") from None
    unit = parts[3] if len(parts) > 3 else "km"
    if unit not in ("km", "m", "urn:ucum|km"):
        raise _bad("near", f"unit {unit!r} is not supported; use km or m")
    if unit == "m":
        distance /= 1000
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not (0 < distance <= 200):
        raise _bad("near", "latitude, longitude or distance out of range (distance at most 200 km)")
    return lat, lon, distance


def search_locations(*, session: Session, criteria: Criteria, offset: int, count: int) -> tuple[list[Location], int]:
    """Locations matching; with `near`, nearest first within the distance."""
    conditions: list[ColumnElement[bool]] = []
    for ids in _ids(criteria.get("_id", [])):
        conditions.append(col(Location.id).in_(ids))
    conditions += _string_conditions(Location.name, criteria.get("name", []))
    conditions += _date_criteria(Location.last_modified, criteria.get("_lastUpdated", []))
    base = select(Location).where(*conditions)
    near = criteria.get("near", [])
    if not near:
        total = session.exec(select(func.count()).select_from(base.subquery())).one()
        if not count:
            return [], int(total)
        rows = session.exec(base.order_by(Location.name, Location.id).offset(offset).limit(count)).all()
        return list(rows), int(total)
    if len(near) > 1 or len(near[0][1]) > 1:
        raise _bad("near", "give one point only")
    lat, lon, distance = parse_near(near[0][1][0])
    dlat = distance / 111.0
    box = base.where(col(Location.latitude).between(lat - dlat, lat + dlat), col(Location.latitude).is_not(None))
    found = []
    for loc in session.exec(box).all():
        km = places.distance_km(lat, lon, loc.latitude, loc.longitude)  # type: ignore[arg-type]
        if km <= distance:
            found.append((km, loc.id, loc))
    found.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in found[offset : offset + count]], len(found)
