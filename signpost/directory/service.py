"""The directory's work: maintenance with optimistic locking and an audit trail, duplicates, review queue.

For other domains (the importer, routing, FHIR):
- `find_duplicates(session=, name=, ...)` reports likely duplicates of a service before it is written;
- `index_service(session=, service_id=)` must be called after writing a service outside this module,
  so the full-text index sees it; `record_audit(...)` writes an audit row;
- `search_services(session=, query=ServiceQuery(...)) -> ServicePage` (from `signpost.directory.search`);
- `to_healthcare_service(service)` (from `signpost.directory.fhir`).
Services never commit; the request or command does.
"""

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from dateutil.relativedelta import relativedelta
from rapidfuzz import fuzz, process
from sqlalchemy import delete, func, or_, true, update
from sqlmodel import Session, col, select

from signpost.directory import fulltext, places
from signpost.directory.models import (
    Accessibility,
    Contact,
    CostOption,
    HolidaySchedule,
    Language,
    LinkCheck,
    Location,
    Organization,
    Phone,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    ServiceAudit,
    ServiceSearch,
    ServiceStatus,
    ServiceTaxonomy,
    TaxonomyTerm,
)
from signpost.directory.schemas import WEEKDAYS, ServiceFields, ServiceIn, ServicePatch
from signpost.errors import Problem

CATEGORY_TAXONOMY = "service-category"
FUZZY_THRESHOLD = 90  # rapidfuzz token_sort_ratio on normalised names, same organisation


def now() -> datetime:
    return datetime.now(UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's end."""
    later: date = day + relativedelta(months=months)
    return later


# ---------------------------------------------------------------------------------------------------------------
# Names and duplicates

_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise_name(name: str) -> str:
    """A name reduced for comparison: lower case, '&' as 'and', punctuation and a leading 'the' dropped."""
    text = _NON_WORD.sub(" ", name.lower().replace("&", " and ")).strip()
    return text[4:] if text.startswith("the ") else text


@dataclass(frozen=True)
class DuplicateMatch:
    """A record held that a new or imported one is likely to duplicate, and why."""

    kind: str  # service | organization
    id: str
    name: str
    reason: str
    score: int = 100

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "reason": self.reason, "score": self.score}


class HeldRecords(Protocol):
    """Where the duplicate rules look: the database (one new record at a time) or an import's maps (a whole feed)."""

    def named_at(self, key: str, postcodes: list[str]) -> list[tuple[str, str, str]]:
        """Services held whose normalised name is `key` at any of the postcodes: (id, name, postcode)."""

    def with_number(self, field: str, number: str) -> list[tuple[str, str]]:
        """Organisations held whose charity_number or company_number (`field`) is `number`: (id, name)."""

    def in_organization(self, organization_id: str) -> dict[str, tuple[str, str]]:
        """The organisation's services held: id → (name, normalised name)."""


def duplicate_matches(
    *,
    held: HeldRecords,
    name: str,
    organization_id: str | None = None,
    postcodes: list[str] | None = None,
    charity_number: str | None = None,
    company_number: str | None = None,
    exclude_service_id: str | None = None,
) -> list[DuplicateMatch]:
    """The directory's duplicate rules, the one place they are written (adding a service and importing both ask).

    Same normalised name at the same postcode; an organisation with the same charity or company number
    (when the caller is not already using that organisation); a close fuzzy name in the same organisation.
    """
    key = normalise_name(name)
    matches: dict[tuple[str, str], DuplicateMatch] = {}
    codes = sorted({c for c in (places.normalise_postcode_or_none(p) for p in postcodes or []) if c})
    for service_id, service_name, postcode in held.named_at(key, codes) if codes else []:
        if service_id != exclude_service_id:
            matches[("service", service_id)] = DuplicateMatch(
                "service", service_id, service_name, f"same name at postcode {postcode}"
            )
    for field, number in (("charity_number", charity_number), ("company_number", company_number)):
        number = (number or "").strip().upper()
        for org_id, org_name in held.with_number(field, number) if number else []:
            if org_id != organization_id:
                label = field.replace("_", " ")
                matches[("organization", org_id)] = DuplicateMatch(
                    "organization", org_id, org_name, f"an organisation held has the same {label} {number}"
                )
    if organization_id:
        siblings = held.in_organization(organization_id)
        keys = {
            sid: k for sid, (_, k) in siblings.items() if sid != exclude_service_id and ("service", sid) not in matches
        }
        for _, raw_score, service_id in process.extract(
            key, keys, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_THRESHOLD, limit=None
        ):
            score = int(raw_score)
            if score >= FUZZY_THRESHOLD:
                reason = "same name" if score == 100 else f"a close name ({score}%)"
                matches[("service", service_id)] = DuplicateMatch(
                    "service", service_id, siblings[service_id][0], f"{reason} in the same organisation", score
                )
    return list(matches.values())


