"""The directory's tables, following Open Referral UK 3.0 (HSDS 3.0) names.

Ids are strings (UUIDs), as in ORUK. Departures from ORUK, each for a reason:
- delivery modes are three flags on `service` (ORUK has no standard field; search filters on them);
- `service_area` carries `scope` (national | local_authority | ward) with `area_code`/`area_vintage`,
  because ward codes change between years and must be keyed on code and vintage;
- `taxonomy_term.lgsl_ids` keeps the Local Government Service List ids a category maps to;
- `service` keeps `version` (ETags), `retired_at` (soft retire) and `assurer` (who verified it);
- `service_search` is the denormalised text the full-text indexes read (FTS5 on SQLite, GIN on PostgreSQL);
- `service.crisis_access` marks the 24-hour or same-day services urgent needs are sent to first (no ORUK field);
- `link_check` holds the latest outcome per URL, written by the link checker;
- `holiday_schedule` holds dated exceptions to the regular hours (ORUK 3.0 carries them as `schedule` rows with
  `valid_from`/`valid_to` and no weekday; a table of their own keeps `schedule.byday` required for the weekly hours);
- `import_run` records each import, and `service.import_run_id` the one that last created or changed a service.
"""

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import signpost.db  # noqa: F401  (naming convention first)


def new_id() -> str:
    return str(uuid.uuid4())


class ServiceStatus(StrEnum):
    """ORUK 3.0 service status values."""

    active = "active"
    inactive = "inactive"
    defunct = "defunct"
    temporarily_closed = "temporarily closed"


class CrisisAccess(StrEnum):
    """How a service answers someone in crisis today: the "Act now" section lists these, whatever the preferences."""

    twenty_four_hour = "24-hour"
    same_day = "same-day"


class AreaScope(StrEnum):
    national = "national"
    local_authority = "local_authority"
    ward = "ward"


class Organization(SQLModel, table=True):
    """The body that runs services (a charity, council team, company)."""

    __tablename__ = "organization"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    name: str = Field(max_length=300, index=True)
    alternate_name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text))
    email: str | None = Field(default=None, max_length=300)
    website: str | None = Field(default=None, max_length=500)
    charity_number: str | None = Field(default=None, max_length=20, index=True)
    company_number: str | None = Field(default=None, max_length=20, index=True)
    last_modified: datetime


class Service(SQLModel, table=True):
    """A service people can be signposted to."""

    __tablename__ = "service"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    organization_id: str = Field(foreign_key="organization.id", index=True, max_length=64)
    name: str = Field(max_length=300)
    alternate_name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text))
    url: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=300)
    status: str = Field(default=ServiceStatus.active.value, max_length=30, index=True)
    interpretation_services: str | None = Field(default=None, max_length=500)
    application_process: str | None = Field(default=None, sa_column=Column(Text))
    fees_description: str | None = Field(default=None, max_length=500)
    # Eligibility (HSDS 3.0 keeps these on the service).
    minimum_age: int | None = None
    maximum_age: int | None = None
    eligibility_description: str | None = Field(default=None, sa_column=Column(Text))
    # Delivery modes.
    in_person: bool = False
    by_phone: bool = False
    online: bool = False
    # CrisisAccess, or None: an editor's statement, shown with the service's verification like every other field.
    crisis_access: str | None = Field(default=None, max_length=20)
    # Verification: no assured_date means nobody has checked it.
    assured_date: date | None = Field(default=None, index=True)
    assurer_email: str | None = Field(default=None, max_length=300)
    assurer: str | None = Field(default=None, max_length=200)
    created_at: datetime
    last_modified: datetime
    retired_at: datetime | None = None
    version: int = 1
    # The import that created or last changed it (None: written by an editor only). No foreign key: SQLite could
    # only drop such a column again by rebuilding `service`, and with it the facet triggers.
    import_run_id: int | None = Field(default=None, index=True)


