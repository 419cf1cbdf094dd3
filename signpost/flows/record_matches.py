"""From the needs on a patient's record to matched services: routing, with place and age worked out in memory."""

from datetime import UTC, date, datetime

from sqlmodel import Session

from signpost.config import Settings
from signpost.flows.clinical_record import RecordView
from signpost.geography import service as geography
from signpost.routing import Offer, route
from signpost.template.needs import Assessment


def _place(session: Session, postcode: str | None, settings: Settings) -> geography.Place | None:
    if not postcode:
        return None
    try:
        return geography.resolve(session, postcode, settings=settings)
    except geography.InvalidPostcode:
        return None


def _age(birth_date: str | None, today: date) -> int | None:
    try:
        born = date.fromisoformat(str(birth_date)[:10]) if birth_date else None
    except ValueError:
        return None
    if born is None or born > today:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def offers_for(*, session: Session, settings: Settings, record: RecordView, now: datetime | None = None) -> list[Offer]:
    """The services for each need on record (nothing is counted: a card is advice, not a signposting)."""
    if not record.needs:
        return []
    now = now or datetime.now(UTC)
    return route(
        session=session,
        assessment=Assessment(needs=record.needs, consent=True),
        place=_place(session, record.postcode, settings),
        age=_age(record.birth_date, now.date()),
        per_need=settings.matches_per_need,
        local_authorities=settings.local_authorities,
        now=now,
        remember_seconds=settings.routing_cache_seconds,
    )
