"""The referral loop's work: make a referral, find it by token, move its status, list, purge, report reply times."""

import secrets
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from sqlmodel import Session

from signpost.errors import Problem
from signpost.referrals import store, tokens
from signpost.referrals.models import Referral

# Gravity SDOH Clinical Care Task statuses a provider may move a referral through (FHIR task-status codes).
MOVES: dict[str, frozenset[str]] = {
    "requested": frozenset({"received", "accepted", "rejected"}),
    "received": frozenset({"accepted", "rejected"}),
    "accepted": frozenset({"in-progress", "on-hold", "completed", "failed"}),
    "in-progress": frozenset({"on-hold", "completed", "failed"}),
    "on-hold": frozenset({"in-progress", "completed", "failed"}),
}
CLOSED = frozenset({"rejected", "completed", "failed", "cancelled"})
UNANSWERED = frozenset({"requested", "received"})
# Why a provider declined (rejected) or could not finish (failed): the project's own referral-outcome codes.
REASONS: dict[str, frozenset[str]] = {
    "rejected": frozenset({"at-capacity", "not-eligible", "could-not-contact", "other"}),
    "failed": frozenset({"did-not-attend", "could-not-contact"}),
}
REASON_LABELS = {
    "at-capacity": "At capacity",
    "not-eligible": "Not eligible",
    "could-not-contact": "Could not contact",
    "other": "Other",
    "did-not-attend": "Did not attend",
}
STATUS_LABELS = {
    "requested": "Sent",
    "received": "Received",
    "accepted": "Accepted",
    "rejected": "Declined",
    "in-progress": "In progress",
    "on-hold": "On hold",
    "completed": "Completed",
    "failed": "Did not complete",
    "cancelled": "Cancelled",
}
COMPLETED_WITHIN_DAYS = 60
REPLY_WINDOW_DAYS = 90
REPLY_MIN_REFERRALS = 5


@dataclass(frozen=True)
class NewReferral:
    """What a referral keeps: the coarse attributes of a signposting, nothing that identifies the person."""

    service_id: str
    organization_id: str
    need_code: str
    category_code: str | None
    ward_code: str | None
    ward_vintage: int | None
    imd_decile: int | None
    imd_year: int | None
    practice_ods: str | None
    referrer: str
    source: str


@dataclass(frozen=True)
class ReplyTime:
    """A service's median days from referral to acceptance over the last 90 days, from enough referrals to say."""

    median_days: float
    referrals: int


def today() -> date:
    return datetime.now(UTC).date()


def create(*, session: Session, secret_key: str, data: NewReferral, on: date) -> tuple[Referral, str]:
    """Store a referral under a fresh token's HMAC; returns the row and the token, which is never seen again."""
    for _ in range(5):
        token = tokens.new_token()
        digest = tokens.token_hmac(secret_key, token)
        if store.by_token(session, digest) is None:
            break
    else:  # 59 bits of randomness: five collisions in a row means something else is wrong
        raise Problem(503, "Could not issue a unique referral token; try again.")
    referral = Referral(
        id=secrets.token_hex(16),
        token_hmac=digest,
        token_hint=token[: tokens.GROUP_SIZE],
        status="requested",
        created_on=on,
        **data.__dict__,
    )
    session.add(referral)
    session.flush()
    store.count_outcome(session, referral, "made")
    return referral, token


def find_by_token(*, session: Session, secret_key: str, token: str, organization_id: str) -> Referral:
    """The owning organisation's referral with this token; unknown and other organisations' tokens alike are 404."""
    printed = tokens.normalise(token)
    if printed is None:
        raise Problem(
            422,
            "A referral token is 12 letters and digits, such as K7QP-3MXA-9RTB.",
            errors=[{"loc": "token", "message": "not a referral token"}],
        )
    referral = store.by_token(session, tokens.token_hmac(secret_key, printed))
    if referral is None or referral.organization_id != organization_id:
        raise Problem(404, "No referral to your organisation has that token.")
    return referral


