"""Telling providers about referrals by e-mail, and naming who made one."""

from sqlmodel import Session, col, select

from signpost.auth.service import Actor
from signpost.config import Settings
from signpost.directory.models import Organization
from signpost.referrals import mail
from signpost.referrals import service as referrals
from signpost.referrals.models import Referral


def referrer_of(actor: Actor) -> str:
    """Who made a referral, as its list is kept: the staff key or the signed-in user (never the patient)."""
    return f"key:{actor.key_id}" if actor.key_id is not None else f"user:{actor.name}"


def notify_new(*, session: Session, settings: Settings, referral: Referral, service_name: str) -> bool:
    """Tell the service's organisation (its directory e-mail) that a referral arrived, if e-mail is configured."""
    if not mail.enabled(settings):
        return False
    organization = session.get(Organization, referral.organization_id)
    if organization is None or not organization.email:
        return False
    subject, body = mail.new_referral_message(
        service_name=service_name, token_hint=referral.token_hint, base_url=settings.public_base_url
    )
    return mail.send(settings, to=organization.email, subject=subject, body=body)


def remind_late(*, session: Session, settings: Settings) -> int:
    """E-mail each organisation with referrals past the reply deadline how many; returns the messages sent."""
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
