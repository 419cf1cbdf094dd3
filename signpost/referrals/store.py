"""The referral tables' statements: the roll-up's upsert and the provider's poll (both dialects)."""

from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from signpost.indicators.suppression import CELL_KEYS
from signpost.referrals.models import Referral, ReferralOutcome

_CELL = ["month", "need_code", "category_code", "service_id", "ward_code", "imd_decile", "measure"]


def count_outcome(session: Session, referral: Referral, measure: str, days: int = 0) -> None:
    """Add one to a referral's roll-up cell for `measure` (its record key to the cell key, `days` to its total)."""
    record_key = referral.record_key
    if record_key is None:  # drawn by the database on insert: read it back
        session.refresh(referral, ["record_key"])
        record_key = referral.record_key or 0
    values = {
        "month": referral.created_on.replace(day=1),
        "need_code": referral.need_code,
        "category_code": referral.category_code or "unknown",
        "service_id": referral.service_id,
        "ward_code": referral.ward_code or "unknown",
        "imd_decile": referral.imd_decile or 0,
        "measure": measure,
        "count": 1,
        "days_total": days,
        "cell_key": record_key,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ReferralOutcome.__table__  # type: ignore[attr-defined]
    statement = dialect.insert(table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=_CELL,
        set_={
            "count": table.c.count + 1,
            "days_total": table.c.days_total + days,
            "cell_key": (table.c.cell_key + record_key) % CELL_KEYS,
        },
    )
    session.execute(statement)


def by_token(session: Session, token_hmac: str) -> Referral | None:
    return session.exec(select(Referral).where(col(Referral.token_hmac) == token_hmac)).scalars().first()  # type: ignore[call-overload]


def tasks(
    session: Session,
    *,
    organization_id: str | None,
    referrer: str | None,
    statuses: list[str],
    after: list[tuple[str, datetime]],
    offset: int,
    count: int,
    practice_ods: str | None = None,
) -> tuple[list[Referral], int]:
    """One page of referrals matching a Task search, newest change first, and how many match in all."""
    where = []
    if organization_id is not None:
        where.append(col(Referral.organization_id) == organization_id)
    if referrer is not None:
        where.append(col(Referral.referrer) == referrer)
    if practice_ods is not None:
        where.append(col(Referral.practice_ods) == practice_ods)
    if statuses:
        where.append(col(Referral.status).in_(statuses))
    for op, moment in after:
        where.append(_last_updated(op, moment))
    query = select(Referral).where(and_(*where))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(col(Referral.changed_at).desc().nulls_first(), col(Referral.id)).offset(offset).limit(count)
    ).scalars()
    return list(rows), total


def _last_updated(op: str, moment: datetime):  # type: ignore[no-untyped-def]
    """`_lastUpdated` on a Task: its provider's last change, or for one never touched, the day it was made.

    A referral's creation is kept only to the day (so it cannot be lined up with a signposting event in time);
    a Task the provider has not touched therefore matches `gt`/`ge` from any moment of its creation day and the
    day after, so a poll just after midnight still sees what was made just before it.
    """
    changed = col(Referral.changed_at)
    made = col(Referral.created_on)
    day = moment.date()
    since = day - timedelta(days=1)
    if op == "gt":
        return or_(changed > moment, and_(changed.is_(None), made >= since))
    if op == "ge":
        return or_(changed >= moment, and_(changed.is_(None), made >= since))
    if op == "lt":
        return or_(changed < moment, and_(changed.is_(None), made < day))
    return or_(changed <= moment, and_(changed.is_(None), made <= day))


def closed_before(session: Session, cutoff: date) -> int:
    """Delete referrals closed before `cutoff`; their counts are already in the roll-up."""
    result = session.execute(delete(Referral).where(col(Referral.closed_on) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def accepted_since(session: Session, service_ids: list[str], since: date) -> list[tuple[str, int]]:
    """(service id, days from referral to acceptance) for referrals accepted since a day."""
    rows = session.execute(
        select(col(Referral.service_id), col(Referral.created_on), col(Referral.accepted_on)).where(
            col(Referral.service_id).in_(service_ids), col(Referral.accepted_on) >= since
        )
    )
    return [(sid, (accepted - made).days) for sid, made, accepted in rows]


def outcome_rows(session: Session, since: date, until: date) -> list[ReferralOutcome]:
    query = select(ReferralOutcome).where(col(ReferralOutcome.month) >= since, col(ReferralOutcome.month) <= until)
    return list(session.execute(query).scalars())