@dataclass(frozen=True)
class _Database:
    """The records held, asked of the database: right for one record, too slow for a whole feed."""

    session: Session

    def named_at(self, key: str, postcodes: list[str]) -> list[tuple[str, str, str]]:
        rows = self.session.exec(
            select(Service.id, Service.name, Location.postal_code)
            .join(ServiceAtLocation, col(ServiceAtLocation.service_id) == Service.id)
            .join(Location, col(Location.id) == ServiceAtLocation.location_id)
            .where(col(Location.postal_code).in_(postcodes), col(Service.retired_at).is_(None))
        ).all()
        return [(sid, name, str(code)) for sid, name, code in rows if normalise_name(name) == key]

    def with_number(self, field: str, number: str) -> list[tuple[str, str]]:
        column = getattr(Organization, field)
        return [(o.id, o.name) for o in self.session.exec(select(Organization).where(func.upper(column) == number))]

    def in_organization(self, organization_id: str) -> dict[str, tuple[str, str]]:
        rows = self.session.exec(
            select(Service.id, Service.name).where(
                col(Service.organization_id) == organization_id, col(Service.retired_at).is_(None)
            )
        ).all()
        return {sid: (name, normalise_name(name)) for sid, name in rows}


def find_duplicates(
    *,
    session: Session,
    name: str,
    organization_id: str | None = None,
    postcodes: list[str] | None = None,
    charity_number: str | None = None,
    company_number: str | None = None,
    exclude_service_id: str | None = None,
) -> list[DuplicateMatch]:
    """Services (or organisations) held that look like the one described; retired services are ignored."""
    return duplicate_matches(
        held=_Database(session),
        name=name,
        organization_id=organization_id,
        postcodes=postcodes,
        charity_number=charity_number,
        company_number=company_number,
        exclude_service_id=exclude_service_id,
    )


# ---------------------------------------------------------------------------------------------------------------
# Reading


def get_service(*, session: Session, service_id: str) -> Service:
    """A service by id (retired ones included); 404 when not held."""
    service = session.get(Service, service_id)
    if service is None:
        raise Problem(404, f"No service with id {service_id}.")
    return service


def etag(service: Service) -> str:
    return f'"{service.id}.{service.version}"'


def review_due(service: Service, review_months: int) -> date | None:
    """When the service falls due for review (None: never verified, so due now)."""
    if service.assured_date is None:
        return None
    return add_months(service.assured_date, review_months)


def verification(service: Service, review_months: int, today: date | None = None) -> dict[str, Any]:
    """How far the record can be trusted, said plainly: unverified, verified, or due for review."""
    today = today or now().date()
    due = review_due(service, review_months)
    if service.assured_date is None:
        state, text = "unverified", "Not yet checked by the directory team."
    elif due is not None and due <= today:
        state, text = "review-due", f"Last checked {service.assured_date.isoformat()}; due for review."
    else:
        state, text = "verified", f"Checked {service.assured_date.isoformat()}."
    return {
        "state": state,
        "text": text,
        "assured_date": service.assured_date.isoformat() if service.assured_date else None,
        "review_due": due.isoformat() if due else None,
    }


