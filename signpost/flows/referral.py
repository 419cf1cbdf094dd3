"""The referral flow: check the offer, place the person coarsely in memory, issue a token, count it."""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from signpost.auth.service import Actor
from signpost.config import Settings
from signpost.directory import capacity as directory_capacity
from signpost.directory import service as directory
from signpost.errors import Problem
from signpost.events import prescriber as events_prescriber
from signpost.events import vocabulary
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral


@dataclass(frozen=True)
class Issued:
    """A referral just made, with the token the person takes to the provider (shown this once only)."""

    referral: Referral
    token: str
    service_name: str


def referrer_of(actor: Actor) -> str:
    """Who made a referral, as its list is kept: the staff key or the signed-in user (never the patient)."""
    return f"key:{actor.key_id}" if actor.key_id is not None else f"user:{actor.name}"


def make_referral(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    service_id: str,
    need_code: str,
    postcode: str | None,
    source: str,
    on: date | None = None,
) -> Issued:
    """Refer to one service for one need: a 422 names what is wrong; a service not taking referrals is a 409."""
    on = on or referrals.today()
    errors = []
    if need_code not in vocabulary.need_codes():
        errors.append({"loc": "need", "message": f"unknown need code '{need_code}'"})
    try:
        service = directory.get_service(session=session, service_id=service_id)
    except Problem:
        errors.append({"loc": "service", "message": f"unknown service '{service_id}'"})
        service = None
    if errors:
        raise Problem(422, "; ".join(f"{e['loc']}: {e['message']}" for e in errors), errors=errors)
    assert service is not None
    if not directory.is_active(service):
        raise Problem(409, f"{service.name} is not active in the directory, so it cannot take referrals.")
    stated = directory_capacity.capacities(session=session, service_ids=[service.id]).get(service.id)
    if stated is not None and not stated.taking:
        raise Problem(409, f"{service.name} says it is not taking referrals (since {stated.set_on.isoformat()}).")
    # The postcode becomes a ward and decile here and goes no further (the same rule as a signposting event).
    place, place_errors = events_prescriber.coarse_place(session=session, postcode=postcode, on=on)
    if place_errors:
        raise Problem(422, "postcode: not a UK postcode", errors=place_errors)
    categories = events_prescriber.service_categories(session=session, service_ids=[service.id])
    data = referrals.NewReferral(
        service_id=service.id,
        organization_id=service.organization_id,
        need_code=need_code,
        category_code=events_prescriber.category_for(need_code, [categories.get(service.id, [])]),
        ward_code=place.get("ward_code"),  # type: ignore[arg-type]
        ward_vintage=place.get("ward_vintage"),  # type: ignore[arg-type]
        imd_decile=place.get("imd_decile"),  # type: ignore[arg-type]
        imd_year=place.get("imd_year"),  # type: ignore[arg-type]
        practice_ods=actor.practice_ods,
        referrer=referrer_of(actor),
        source=source,
    )
    referral, token = referrals.create(session=session, secret_key=settings.secret_key, data=data, on=on)
    # Retention without a scheduler: each new referral clears those closed longer ago than the period.
    referrals.purge(session=session, on=on, months=settings.referral_retention_months)
    return Issued(referral=referral, token=token, service_name=service.name)


@dataclass(frozen=True)
class Standing:
    """What a reader is told about services' referrals: stated capacity and reply time, by service id."""

    capacity: dict[str, directory_capacity.Capacity]
    reply_time: dict[str, referrals.ReplyTime]


def standing(*, session: Session, service_ids: list[str]) -> Standing:
    """Capacity and reply times for services shown in search and on their pages."""
    return Standing(
        capacity=directory_capacity.capacities(session=session, service_ids=service_ids),
        reply_time=referrals.reply_times(session=session, service_ids=service_ids, on=referrals.today()),
    )


def notify_new(*, session: Session, settings: Settings, issued: Issued) -> bool:
    """Tell the service's organisation (its directory e-mail) that a referral arrived, if e-mail is configured."""
    from signpost.directory.models import Organization
    from signpost.referrals import mail

    if not mail.enabled(settings):
        return False
    organization = session.get(Organization, issued.referral.organization_id)
    if organization is None or not organization.email:
        return False
    subject, body = mail.new_referral_message(
        service_name=issued.service_name, token_hint=issued.referral.token_hint, base_url=settings.public_base_url
    )
    return mail.send(settings, to=organization.email, subject=subject, body=body)


def remind_late(*, session: Session, settings: Settings) -> int:
    """E-mail each organisation with referrals past the reply deadline how many; returns the messages sent."""
    from sqlmodel import col, select

    from signpost.directory.models import Organization
    from signpost.referrals import mail

    if not mail.enabled(settings):
        return 0
    on = referrals.today()
    waiting = session.exec(select(Referral).where(col(Referral.status).in_(sorted(referrals.UNANSWERED)))).all()
    late: dict[str, int] = {}
    for r in waiting:
        if referrals.is_overdue(r, on=on, working_days=settings.referral_reply_working_days):
            late[r.organization_id] = late.get(r.organization_id, 0) + 1
    sent = 0
    for organization_id, count in sorted(late.items()):
        organization = session.get(Organization, organization_id)
        if organization is None or not organization.email:
            continue
        subject, body = mail.late_message(
            count=count, working_days=settings.referral_reply_working_days, base_url=settings.public_base_url
        )
        sent += mail.send(settings, to=organization.email, subject=subject, body=body)
    return sent