class ImportRun(SQLModel, table=True):
    """One import of a feed or file (dry runs leave none): when, from where, by whom, and what it wrote."""

    __tablename__ = "import_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=500)
    format: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    started_at: datetime
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class Location(SQLModel, table=True):
    """A place (premises) with its address and coordinates; `location_type` virtual has no premises."""

    __tablename__ = "location"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    organization_id: str | None = Field(default=None, foreign_key="organization.id", index=True, max_length=64)
    location_type: str = Field(default="physical", max_length=20)  # physical | postal | virtual
    name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text))
    address_1: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    state_province: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=10, index=True)
    country: str = Field(default="GB", max_length=2)
    latitude: float | None = Field(default=None, index=True)  # proximity searches bound on it first
    longitude: float | None = None
    last_modified: datetime


class ServiceAtLocation(SQLModel, table=True):
    __tablename__ = "service_at_location"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=64)


class TaxonomyTerm(SQLModel, table=True):
    """A term of a taxonomy; the directory's categories are taxonomy `service-category`."""

    __tablename__ = "taxonomy_term"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    code: str = Field(max_length=100)
    name: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text))
    parent_id: str | None = Field(default=None, max_length=64)
    taxonomy: str = Field(default="service-category", max_length=100, index=True)
    term_uri: str | None = Field(default=None, max_length=500)
    lgsl_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class CategoryOrigin(StrEnum):
    """Where a service's link to a term came from; only `suggested` awaits an editor."""

    given = "given"  # named by the feed or set by an editor
    crosswalk = "crosswalk"  # derived from a feed's term through a ConceptMap in `fhir/`
    suggested = "suggested"  # the classifier's, from the service's words, until an editor confirms it
    confirmed = "confirmed"  # a suggestion an editor confirmed


class ServiceTaxonomy(SQLModel, table=True):
    """Links a service to a taxonomy term (ORUK `attribute` with link_type service).

    `origin` says where the link came from; `evidence` what produced a derived one (the feed's terms and the
    map, or the words that triggered a suggestion), so every derived category can say why it is there.
    """

    __tablename__ = "service_taxonomy"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    taxonomy_term_id: str = Field(foreign_key="taxonomy_term.id", index=True, max_length=64)
    origin: str = Field(default=CategoryOrigin.given.value, max_length=20, sa_column_kwargs={"server_default": "given"})
    evidence: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # type: ignore[type-arg]


class CategoryRejection(SQLModel, table=True):
    """A suggested category an editor rejected: never suggested again for that service."""

    __tablename__ = "category_rejection"
    __table_args__ = (UniqueConstraint("service_id", "taxonomy_term_id"),)

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", max_length=64)
    taxonomy_term_id: str = Field(foreign_key="taxonomy_term.id", max_length=64)
    at: datetime
    actor: str = Field(max_length=200)


class CategoryMap(SQLModel, table=True):
    """The version of each category map (ConceptMap or classifier rules) last applied to the directory."""

    __tablename__ = "category_map"

    id: str = Field(primary_key=True, max_length=100)
    version: str = Field(max_length=100)
    applied_at: datetime


class ServiceArea(SQLModel, table=True):
    """Where a service is offered: the whole country, a local authority, or a ward (code + vintage)."""

    __tablename__ = "service_area"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=500)
    scope: str = Field(max_length=20)  # AreaScope
    area_code: str | None = Field(default=None, max_length=9, index=True)
    area_vintage: int | None = None


class Contact(SQLModel, table=True):
    __tablename__ = "contact"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300)


class Phone(SQLModel, table=True):
    __tablename__ = "phone"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    contact_id: str | None = Field(default=None, foreign_key="contact.id", max_length=64)
    number: str = Field(max_length=50)
    type: str | None = Field(default=None, max_length=20)  # voice | text | textphone | fax
    description: str | None = Field(default=None, max_length=300)


class Schedule(SQLModel, table=True):
    """Regular opening hours, one weekday per row (HSDS `byday` holds one of MO..SU); times are UK local."""

    __tablename__ = "schedule"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    location_id: str | None = Field(default=None, foreign_key="location.id", max_length=64)
    freq: str = Field(default="WEEKLY", max_length=10)
    byday: str = Field(max_length=2)
    opens_at: time
    closes_at: time
    description: str | None = Field(default=None, max_length=300)