def category_codes(*, session: Session, service_ids: list[str]) -> dict[str, list[str]]:
    """The category codes of each service, by id."""
    out: dict[str, list[str]] = {sid: [] for sid in service_ids}
    if not service_ids:
        return out
    rows = session.exec(
        select(ServiceTaxonomy.service_id, TaxonomyTerm.code)
        .join(TaxonomyTerm, col(TaxonomyTerm.id) == ServiceTaxonomy.taxonomy_term_id)
        .where(col(ServiceTaxonomy.service_id).in_(service_ids), col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
        .order_by(TaxonomyTerm.code)
    ).all()
    for service_id, code in rows:
        out[service_id].append(code)
    return out


def service_locations(*, session: Session, service_id: str) -> list[Location]:
    return list(
        session.exec(
            select(Location)
            .join(ServiceAtLocation, col(ServiceAtLocation.location_id) == Location.id)
            .where(col(ServiceAtLocation.service_id) == service_id)
            .order_by(Location.id)
        ).all()
    )


_WEEK = {day: i for i, day in enumerate(WEEKDAYS)}


def _time(value: Any) -> str:
    return value.strftime("%H:%M")


def service_detail(*, session: Session, service: Service, review_months: int) -> dict[str, Any]:
    """The whole record as the maintenance API shows it (ORUK 3.0 names), with its verification state."""
    sid = service.id
    org = session.get(Organization, service.organization_id)
    locations = service_locations(session=session, service_id=sid)
    access: dict[str, list[Accessibility]] = {}
    if locations:
        for item in session.exec(
            select(Accessibility).where(col(Accessibility.location_id).in_([loc.id for loc in locations]))
        ).all():
            access.setdefault(item.location_id, []).append(item)

    def rows(model: Any) -> list[Any]:
        return list(session.exec(select(model).where(model.service_id == sid).order_by(model.id)).all())

    modes = [
        m for m, on in (("in_person", service.in_person), ("phone", service.by_phone), ("online", service.online)) if on
    ]
    detail: dict[str, Any] = {
        "id": sid,
        "name": service.name,
        "alternate_name": service.alternate_name,
        "description": service.description,
        "url": service.url,
        "email": service.email,
        "status": service.status,
        "retired_at": service.retired_at.isoformat() if service.retired_at else None,
        "interpretation_services": service.interpretation_services,
        "application_process": service.application_process,
        "fees_description": service.fees_description,
        "minimum_age": service.minimum_age,
        "maximum_age": service.maximum_age,
        "eligibility_description": service.eligibility_description,
        "delivery_modes": modes,
        "crisis_access": service.crisis_access,
        "assured_date": service.assured_date.isoformat() if service.assured_date else None,
        "assurer_email": service.assurer_email,
        "assurer": service.assurer,
        "verification": verification(service, review_months),
        "last_modified": service.last_modified.isoformat(),
        "version": service.version,
        "organization": {
            "id": org.id,
            "name": org.name,
            "website": org.website,
            "charity_number": org.charity_number,
            "company_number": org.company_number,
        }
        if org
        else None,
        "categories": category_codes(session=session, service_ids=[sid])[sid],
        "phones": [{"id": p.id, "number": p.number, "type": p.type, "description": p.description} for p in rows(Phone)],
        "contacts": [{"id": c.id, "name": c.name, "title": c.title, "email": c.email} for c in rows(Contact)],
        "languages": [{"code": x.code, "name": x.name, "note": x.note} for x in rows(Language)],
        "service_areas": [
            {"scope": a.scope, "area_code": a.area_code, "area_vintage": a.area_vintage, "name": a.name}
            for a in rows(ServiceArea)
        ],
        "schedules": [
            {
                "byday": s.byday,
                "opens_at": _time(s.opens_at),
                "closes_at": _time(s.closes_at),
                "description": s.description,
            }
            for s in sorted(rows(Schedule), key=lambda s: (_WEEK.get(s.byday, 7), s.opens_at, s.closes_at))
        ],
        "holiday_schedules": [
            {
                "valid_from": h.valid_from.isoformat(),
                "valid_to": h.valid_to.isoformat(),
                "closed": h.closed,
                "opens_at": _time(h.opens_at) if h.opens_at else None,
                "closes_at": _time(h.closes_at) if h.closes_at else None,
                "description": h.description,
            }
            for h in sorted(rows(HolidaySchedule), key=lambda h: (h.valid_from, h.valid_to, str(h.opens_at)))
        ],
        "cost_options": [
            {"option": c.option, "amount": c.amount, "currency": c.currency, "amount_description": c.amount_description}
            for c in rows(CostOption)
        ],
        "locations": [
            {
                "id": loc.id,
                "name": loc.name,
                "location_type": loc.location_type,
                "address_1": loc.address_1,
                "city": loc.city,
                "postal_code": loc.postal_code,
                "latitude": loc.latitude,
                "longitude": loc.longitude,
                "accessibility": [{"description": a.description, "details": a.details} for a in access.get(loc.id, [])],
            }
            for loc in locations
        ],
    }
    detail["warnings"] = location_warnings(detail["locations"])
    return detail


# ---------------------------------------------------------------------------------------------------------------
# Writing


def _problem(loc: str, message: str, status: int = 422) -> Problem:
    return Problem(status, f"{loc}: {message}", errors=[{"loc": loc, "message": message}])


def category_terms(*, session: Session, codes: list[str]) -> list[TaxonomyTerm]:
    """The category terms for the codes given; 422 naming the first unknown one."""
    terms = {
        t.code: t
        for t in session.exec(
            select(TaxonomyTerm).where(
                col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY, col(TaxonomyTerm.code).in_(codes)
            )
        ).all()
    }
    for i, code in enumerate(codes):
        if code not in terms:
            raise _problem(f"categories.{i}", f"unknown category {code!r}")
    return [terms[c] for c in dict.fromkeys(codes)]


def _snapshot(session: Session, service: Service) -> dict[str, Any]:
    """The fields the audit trail compares, children flattened to readable values."""
    detail = service_detail(session=session, service=service, review_months=12)
    for key in ("verification", "last_modified", "version", "organization", "warnings"):
        detail.pop(key, None)
    for loc in detail["locations"]:
        loc.pop("id", None)
    for item in detail["phones"] + detail["contacts"]:
        item.pop("id", None)
    detail["organization_id"] = service.organization_id
    return detail


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(set(before) | set(after))
        # A list re-written with the same rows in another order is no change (rows are read back in id order).
        if not _same(key, before.get(key), after.get(key))
    }


def record_audit(
    *, session: Session, service: Service, actor: str, action: str, changes: dict[str, Any]
) -> ServiceAudit:
    """Write one audit row for a change to a service."""
    row = ServiceAudit(
        service_id=service.id, at=now(), actor=actor, action=action, version=service.version, changes=changes
    )
    session.add(row)
    return row


