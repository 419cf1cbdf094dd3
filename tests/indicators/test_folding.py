"""The server folds pending events into the roll-ups on its own and keeps trying when the database fails it; so does
`signpost indicators fold`, once."""

import asyncio
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from signpost import db, events
from signpost.app import create_app
from signpost.config import Settings
from signpost.indicators import cli, rollup
from signpost.indicators.models import IndicatorPending
from tests.events.factories import make_event


def _served_until_folded(settings: Settings, engine: Engine) -> None:
    """Record three events in `engine`'s database, then run the app on `settings` (folding every 0.05 s) until the
    roll-ups hold them: they must equal a recount, with nothing left pending."""
    recorded = [[make_event(), make_event(need_code="carer", ward_code=None)], [make_event(practice_ods=None)]]
    with Session(engine) as session:
        for i, batch in enumerate(recorded):
            events.record(session=session, key=events.key_hmac("s", "fold", str(i)), source="template", events=batch)
        session.commit()
        assert rollup.stored(session) == {}
    with TestClient(create_app(settings.model_copy(update={"fold_seconds": 0.05}))):
        deadline = time.monotonic() + 10
        with Session(engine) as session:
            while rollup.current(session) != rollup.stored(session) and time.monotonic() < deadline:
                session.rollback()  # a new snapshot
                time.sleep(0.05)
            assert rollup.stored(session) == rollup.tally(e for batch in recorded for e in batch)
            assert session.exec(select(IndicatorPending)).all() == []


def test_a_running_server_folds_what_was_recorded(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'folding.db'}", var_dir=tmp_path, secret_key="test-secret-key-for-hmac"
    )
    db.upgrade(settings.database_url)
    engine = db.get_engine(settings)
    _served_until_folded(settings, engine)
    engine.dispose()


def test_a_server_on_postgresql_folds_through_its_async_pool_without_a_thread(
    settings: Settings, committed_engine: Engine, thread_trips: list[str]
) -> None:
    if committed_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's async pool")
    url = committed_engine.url.render_as_string(hide_password=False)
    _served_until_folded(settings.model_copy(update={"database_url": url}), committed_engine)
    assert thread_trips == []


def test_a_failing_fold_is_logged_once_and_tried_until_it_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = db.make_engine(url)  # no tables yet: every fold fails until the database is migrated

    async def run_a_while() -> None:
        folder = asyncio.create_task(rollup.fold_every(engine, 0.01))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(db.upgrade, url)
        await asyncio.sleep(0.2)
        folder.cancel()

    with caplog.at_level(logging.WARNING, logger="signpost.indicators.rollup"):
        asyncio.run(run_a_while())
    assert [r.getMessage() for r in caplog.records if r.name == "signpost.indicators.rollup"] == [
        "folding events into the roll-ups failed (OperationalError); they stay pending",
        "folding events into the roll-ups works again",
    ]
    engine.dispose()


def three_pending(tmp_path: Path) -> Engine:
    """A migrated database holding three recorded submissions not yet folded."""
    url = f"sqlite:///{tmp_path / 'pending.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        for i in range(3):
            events.record(session=session, key=f"pending-{i}", source="template", events=[make_event()])
        session.commit()
    return engine


def test_the_fold_command_folds_and_says_how_many(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = three_pending(tmp_path)
    monkeypatch.setattr(cli.db, "get_engine", lambda: engine)
    result = CliRunner().invoke(cli.app, ["fold"])
    assert result.exit_code == 0 and "Folded 3 submissions" in result.output
    with Session(engine) as session:
        assert rollup.stored(session) == rollup.tally([make_event()] * 3)
    engine.dispose()


def test_fold_all_tells_its_progress_and_then_finds_nothing(tmp_path: Path) -> None:
    engine = three_pending(tmp_path)
    told: list[int] = []
    assert rollup.fold_all(engine, told.append) == 3
    assert told == [3]
    assert rollup.fold_all(engine, told.append) == 0
    assert told == [3]
    engine.dispose()


def test_the_server_folds_in_short_batches_letting_requests_in_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = three_pending(tmp_path)
    monkeypatch.setattr(rollup, "SERVER_FOLD_SUBMISSIONS", 2)
    seen: list[int] = []

    async def a_request_meanwhile() -> None:  # starts at the folder's first pause
        with Session(engine) as session:
            seen.append(len(session.exec(select(IndicatorPending)).all()))

    async def both() -> int:
        folded, _ = await asyncio.gather(rollup.fold_pending(engine), a_request_meanwhile())
        return folded

    assert asyncio.run(both()) == 3
    assert seen == [1]  # it ran after the first batch of two, before the last
    with Session(engine) as session:
        assert rollup.stored(session) == rollup.tally([make_event()] * 3)
        assert session.exec(select(IndicatorPending)).all() == []
    engine.dispose()


def test_a_request_needing_several_turns_of_the_loop_finishes_between_two_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = three_pending(tmp_path)
    monkeypatch.setattr(rollup, "SERVER_FOLD_SUBMISSIONS", 2)
    seen: list[int] = []

    async def a_request_meanwhile() -> None:  # reads, answers, records: several turns of the loop
        for _ in range(5):
            await asyncio.sleep(0)
        with Session(engine) as session:
            seen.append(len(session.exec(select(IndicatorPending)).all()))

    async def both() -> None:
        await asyncio.gather(rollup.fold_pending(engine, pause=rollup.SERVER_FOLD_PAUSE), a_request_meanwhile())

    asyncio.run(both())
    assert seen == [1]  # done before the second batch, not waiting for it
    engine.dispose()
