"""Storage limitation: raw events past the retention period are deleted once the roll-ups hold them.

Reports read the roll-ups, so periods whose events are gone are still reported, the same as before. Events go in
whole months (the first day kept is a month's first), so no month, day or report period is split; a year or
quarter cube cell that spans the boundary is rebuilt from the months before it (`store.rebuild_spanning`). On
PostgreSQL a past month goes as a whole partition (`events.store.delete_before`); the same job makes the coming
months' partitions.
"""

import asyncio
import logging
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta
from sqlalchemy import Engine
from sqlmodel import Session

from signpost import db
from signpost.events import store as events_store
from signpost.indicators import store

log = logging.getLogger(__name__)


def cutoff(today: date, months: int) -> date:
    """The first day kept: the first of the month `months` before this one."""
    first: date = today.replace(day=1) - relativedelta(months=months)
    return first


def events_from(session: Session) -> date | None:
    """The first day whose raw events are kept, or None if none were ever deleted."""
    return store.events_from(session)


def retain(session: Session, *, today: date, months: int) -> int:
    """Delete the events that happened before `cutoff(today, months)` and are folded (pending ones wait for their
    fold), and the submissions left with no events; returns how many events. The caller commits."""
    if months <= 0:
        return 0
    first_kept = cutoff(today, months)
    pending = store.pending_submissions()
    deleted = events_store.delete_before(session, before=first_kept, keep=pending)
    events_store.delete_unused_submissions(
        session, created_before=datetime.combine(first_kept, time(), tzinfo=UTC), keep=pending
    )
    store.keep_events_from(session, first_kept)
    return deleted


def maintain(session: Session, *, today: date, months: int) -> int:
    """The periodic job: make the coming months' partitions (PostgreSQL), then `retain`. The caller commits."""
    made = events_store.ensure_partitions(session, today=today)
    if made:
        log.info("made event partitions", extra={"fields": {"partitions": made}})
    return retain(session, today=today, months=months)


async def retain_every(engine: Engine, seconds: float, months: int) -> None:
    """Run `maintain` every `seconds` until cancelled (each server worker runs this; with `months` 0 it only makes
    partitions); failures are logged."""
    while True:
        await asyncio.sleep(seconds)
        try:
            with Session(engine) as session:
                deleted = await db.run_and_commit(
                    session, lambda: maintain(session, today=date.today(), months=months), may_block=True
                )
        except Exception as exc:  # noqa: BLE001  (the next run tries again; nothing is lost meanwhile)
            log.warning("deleting events past retention failed (%s)", type(exc).__name__)
        else:
            if deleted:
                log.info("deleted events past retention", extra={"fields": {"events": deleted}})