def index_service(*, session: Session, service_id: str) -> None:
    """Refresh the service's row in the full-text index (name, description, organisation, taxonomy, terms)."""
    session.flush()
    service = session.get(Service, service_id)
    if service is None:
        return
    org = session.get(Organization, service.organization_id)
    terms = session.exec(
        select(TaxonomyTerm.id, TaxonomyTerm.name)
        .join(ServiceTaxonomy, col(ServiceTaxonomy.taxonomy_term_id) == TaxonomyTerm.id)
        .where(col(ServiceTaxonomy.service_id) == service_id)
    ).all()
    row = session.exec(select(ServiceSearch).where(col(ServiceSearch.service_id) == service_id)).first()
    row = row or ServiceSearch(service_id=service_id)
    row.name = " ".join(filter(None, [service.name, service.alternate_name]))
    row.description = "\n".join(filter(None, [service.description, service.eligibility_description]))
    row.organization = org.name if org else ""
    columns = fulltext.taxonomy_columns(terms)
    row.taxonomy, row.terms = columns["taxonomy"], columns["terms"]
    session.add(row)
    session.flush()


def _check_ages(minimum: int | None, maximum: int | None) -> None:
    if minimum is not None and maximum is not None and minimum > maximum:
        raise _problem("minimum_age", f"minimum_age {minimum} is above maximum_age {maximum}")


def _normalised_locations(session: Session, data: ServiceFields) -> list[str]:
    """Postcodes tidied, and placed through geography when no position was given; an unknown one stays unplaced."""
    postcodes = []
    for i, loc in enumerate(data.locations or []):
        if loc.postal_code:
            try:
                loc.postal_code = places.normalise_postcode(loc.postal_code)
            except ValueError:
                raise _problem(
                    f"locations.{i}.postal_code", f"{loc.postal_code!r} is not a full UK postcode, like LS1 4AP"
                ) from None
            postcodes.append(loc.postal_code)
            if loc.latitude is None or loc.longitude is None:
                point = places.locate(session, loc.postal_code)
                if point is not None:
                    loc.latitude, loc.longitude = point.latitude, point.longitude
    return postcodes


def location_warnings(locations: list[dict[str, Any]]) -> list[str]:
    """What an editor should know about the locations held: postcodes geography could not place."""
    return [
        f"Postcode {loc['postal_code']} is not known to Signpost's geography: the location is kept, but without a "
        "map position it is not found by distance."
        for loc in locations
        if loc.get("postal_code") and loc.get("latitude") is None and loc.get("location_type") != "virtual"
    ]


# The fields an edit sets on the service as they are sent, and that `service_detail` shows as they are held.
PLAIN_FIELDS = (
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "interpretation_services",
    "application_process",
    "fees_description",
    "minimum_age",
    "maximum_age",
    "eligibility_description",
)


def _compared(session: Session, service: Service, names: Collection[str]) -> dict[str, Any]:
    """The record's fields an edit of `names` is compared by: when they are all plain, just those as the service
    holds them (as `_snapshot` gives them), with no read of the whole record; else the whole snapshot."""
    if set(names) <= set(PLAIN_FIELDS):
        return {name: getattr(service, name) for name in names}
    return _snapshot(session, service)


def _plain(data: ServiceFields, name: str) -> Any:
    """The value a plain field is saved with."""
    if name == "name" and not data.name:
        raise _problem("name", "a service needs a name")
    return getattr(data, name)


def _apply(session: Session, service: Service, data: ServiceFields) -> None:
    """Set the fields sent on the service; lists sent replace what was held."""
    sent = data.model_fields_set
    for name in PLAIN_FIELDS:
        if name in sent:
            setattr(service, name, _plain(data, name))
    if "crisis_access" in sent:
        service.crisis_access = data.crisis_access.value if data.crisis_access else None
    if "delivery_modes" in sent:
        modes = set(data.delivery_modes or [])
        service.in_person, service.by_phone, service.online = "in_person" in modes, "phone" in modes, "online" in modes
    sid = service.id
    session.add(service)
    session.flush()
    if "categories" in sent:
        terms = category_terms(session=session, codes=data.categories or [])
        # The editor's list replaces the categories (suggested ones included); the feed's own terms stay.
        categories = select(TaxonomyTerm.id).where(col(TaxonomyTerm.taxonomy) == CATEGORY_TAXONOMY)
        session.execute(
            delete(ServiceTaxonomy).where(
                col(ServiceTaxonomy.service_id) == sid, col(ServiceTaxonomy.taxonomy_term_id).in_(categories)
            )
        )
        for term in terms:
            session.add(ServiceTaxonomy(service_id=sid, taxonomy_term_id=term.id))
    if "phones" in sent:
        session.execute(delete(Phone).where(col(Phone.service_id) == sid))
        for phone in data.phones or []:
            session.add(Phone(service_id=sid, **phone.model_dump()))
    if "contacts" in sent:
        session.execute(delete(Contact).where(col(Contact.service_id) == sid))
        for contact in data.contacts or []:
            session.add(Contact(service_id=sid, **contact.model_dump()))
    if "languages" in sent:
        session.execute(delete(Language).where(col(Language.service_id) == sid))
        for language in data.languages or []:
            session.add(Language(service_id=sid, **language.model_dump()))
    if "service_areas" in sent:
        session.execute(delete(ServiceArea).where(col(ServiceArea.service_id) == sid))
        for area in data.service_areas or []:
            session.add(ServiceArea(service_id=sid, **area.model_dump()))
    if "schedules" in sent:
        session.execute(delete(Schedule).where(col(Schedule.service_id) == sid))
        for schedule in data.schedules or []:
            session.add(Schedule(service_id=sid, **schedule.model_dump()))
    if "holiday_schedules" in sent:
        session.execute(delete(HolidaySchedule).where(col(HolidaySchedule.service_id) == sid))
        for holiday in data.holiday_schedules or []:
            session.add(HolidaySchedule(service_id=sid, **holiday.model_dump()))
    if "cost_options" in sent:
        session.execute(delete(CostOption).where(col(CostOption.service_id) == sid))
        for cost in data.cost_options or []:
            session.add(CostOption(service_id=sid, **cost.model_dump()))
    if "locations" in sent:
        _replace_locations(session, service, data)
    session.flush()


