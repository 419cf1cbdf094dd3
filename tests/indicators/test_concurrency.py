"""Concurrent writers and folders on PostgreSQL lose no counts and count none twice."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import Engine, delete, select
from sqlmodel import Session

from signpost import events
from signpost.events.models import EventSubmission, SignpostEvent
from signpost.indicators import rollup
from tests.events.factories import make_event

DAY = date(2020, 2, 2)  # a day no other test uses: these writes are committed


def test_concurrent_writers_and_folders_lose_no_counts(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL concern (SQLite serialises writers)")
    writers, submissions = 8, 10

    def write(worker: int) -> None:
        with Session(engine) as session:
            for i in range(submissions):
                key = events.key_hmac("s", "concurrency", f"{worker}-{i}")
                batch = [make_event(occurred_on=DAY), make_event(occurred_on=DAY, need_code="carer")]
                events.record(session=session, key=key, source="template", events=batch)
                session.commit()

    writing = threading.Event()
    writing.set()

    def fold() -> int:
        folded = 0
        while writing.is_set():
            folded += rollup.fold_all(engine)
        return folded

    try:
        with ThreadPoolExecutor(writers + 2) as pool:
            folders = [pool.submit(fold) for _ in range(2)]
            list(pool.map(write, range(writers)))
            writing.clear()
            folded = sum(f.result() for f in folders) + rollup.fold_all(engine)
        assert folded >= writers * submissions  # (and whatever an earlier test left pending)
        with Session(engine) as session:
            assert rollup.current(session) == rollup.stored(session)  # nothing left pending
            cells = {k: n for k, n in rollup.stored(session).items() if k[1] == DAY and k[0] == "day"}
            assert sorted(cells.values()) == [writers * submissions] * 2
    finally:
        with Session(engine) as session:
            query = select(SignpostEvent.submission_id).where(SignpostEvent.occurred_on == DAY)  # type: ignore[call-overload]
            ids = list(session.execute(query).scalars())
            session.execute(delete(SignpostEvent).where(SignpostEvent.occurred_on == DAY))  # type: ignore[arg-type]
            session.execute(delete(EventSubmission).where(EventSubmission.id.in_(ids)))  # type: ignore[union-attr]
            rollup.rebuild(session)
            session.commit()
