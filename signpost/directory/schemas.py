"""API shapes for the directory maintenance API; unknown fields are refused, naming the field."""

import re
from datetime import date, time
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signpost.directory.models import AreaScope, CrisisAccess, ServiceStatus

DeliveryMode = Literal["in_person", "phone", "online"]
Weekday = Literal["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
# HSDS `byday` codes, Monday first (as `date.weekday()` counts): every reader of opening days uses this one.
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganizationIn(Strict):
    name: str = Field(min_length=1, max_length=300)
    alternate_name: str | None = Field(default=None, max_length=300)
    description: str | None = None
    email: str | None = Field(default=None, max_length=300)
    website: str | None = Field(default=None, max_length=500)
    charity_number: str | None = Field(default=None, max_length=20)
    company_number: str | None = Field(default=None, max_length=20)


class AccessibilityIn(Strict):
    description: str = Field(min_length=1, max_length=300)
    details: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=500)


class LocationIn(Strict):
    name: str | None = Field(default=None, max_length=300)
    description: str | None = None
    location_type: Literal["physical", "postal", "virtual"] = "physical"
    address_1: str | None = Field(default=None, max_length=300)
    city: str | None = Field(default=None, max_length=100)
    state_province: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=10)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accessibility: list[AccessibilityIn] = Field(default_factory=list)


# A UK number as people write it: 0 and 7 to 10 digits, +44 and 9 or 10, or a short code such as 111 or 116 123.
_UK_PHONE = re.compile(r"^(?:0\d{7,10}|\+44\d{9,10}|\d{3,6})$")


class PhoneIn(Strict):
    number: str = Field(min_length=3, max_length=50)
    type: Literal["voice", "text", "textphone", "fax"] | None = "voice"
    description: str | None = Field(default=None, max_length=300)

    @field_validator("number")
    @classmethod
    def _uk_number(cls, value: str) -> str:
        if not _UK_PHONE.match(re.sub(r"[\s()-]", "", value)):
            raise ValueError("enter a UK phone number, like 0113 496 0000")
        return value


class ContactIn(Strict):
    name: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ScheduleIn(Strict):
    byday: Weekday
    opens_at: time
    closes_at: time
    description: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> "ScheduleIn":
        if self.opens_at >= self.closes_at:
            raise ValueError("opens_at must be before closes_at (closes must be later than opens)")
        return self


# A dated exception is a holiday or a special day, not a season: longer spans are regular hours with dates.
HOLIDAY_MAX_DAYS = 366


class HolidayScheduleIn(Strict):
    """A dated exception to the regular hours: closed all day (the default), or open other hours."""

    valid_from: date
    valid_to: date | None = None  # the same day when missing
    closed: bool = True
    opens_at: time | None = None
    closes_at: time | None = None
    description: str | None = Field(default=None, max_length=300)

    @field_validator("valid_from", "valid_to")
    @classmethod
    def _sensible_year(cls, value: date | None) -> date | None:
        if value is not None and not 2000 <= value.year <= 2100:
            raise ValueError("enter a date between the years 2000 and 2100")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "HolidayScheduleIn":
        if self.valid_to is None:
            self.valid_to = self.valid_from
        if self.valid_to < self.valid_from:
            raise ValueError("the last day (valid_to) must be on or after the first day (valid_from)")
        if (self.valid_to - self.valid_from).days >= HOLIDAY_MAX_DAYS:
            raise ValueError(f"a holiday or special opening lasts at most {HOLIDAY_MAX_DAYS} days")
        if self.closed:
            if self.opens_at is not None or self.closes_at is not None:
                raise ValueError("a day closed all day has no opening times (leave opens_at and closes_at empty)")
        elif self.opens_at is None or self.closes_at is None:
            raise ValueError("give opens_at and closes_at when it is open, or set closed to true")
        elif self.opens_at >= self.closes_at:
            raise ValueError("opens_at must be before closes_at (closes must be later than opens)")
        return self


class CostOptionIn(Strict):
    option: str | None = Field(default=None, max_length=200)
    amount: float | None = Field(default=None, ge=0)
    amount_description: str | None = Field(default=None, max_length=300)


class LanguageIn(Strict):
    code: str = Field(min_length=2, max_length=10, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)?$")
    name: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=300)


class ServiceAreaIn(Strict):
    scope: AreaScope
    area_code: str | None = Field(default=None, max_length=9, pattern=r"^[EWSN]\d{8}$")
    area_vintage: int | None = Field(default=None, ge=1990, le=2100)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _code_for_scope(self) -> "ServiceAreaIn":
        if self.scope != AreaScope.national and not self.area_code:
            raise ValueError(f"a {self.scope.value} area needs its area_code (a GSS code)")
        if self.scope == AreaScope.ward and not self.area_vintage:
            raise ValueError("a ward area needs area_vintage (ward codes change between years)")
        return self


class ServiceFields(Strict):
    """Fields a service may be given; every one optional here, required ones checked in ServiceIn."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    alternate_name: str | None = Field(default=None, max_length=300)
    description: str | None = None
    url: str | None = Field(default=None, max_length=500, pattern=r"^https?://\S+$")
    email: str | None = Field(default=None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    interpretation_services: str | None = Field(default=None, max_length=500)
    application_process: str | None = None
    fees_description: str | None = Field(default=None, max_length=500)
    minimum_age: int | None = Field(default=None, ge=0, le=130)
    maximum_age: int | None = Field(default=None, ge=0, le=130)
    eligibility_description: str | None = None
    delivery_modes: list[DeliveryMode] | None = None
    # Whether it answers someone in crisis today (urgent needs list these first, whatever the preferences).
    crisis_access: CrisisAccess | None = None
    categories: list[str] | None = None
    phones: list[PhoneIn] | None = None
    contacts: list[ContactIn] | None = None
    languages: list[LanguageIn] | None = None
    locations: list[LocationIn] | None = None
    service_areas: list[ServiceAreaIn] | None = None
    schedules: list[ScheduleIn] | None = None
    holiday_schedules: list[HolidayScheduleIn] | None = None
    cost_options: list[CostOptionIn] | None = None


class ServiceIn(ServiceFields):
    """A new service: a name, and either an existing organization_id or a new organization."""

    name: str = Field(min_length=1, max_length=300)  # type: ignore[assignment]
    status: ServiceStatus = ServiceStatus.active
    organization_id: str | None = Field(default=None, max_length=64)
    organization: OrganizationIn | None = None

    @model_validator(mode="after")
    def _one_organization(self) -> "ServiceIn":
        if bool(self.organization_id) == bool(self.organization):
            raise ValueError("give either organization_id (an organisation held) or organization (a new one)")
        return self


class ServicePatch(ServiceFields):
    """A partial update: only the fields sent change; a list sent replaces the whole list."""


class VerifyIn(Strict):
    assured_date: date | None = None
    assurer_email: str | None = Field(default=None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StatusIn(Strict):
    status: ServiceStatus


class SuggestionChoice(BaseModel):
    """One suggested category of one service."""

    service_id: str = Field(min_length=1, max_length=64)
    category: str = Field(min_length=1, max_length=100)


class SuggestionDecision(BaseModel):
    """Confirm or reject suggested categories in bulk (all or nothing)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["confirm", "reject"]
    suggestions: list[SuggestionChoice] = Field(min_length=1, max_length=1000)