def _replace_locations(session: Session, service: Service, data: ServiceFields) -> None:
    old = [loc.id for loc in service_locations(session=session, service_id=service.id)]
    session.execute(delete(ServiceAtLocation).where(col(ServiceAtLocation.service_id) == service.id))
    session.flush()
    # Drop the old premises no other service uses (locations belong to the services that were given them).
    for location_id in old:
        if not session.exec(
            select(ServiceAtLocation.id).where(col(ServiceAtLocation.location_id) == location_id)
        ).first():
            session.execute(delete(Accessibility).where(col(Accessibility.location_id) == location_id))
            session.execute(update(Schedule).where(col(Schedule.location_id) == location_id).values(location_id=None))
            session.execute(delete(Location).where(col(Location.id) == location_id))
    for item in data.locations or []:
        fields = item.model_dump(exclude={"accessibility"})
        location = Location(organization_id=service.organization_id, last_modified=now(), **fields)
        session.add(location)
        session.flush()
        session.add(ServiceAtLocation(service_id=service.id, location_id=location.id))
        for access in item.accessibility:
            session.add(Accessibility(location_id=location.id, **access.model_dump()))
    if any((loc.location_type != "virtual") for loc in data.locations or []) and "delivery_modes" not in (
        data.model_fields_set
    ):
        service.in_person = True


def create_service(*, session: Session, data: ServiceIn, actor: str, allow_duplicate: bool = False) -> Service:
    """Add a service (and its organisation when new); 409 with the matches when it looks like one held."""
    _check_ages(data.minimum_age, data.maximum_age)
    postcodes = _normalised_locations(session, data)
    if data.categories:
        category_terms(session=session, codes=data.categories)
    if data.organization_id and session.get(Organization, data.organization_id) is None:
        raise _problem("organization_id", f"no organisation with id {data.organization_id}")
    new_org = data.organization
    duplicates = find_duplicates(
        session=session,
        name=data.name,
        organization_id=data.organization_id,
        postcodes=postcodes,
        charity_number=new_org.charity_number if new_org else None,
        company_number=new_org.company_number if new_org else None,
    )
    if duplicates and not allow_duplicate:
        raise Problem(
            409,
            "This looks like a record already held: "
            + "; ".join(f"{d.kind} {d.name!r} ({d.reason})" for d in duplicates)
            + ". Send allow_duplicate=true to add it anyway.",
            title="Possible duplicate",
            extra={"duplicates": [d.as_dict() for d in duplicates]},
        )
    stamp = now()
    if new_org:
        org = Organization(last_modified=stamp, **new_org.model_dump())
        session.add(org)
        session.flush()
        organization_id = org.id
    else:
        organization_id = str(data.organization_id)
    service = Service(
        organization_id=organization_id,
        name=data.name,
        status=data.status.value,
        created_at=stamp,
        last_modified=stamp,
    )
    _apply(session, service, data)
    index_service(session=session, service_id=service.id)
    record_audit(
        session=session,
        service=service,
        actor=actor,
        action="create",
        changes=_diff({}, {k: v for k, v in _snapshot(session, service).items() if v not in (None, [], False)}),
    )
    session.flush()
    return service


