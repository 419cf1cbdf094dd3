"""Storage limitation: raw events past the retention period are deleted once the roll-ups hold them.

Reports read the roll-ups, so periods whose events are gone are still reported, the same as before. Events go in
whole months (the first day kept is a month's first), so no month, day or report period is split; a year or
quarter cube cell that spans the boundary is rebuilt from the months before it (`rebuild_spanning`).
"""

import asyncio
import logging
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine, delete, func, insert, select
from sqlmodel import Session

from signpost import db
from signpost.events.models import EventSubmission, SignpostEvent
from signpost.indicators.models import DIMENSIONS, IndicatorCount, IndicatorPending, IndicatorRetention
from signpost.indicators.suppression import CELL_KEYS

log = logging.getLogger(__name__)


def cutoff(today: date, months: int) -> date:
    """The first day kept: the first of the month `months` before this one."""
    first: date = today.replace(day=1) - relativedelta(months=months)
    return first


def events_from(session: Session) -> date | None:
    """The first day whose raw events are kept, or None if none were ever deleted."""
    row = session.get(IndicatorRetention, 1)
    return row.events_from if row else None


def retain(session: Session, *, today: date, months: int) -> int:
    """Delete the events that happened before `cutoff(today, months)` and are folded (pending ones wait for their
    fold), and the submissions left with no events; returns how many events. The caller commits."""
    if months <= 0:
        return 0
    first_kept = cutoff(today, months)
    pending = select(IndicatorPending.submission_id)  # type: ignore[call-overload]
    event = SignpostEvent.__table__  # type: ignore[attr-defined]
    deleted = (
        session.connection()
        .execute(delete(event).where(event.c.occurred_on < first_kept, event.c.submission_id.not_in(pending)))
        .rowcount
    )
    submission = EventSubmission.__table__  # type: ignore[attr-defined]
    session.execute(
        delete(submission).where(
            submission.c.created_at < datetime.combine(first_kept, time(), tzinfo=UTC),
            submission.c.id.not_in(select(event.c.submission_id)),
            submission.c.id.not_in(pending),
        )
    )
    row = session.get(IndicatorRetention, 1)
    if row is None:
        session.add(IndicatorRetention(id=1, events_from=first_kept))
    elif row.events_from < first_kept:
        row.events_from = first_kept
    session.flush()
    return int(deleted or 0)


def rebuild_spanning(session: Session, first_kept: date) -> None:
    """Re-create the year and quarter cells whose period began before `first_kept` from the month cells before it
    (their events are gone); a rebuild then adds the kept events to them."""
    table = IndicatorCount.__table__  # type: ignore[attr-defined]
    dims = [table.c[d] for d in DIMENSIONS]
    for cube, start in (
        ("year_area", date(first_kept.year, 1, 1)),
        ("quarter_area", date(first_kept.year, (first_kept.month - 1) // 3 * 3 + 1, 1)),
    ):
        if start == first_kept:
            continue
        rows = session.execute(
            select(*dims, func.sum(table.c.n), func.sum(table.c.cell_key))
            .where(table.c.cube == "month_area", table.c.period_start >= start, table.c.period_start < first_kept)
            .group_by(*dims)
        ).all()
        if rows:
            session.execute(
                insert(table),
                [
                    {
                        "cube": cube,
                        "period_start": start,
                        **dict(zip(DIMENSIONS, r[:-2], strict=True)),
                        "n": int(r[-2]),
                        "cell_key": int(r[-1]) % CELL_KEYS,
                    }
                    for r in rows
                ],
            )


async def retain_every(engine: Engine, seconds: float, months: int) -> None:
    """Run `retain` every `seconds` until cancelled (each server worker runs this); failures are logged."""
    while True:
        await asyncio.sleep(seconds)
        try:
            with Session(engine) as session:
                deleted = await db.run_and_commit(
                    session, lambda: retain(session, today=date.today(), months=months), may_block=True
                )
        except Exception as exc:  # noqa: BLE001  (the next run tries again; nothing is lost meanwhile)
            log.warning("deleting events past retention failed (%s)", type(exc).__name__)
        else:
            if deleted:
                log.info("deleted events past retention", extra={"fields": {"events": deleted}})