class HolidaySchedule(SQLModel, table=True):
    """A dated exception to the regular hours, `valid_from` to `valid_to` inclusive: closed all day, or open from
    `opens_at` to `closes_at` (UK local) instead; `description` names it ("Christmas Day")."""

    __tablename__ = "holiday_schedule"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    valid_from: date
    valid_to: date
    closed: bool = True
    opens_at: time | None = None
    closes_at: time | None = None
    description: str | None = Field(default=None, max_length=300)


class CostOption(SQLModel, table=True):
    """A price; `amount` 0 means free of charge."""

    __tablename__ = "cost_option"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    option: str | None = Field(default=None, max_length=200)
    amount: float | None = None
    currency: str = Field(default="GBP", max_length=3)
    amount_description: str | None = Field(default=None, max_length=300)


class Language(SQLModel, table=True):
    """A language a service is offered in (ISO 639-1 `code`)."""

    __tablename__ = "language"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    name: str | None = Field(default=None, max_length=100)
    code: str = Field(max_length=10, index=True)
    note: str | None = Field(default=None, max_length=300)


class Accessibility(SQLModel, table=True):
    """Accessibility of a location (step-free access, hearing loop, ...)."""

    __tablename__ = "accessibility"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=64)
    location_id: str = Field(foreign_key="location.id", index=True, max_length=64)
    description: str | None = Field(default=None, max_length=300)
    details: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=500)


class ServiceSearch(SQLModel, table=True):
    """The text the full-text index reads, one row per service, kept by the service layer."""

    __tablename__ = "service_search"

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", unique=True, max_length=64)
    name: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    organization: str = Field(default="", sa_column=Column(Text, nullable=False))
    taxonomy: str = Field(default="", sa_column=Column(Text, nullable=False))
    # A word for each taxonomy term (`fulltext.term_words`): SQLite's index matches a category search by them.
    terms: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ServiceAudit(SQLModel, table=True):
    """One change to a service: who, when, what, and each field's before and after."""

    __tablename__ = "service_audit"

    id: int | None = Field(default=None, primary_key=True)
    service_id: str = Field(foreign_key="service.id", index=True, max_length=64)
    at: datetime
    actor: str = Field(max_length=200)
    action: str = Field(max_length=30)  # create | update | verify | status | retire | import
    version: int
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # type: ignore[type-arg]


class LinkCheck(SQLModel, table=True):
    """The latest check of one URL (written by the link checker; one row per URL)."""

    __tablename__ = "link_check"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=500, unique=True)
    checked_at: datetime
    status: int | None = None  # HTTP status, None when no answer
    ok: bool
    error: str | None = Field(default=None, max_length=300)


class ServiceFacet(SQLModel, table=True):
    """What search filters and orders on, one narrow row per service, kept by database triggers.

    `id` is the service's `service_search.id` (the full-text row id), so a text match joins on an integer.
    The triggers (see `fulltext.FACET_*`) rewrite a service's row whenever the service, its search row,
    cost options, categories or locations change; nothing in Python writes it.
    """

    __tablename__ = "service_facet"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    service_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=300)
    status: str = Field(max_length=30)
    retired: bool
    minimum_age: int | None = None
    maximum_age: int | None = None
    in_person: bool
    by_phone: bool
    online: bool
    free: bool  # a cost option of 0 and none above 0
    premises: bool  # at least one non-virtual location
    categories: str = Field(sa_column=Column(Text, nullable=False))  # " id id " of its taxonomy terms
    # The bounding box of its locations with coordinates (any type), for a cheap proximity prefilter.
    min_latitude: float | None = None
    max_latitude: float | None = None
    min_longitude: float | None = None
    max_longitude: float | None = None


class ServiceFacetCategory(SQLModel, table=True):
    """One taxonomy term of a facet, keyed by term then facet id, so a category search gets its services' full-text
    row ids from one index range and checks each text match before reading its facet row.

    Kept by database triggers on `service_facet` (see `fulltext.FACET_CATEGORY_*`); nothing in Python writes it.
    """

    __tablename__ = "service_facet_category"
    __table_args__ = {"sqlite_with_rowid": False}

    taxonomy_term_id: str = Field(primary_key=True, max_length=64)
    facet_id: int = Field(primary_key=True, index=True, sa_column_kwargs={"autoincrement": False})