def _claim(session: Session, service: Service, expected_version: int | None) -> None:
    """Compare-and-set on the version: of two edits made from the same version exactly one wins."""
    if expected_version is None:
        raise Problem(
            428,
            "Send If-Match with the service's current ETag, so no edit silently overwrites another.",
            errors=[{"loc": "If-Match", "message": "required"}],
        )
    _hold(session, service)
    result = session.execute(
        update(Service)
        .where(col(Service.id) == service.id, col(Service.version) == expected_version)
        .values(version=expected_version + 1, last_modified=now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(service)
        raise Problem(
            412,
            f"The service has changed since version {expected_version} (now {service.version}); "
            "fetch it again and reapply your change.",
            headers={"ETag": etag(service)},
            errors=[{"loc": "If-Match", "message": "stale"}],
        )
    session.refresh(service)


claim = _claim  # the maintenance module's undo claims a version the same way


def _hold(session: Session, service: Service) -> None:
    """PostgreSQL: take the service's row for this edit until it commits; 412 at once if another edit holds it.

    Waiting would be no use: once the other edit commits, this one's version is stale. Under load, editors of one
    service queued on the row for up to a second each, holding a connection and a worker thread.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite's writers take turns: the second waits for the first, then compares
    if _being_saved(session, service.id):
        raise Problem(
            412,
            "Another edit of this service is being saved at this moment; fetch it again and reapply your change.",
            headers={"ETag": etag(service)},
            errors=[{"loc": "If-Match", "message": "being changed"}],
        )


def _being_saved(session: Session, service_id: str) -> bool:
    """PostgreSQL: lock the service's row for this transaction, unless another transaction holds it (then True)."""
    held = session.execute(
        select(col(Service.id)).where(col(Service.id) == service_id).with_for_update(skip_locked=True)
    ).first()
    return held is None


# Lists whose order carries no meaning compare as sets when edits are merged.
UNORDERED = {
    "categories",
    "delivery_modes",
    "languages",
    "service_areas",
    "cost_options",
    "phones",
    "contacts",
    "schedules",
    "holiday_schedules",
    "locations",
}
FIELD_LABELS = {
    "name": "Name",
    "alternate_name": "Other name",
    "description": "Description",
    "url": "Website",
    "email": "Email",
    "interpretation_services": "Interpreting",
    "application_process": "How to apply",
    "fees_description": "Cost",
    "minimum_age": "Youngest age",
    "maximum_age": "Oldest age",
    "eligibility_description": "Who can use it",
    "delivery_modes": "How to use it",
    "categories": "Categories",
    "phones": "Phones",
    "contacts": "Contacts",
    "languages": "Languages",
    "locations": "Locations",
    "service_areas": "Area served",
    "schedules": "Opening times",
    "holiday_schedules": "Holiday opening times",
    "cost_options": "Costs",
    "status": "Status",
    "assured_date": "Verified on",
    "assurer_email": "Verified by (email)",
    "assurer": "Verified by",
    "retired_at": "Retired",
    "organization_id": "Organisation",
}


def _same(field: str, one: Any, other: Any) -> bool:
    """Two values of a field are the same change: blank is missing, and unordered lists compare as sets."""

    def norm(value: Any) -> Any:
        if value in (None, "", []):
            return None
        if field in UNORDERED and isinstance(value, list):
            return sorted(json.dumps(v, sort_keys=True, default=str) for v in value)
        return value

    return bool(norm(one) == norm(other))


def _base_values(session: Session, service_id: str, since_version: int) -> dict[str, Any]:
    """Each field changed after `since_version`, with its value as it was then (from the audit trail)."""
    base: dict[str, Any] = {}
    for row in _audit_after(session, service_id, since_version):
        for key, change in (row.changes or {}).items():
            if isinstance(change, dict) and "before" in change:
                base.setdefault(key, change["before"])
    return base


def _as_saved(session: Session, service: Service, data: ServiceFields) -> dict[str, Any]:
    """The record as it would be with `data` applied, worked out in a savepoint that is rolled back."""
    savepoint = session.begin_nested()
    try:
        _apply(session, service, data)
        return _snapshot(session, service)
    finally:
        savepoint.rollback()
        session.refresh(service)


def update_service(
    *,
    session: Session,
    service_id: str,
    data: ServicePatch,
    actor: str,
    expected_version: int | None,
    resolve: dict[str, str] | None = None,
) -> Service:
    """Change the fields sent, audited field by field; edits made from an older version are merged.

    When others saved since `expected_version`, each field sent is compared with the version it started from
    (read back from the audit trail): a field only this edit changed is applied, one only the others changed is
    kept as they saved it, the same change on both sides is no conflict, and a field both changed differently is
    a 412 listing each with both values, unless `resolve` says whose to keep ("mine" or "theirs").
    """
    service = get_service(session=session, service_id=service_id)
    minimum = data.minimum_age if "minimum_age" in data.model_fields_set else service.minimum_age
    maximum = data.maximum_age if "maximum_age" in data.model_fields_set else service.maximum_age
    _check_ages(minimum, maximum)
    _normalised_locations(session, data)
    if data.categories:
        category_terms(session=session, codes=data.categories)
    if expected_version is not None and expected_version != service.version:
        # Merging writes the edit in a savepoint to compare it: it must not queue behind an edit being saved.
        _hold(session, service)
        data = _merged(session, service, data, expected_version, resolve or {})
    # An edit of plain fields changes only those: the audit compares them, not the whole record read twice.
    before = _compared(session, service, data.model_fields_set)
    _claim(session, service, service.version if expected_version is not None else None)
    _apply(session, service, data)
    index_service(session=session, service_id=service.id)
    changes = _diff(before, _compared(session, service, data.model_fields_set))
    record_audit(session=session, service=service, actor=actor, action="update", changes=changes)
    session.flush()
    return service


def _merged(
    session: Session, service: Service, data: ServicePatch, base_version: int, resolve: dict[str, str]
) -> ServicePatch:
    """The part of an edit made from `base_version` that can be applied to the current version; 412 on conflicts."""
    if base_version > service.version or base_version < 1:
        raise Problem(
            412,
            f"Version {base_version} of this service never existed (it is at version {service.version}).",
            headers={"ETag": etag(service)},
            errors=[{"loc": "If-Match", "message": "unknown version"}],
        )
    changed_since = _base_values(session, service.id, base_version)
    contested = data.model_fields_set & changed_since.keys()
    current = _compared(session, service, contested)
    if contested <= set(PLAIN_FIELDS):
        # Only plain fields to compare (the usual edit): the values sent are the values saved, so no savepoint
        # (bench/README.md, "Soak").
        mine = {name: _plain(data, name) for name in contested}
    else:
        mine = _as_saved(session, service, data)
    keep: list[str] = []
    conflicts = []
    for name in sorted(data.model_fields_set):
        if name not in changed_since:
            keep.append(name)  # nobody else touched it: this edit's value stands
        elif _same(name, mine.get(name), current.get(name)):
            continue  # both made the same change
        elif _same(name, mine.get(name), changed_since[name]):
            continue  # this edit left it as it was: the other edit's value stands
        elif resolve.get(name) == "mine":
            keep.append(name)
        elif resolve.get(name) == "theirs":
            continue
        else:
            conflicts.append(
                {
                    "field": name,
                    "label": FIELD_LABELS.get(name, name),
                    "yours": mine.get(name),
                    "theirs": current.get(name),
                    "base": changed_since[name],
                }
            )
    if conflicts:
        raise Problem(
            412,
            f"Others changed this service since version {base_version} (now {service.version}); "
            + "; ".join(f"{c['label']} was changed by both" for c in conflicts)
            + ". Choose whose value to keep for each, or re-send from the current version.",
            title="Edit conflict",
            headers={"ETag": etag(service)},
            errors=[{"loc": c["field"], "message": "changed by both"} for c in conflicts],
            extra={"conflicts": conflicts, "base_version": base_version, "current_version": service.version},
        )
    return ServicePatch.model_validate(data.model_dump(include=set(keep)))


def verify_service(
    *,
    session: Session,
    service_id: str,
    actor: str,
    expected_version: int | None,
    assured_date: date | None = None,
    assurer_email: str | None = None,
) -> Service:
    """Record that someone checked the service: sets the assured date (today by default) and the assurer."""
    service = get_service(session=session, service_id=service_id)
    on = assured_date or now().date()
    if on > now().date():
        raise _problem("assured_date", "cannot be in the future")
    before = {"assured_date": service.assured_date, "assurer": service.assurer, "assurer_email": service.assurer_email}
    _claim(session, service, expected_version)
    service.assured_date, service.assurer, service.assurer_email = on, actor, assurer_email
    session.add(service)
    after = {"assured_date": on, "assurer": actor, "assurer_email": assurer_email}
    changes = {k: {"before": _json(before[k]), "after": _json(after[k])} for k in after if before[k] != after[k]}
    record_audit(session=session, service=service, actor=actor, action="verify", changes=changes)
    session.flush()
    return service


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def change_status(
    *, session: Session, service_id: str, status: ServiceStatus, actor: str, expected_version: int | None
) -> Service:
    """Set the ORUK status (active, temporarily closed, inactive, defunct)."""
    service = get_service(session=session, service_id=service_id)
    before = service.status
    _claim(session, service, expected_version)
    service.status = status.value
    session.add(service)
    changes = {"status": {"before": before, "after": status.value}} if before != status.value else {}
    record_audit(session=session, service=service, actor=actor, action="status", changes=changes)
    session.flush()
    return service


def retire_service(*, session: Session, service_id: str, actor: str, expected_version: int | None) -> Service:
    """Retire softly: out of search and routing, still readable for the counts that name it."""
    service = get_service(session=session, service_id=service_id)
    if service.retired_at is not None:
        raise Problem(409, f"The service was already retired on {service.retired_at.date().isoformat()}.")
    _claim(session, service, expected_version)
    service.retired_at = now()
    session.add(service)
    changes = {"retired_at": {"before": None, "after": service.retired_at.isoformat()}}
    record_audit(session=session, service=service, actor=actor, action="retire", changes=changes)
    session.flush()
    return service


def history(*, session: Session, service_id: str) -> list[ServiceAudit]:
    """The audit trail of one service, oldest first."""
    get_service(session=session, service_id=service_id)
    return list(
        session.exec(
            select(ServiceAudit).where(col(ServiceAudit.service_id) == service_id).order_by(col(ServiceAudit.id))
        ).all()
    )


def version_values(*, session: Session, service: Service, version: int) -> dict[str, Any]:
    """The record as it was at an earlier version, worked back from the current one through the audit trail."""
    if version < 1 or version > service.version:
        raise _problem("version", f"this service has versions 1 to {service.version}", status=404)
    state = _snapshot(session, service)
    for row in reversed(_audit_after(session, service.id, version)):
        for key, change in (row.changes or {}).items():
            if isinstance(change, dict) and "before" in change and key in state:
                state[key] = change["before"]
    return state


def _audit_after(session: Session, service_id: str, version: int) -> list[ServiceAudit]:
    return list(
        session.exec(
            select(ServiceAudit)
            .where(col(ServiceAudit.service_id) == service_id, col(ServiceAudit.version) > version)
            .order_by(col(ServiceAudit.id))
        ).all()
    )


def restore_version(
    *, session: Session, service_id: str, version: int, actor: str, expected_version: int | None
) -> tuple[Service, list[str]]:
    """Put back every editable field as it was at `version`: itself an audited edit (action `restore`).

    Returns the service and the fields that could not be put back (values an edit could not set today).
    """
    service = get_service(session=session, service_id=service_id)
    if expected_version is not None and expected_version != service.version:
        _claim(session, service, expected_version)  # a stale restore is refused, never merged
    then = version_values(session=session, service=service, version=version)
    now_values = _snapshot(session, service)
    fields: dict[str, Any] = {}
    skipped: list[str] = []
    for name in ServiceFields.model_fields:
        if name in then and not _same(name, then[name], now_values.get(name)):
            try:
                ServicePatch.model_validate({name: then[name]})
            except ValueError:
                skipped.append(name)
                continue
            fields[name] = then[name]
    data = ServicePatch.model_validate(fields)
    before = now_values
    _claim(session, service, expected_version)
    _apply(session, service, data)
    index_service(session=session, service_id=service.id)
    changes = _diff(before, _snapshot(session, service))
    record_audit(session=session, service=service, actor=actor, action="restore", changes=changes)
    session.flush()
    return service, skipped


# ---------------------------------------------------------------------------------------------------------------
# Review queue


@dataclass(frozen=True)
class ReviewItem:
    service: Service
    reasons: list[str]
    since: date | None  # when it fell due (None: never verified)


def review_queue(
    *,
    session: Session,
    review_months: int,
    today: date | None = None,
    limit: int = 100,
    offset: int = 0,
    unverified_only: bool = False,
    organization_id: str | None = None,
    import_run_id: int | None = None,
    whole_batch: bool = False,
) -> tuple[list[ReviewItem], int]:
    """Services due or overdue for review (never verified, or verified `review_months` ago) and those with
    failed links, oldest first; or only those never verified; of one organisation, or created or last changed by
    one import run, if named (`whole_batch`: every live service of that run, due or not); returns (page, total)."""
    today = today or now().date()
    cutoff = add_months(today, -review_months)
    failed_urls = select(LinkCheck.url).where(col(LinkCheck.ok).is_(False))
    link_failed = col(Service.url).in_(failed_urls)
    due = or_(col(Service.assured_date).is_(None), col(Service.assured_date) <= cutoff)
    wanted = col(Service.assured_date).is_(None) if unverified_only else or_(due, link_failed)
    if whole_batch and import_run_id is not None:
        wanted = true()
    base = select(Service).where(col(Service.retired_at).is_(None), wanted)
    if organization_id:
        base = base.where(col(Service.organization_id) == organization_id)
    if import_run_id is not None:
        base = base.where(col(Service.import_run_id) == import_run_id)
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    # Oldest first: never verified before anything verified, then by assured date, then by age of the record.
    order = [
        col(Service.assured_date).is_not(None),
        col(Service.assured_date),
        col(Service.created_at),
        col(Service.id),
    ]
    services = session.exec(base.order_by(*order).offset(offset).limit(limit)).all()
    failures = {
        c.url: c
        for c in session.exec(
            select(LinkCheck).where(
                col(LinkCheck.url).in_([s.url for s in services if s.url]), col(LinkCheck.ok).is_(False)
            )
        ).all()
    }
    items = []
    for service in services:
        reasons = []
        since = None
        if service.assured_date is None:
            reasons.append("never verified")
        elif service.assured_date <= cutoff:
            since = add_months(service.assured_date, review_months)
            reasons.append(f"review due since {since.isoformat()} (last checked {service.assured_date.isoformat()})")
        if service.url and service.url in failures:
            check = failures[service.url]
            what = f"HTTP {check.status}" if check.status else (check.error or "no answer")
            reasons.append(f"website link failed on {check.checked_at.date().isoformat()} ({what})")
        if not reasons:
            reasons.append(f"checked {service.assured_date.isoformat() if service.assured_date else ''}")
        items.append(ReviewItem(service, reasons, since))
    return items, int(total)


def is_active(service: Service) -> bool:
    return service.retired_at is None and service.status == ServiceStatus.active.value


# The search and FHIR mapping live in their own modules (they import this one); reachable from here too,
# so callers can write `directory.search_services(...)`, `directory.ServiceQuery(...)`,
# `directory.to_healthcare_service(service)` with `from signpost.directory import service as directory`.
_ELSEWHERE = {
    "ServiceQuery": "search",
    "ServicePage": "search",
    "ServiceHit": "search",
    "search_services": "search",
    "to_healthcare_service": "fhir",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        import importlib

        return getattr(importlib.import_module(f"signpost.directory.{_ELSEWHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
