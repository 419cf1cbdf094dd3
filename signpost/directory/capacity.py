"""A service's capacity to take referrals (Gravity SDOH CC STU 3 / HSDS 3.1 service_capacity), dated."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlmodel import Field, Session, SQLModel

import signpost.db  # noqa: F401  (naming convention first)
from signpost.errors import Problem


class CapacityStatus(StrEnum):
    taking = "taking-referrals"
    waitlist = "waitlist"
    not_taking = "not-taking-referrals"


class WaitBand(StrEnum):
    under_1_month = "under-1-month"
    one_to_3_months = "1-3-months"
    over_3_months = "over-3-months"


LABELS = {
    CapacityStatus.taking.value: "Taking referrals",
    CapacityStatus.waitlist.value: "Waiting list",
    CapacityStatus.not_taking.value: "Not taking referrals",
    WaitBand.under_1_month.value: "under 1 month",
    WaitBand.one_to_3_months.value: "1 to 3 months",
    WaitBand.over_3_months.value: "over 3 months",
}


class ServiceCapacity(SQLModel, table=True):
    """The latest capacity a service's provider or an editor stated, and the day they stated it."""

    __tablename__ = "service_capacity"

    service_id: str = Field(primary_key=True, foreign_key="service.id", max_length=64)
    status: str = Field(max_length=30)
    wait_band: str | None = Field(default=None, max_length=20)
    set_on: date
    set_by: str = Field(max_length=20)  # provider | editor


@dataclass(frozen=True)
class Capacity:
    """What a reader is told about a service's capacity."""

    status: str
    wait_band: str | None
    set_on: date

    @property
    def label(self) -> str:
        text = LABELS[self.status]
        if self.wait_band:
            text += f" (wait {LABELS[self.wait_band]})"
        return text

    @property
    def taking(self) -> bool:
        return self.status != CapacityStatus.not_taking.value


def parse(*, status: str, wait_band: str | None) -> tuple[str, str | None]:
    """Check a stated capacity: a wait band goes with a waiting list, and only with one."""
    errors = []
    if status not in {s.value for s in CapacityStatus}:
        errors.append({"loc": "status", "message": "one of " + ", ".join(s.value for s in CapacityStatus)})
    if status == CapacityStatus.waitlist.value:
        if wait_band not in {b.value for b in WaitBand}:
            errors.append({"loc": "wait_band", "message": "a waiting list needs one of " + ", ".join(WaitBand)})
    elif wait_band:
        errors.append({"loc": "wait_band", "message": "only a waiting list has a wait band"})
    if errors:
        raise Problem(422, "; ".join(f"{e['loc']}: {e['message']}" for e in errors), errors=errors)
    return status, wait_band or None


def set_capacity(*, session: Session, service_id: str, status: str, wait_band: str | None, by: str) -> Capacity:
    """Record a service's capacity as of today (the service must exist)."""
    from signpost.directory.models import Service

    status, wait_band = parse(status=status, wait_band=wait_band)
    if session.get(Service, service_id) is None:
        raise Problem(404, f"There is no service {service_id!r}.")
    today = datetime.now(UTC).date()
    record = session.get(ServiceCapacity, service_id)
    if record is None:
        record = ServiceCapacity(service_id=service_id, status=status, wait_band=wait_band, set_on=today, set_by=by)
    else:
        record.status, record.wait_band, record.set_on, record.set_by = status, wait_band, today, by
    session.add(record)
    session.flush()
    return Capacity(status=status, wait_band=wait_band, set_on=today)


_BY_IDS = select(ServiceCapacity.__table__).where(  # type: ignore[attr-defined]
    ServiceCapacity.__table__.c.service_id.in_(bindparam("ids", expanding=True))  # type: ignore[attr-defined]
)


def capacities(*, session: Session, service_ids: list[str]) -> dict[str, Capacity]:
    """The stated capacity of each of these services that has one (unstated: absent)."""
    if not service_ids:
        return {}
    rows = session.connection().execute(_BY_IDS, {"ids": list(dict.fromkeys(service_ids))})
    return {r.service_id: Capacity(status=r.status, wait_band=r.wait_band, set_on=r.set_on) for r in rows}