def visible(*, session: Session, task_id: str, organization_id: str | None, referrer: str | None) -> Referral:
    """A referral its owner (or its referrer) may see; anyone else is told it does not exist."""
    referral = session.get(Referral, task_id)
    if referral is None or (organization_id is not None and referral.organization_id != organization_id):
        raise Problem(404, f"There is no Task {task_id!r} for you.")
    if organization_id is None and referral.referrer != referrer:
        raise Problem(404, f"There is no Task {task_id!r} for you.")
    return referral


def move(*, session: Session, referral: Referral, status: str, reason: str | None, on: date) -> Referral:
    """Move a referral to a new status the loop allows (409 otherwise), counting the outcome once."""
    if status == referral.status and (reason or None) == referral.status_reason:
        return referral  # the same answer twice (a retried request) changes nothing and counts nothing
    allowed = MOVES.get(referral.status, frozenset())
    if status not in allowed:
        choices = ", ".join(sorted(allowed)) or "none: it is closed"
        raise Problem(409, f"A {referral.status} referral cannot become {status}; it may become: {choices}.")
    reasons = REASONS.get(status)
    if reasons is not None and reason not in reasons:
        raise Problem(
            422,
            f"Say why it is {status}: one of {', '.join(sorted(reasons))}.",
            errors=[{"loc": "statusReason", "message": "one of " + ", ".join(sorted(reasons))}],
        )
    if reasons is None and reason:
        raise Problem(422, f"A {status} referral takes no reason.", errors=[{"loc": "statusReason", "message": "none"}])
    referral.status, referral.status_reason = status, reason or None
    referral.changed_at = datetime.now(UTC)
    days = (on - referral.created_on).days
    if status == "received":
        referral.received_on = on
        store.count_outcome(session, referral, "received")
    elif status == "accepted":
        referral.accepted_on = on
        store.count_outcome(session, referral, "accepted", days)
    elif status == "rejected":
        store.count_outcome(session, referral, f"declined-{reason}")
    elif status == "completed":
        store.count_outcome(session, referral, "completed")
        if days <= COMPLETED_WITHIN_DAYS:
            store.count_outcome(session, referral, "completed-60")
    elif status == "failed":
        store.count_outcome(session, referral, f"failed-{reason}")
    if status in CLOSED:
        referral.closed_on = on
    session.add(referral)
    session.flush()
    return referral


def working_days_between(start: date, end: date) -> int:
    """Monday-to-Friday days after `start` up to and including `end` (bank holidays are not known here)."""
    days = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days


def is_overdue(referral: Referral, *, on: date, working_days: int) -> bool:
    """Not answered (still sent or only received) after the configured number of working days."""
    return referral.status in UNANSWERED and working_days_between(referral.created_on, on) > working_days


def for_referrer(
    *, session: Session, referrer: str | None, practice_ods: str | None, limit: int = 200
) -> list[Referral]:
    """A practice's referrals (clinicians see their practice's), or one prescriber's own, newest first."""
    rows, _ = store.tasks(
        session,
        organization_id=None,
        referrer=referrer if practice_ods is None else None,
        statuses=[],
        after=[],
        offset=0,
        count=limit,
        practice_ods=practice_ods,
    )
    return sorted(rows, key=lambda r: (r.created_on, r.id), reverse=True)


def purge(*, session: Session, on: date, months: int) -> int:
    """Delete referrals (and so their tokens) closed more than `months` months before `on`; counts stay."""
    cutoff: date = on - relativedelta(months=months)
    return store.closed_before(session, cutoff)


def reply_times(*, session: Session, service_ids: list[str], on: date) -> dict[str, ReplyTime]:
    """Median days to accept over the last 90 days, for services with at least 5 such referrals."""
    if not service_ids:
        return {}
    found: dict[str, list[int]] = {}
    for service_id, days in store.accepted_since(session, service_ids, on - timedelta(days=REPLY_WINDOW_DAYS)):
        found.setdefault(service_id, []).append(days)
    return {
        sid: ReplyTime(median_days=float(statistics.median(days)), referrals=len(days))
        for sid, days in found.items()
        if len(days) >= REPLY_MIN_REFERRALS
    }
