"""SQLite writers of one process queue on the engine's lock: in turn, given back after commit, rollback or close; a
request's work (`run_and_commit`) runs on the event loop holding it, and never waits there; while a server runs, a
thread of its own writes the WAL back to the database, not the commits."""

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings
from signpost.errors import Problem


@pytest.fixture
def sqlite_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    # A short wait, so that a writer that would wait for ever fails the test quickly instead.
    monkeypatch.setattr(db, "BUSY_SECONDS", 2)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'writers.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE tally (writer INTEGER, n INTEGER)"))
    return engine


def _insert(engine: Engine, writer: int, n: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO tally VALUES (:writer, :n)"), {"writer": writer, "n": n})


def test_many_threads_writing_at_once_all_commit(sqlite_engine: Engine) -> None:
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for n in range(25):
                _insert(sqlite_engine, writer, n)
        except BaseException as exc:  # noqa: BLE001  (collected and asserted on below)
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tally")).scalar_one() == 16 * 25


def test_a_second_writer_waits_until_the_first_commits(sqlite_engine: Engine) -> None:
    first = sqlite_engine.connect()
    first.begin()
    first.execute(text("INSERT INTO tally VALUES (1, 1)"))
    second = threading.Thread(target=_insert, args=(sqlite_engine, 2, 1))
    second.start()
    second.join(0.3)
    assert second.is_alive(), "the second writer went ahead while the first held the lock"
    first.commit()
    second.join(5)
    assert not second.is_alive()
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tally")).scalar_one() == 2
    first.close()


@pytest.mark.parametrize("ending", ["rollback", "close"])
def test_the_lock_is_given_back_when_a_writer_rolls_back_or_closes(sqlite_engine: Engine, ending: str) -> None:
    first = sqlite_engine.connect()
    first.begin()
    first.execute(text("INSERT INTO tally VALUES (1, 1)"))
    getattr(first, ending)()
    _insert(sqlite_engine, 2, 1)  # would wait BUSY_SECONDS and fail if the lock were still held
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT writer FROM tally")).scalars().all() == [2]
    first.close()


@pytest.mark.parametrize(
    "insert",
    ["INSERT INTO tally VALUES (2, 1)", "WITH one AS (SELECT 2 AS w) INSERT INTO tally SELECT w, 1 FROM one"],
    ids=["insert", "cte-insert"],
)
def test_a_writer_kept_waiting_too_long_gets_database_locked_from_the_queue(sqlite_engine: Engine, insert: str) -> None:
    first = sqlite_engine.connect()
    first.begin()
    first.execute(text("INSERT INTO tally VALUES (1, 1)"))
    waited = pytest.raises(OperationalError, match="database is locked .waited for the other writers")
    with waited, sqlite_engine.begin() as second:
        second.execute(text(insert))
    first.rollback()
    first.close()


# A read may begin WITH: routing's does, renewed in a background thread; queued as a writer, it held up writers.
@pytest.mark.parametrize(
    "read",
    ["SELECT count(*) FROM tally", "WITH updated AS (SELECT n FROM tally) SELECT count(*) FROM updated"],
    ids=["select", "cte-select"],
)
def test_readers_do_not_wait_for_a_writer(sqlite_engine: Engine, read: str) -> None:
    first = sqlite_engine.connect()
    first.begin()
    first.execute(text("INSERT INTO tally VALUES (1, 1)"))
    with sqlite_engine.connect() as reader:
        # WAL: the reader sees the last committed state, at once.
        assert reader.execute(text(read)).scalar_one() == 0
    first.rollback()
    first.close()


def _busy_timeout(session: Session) -> int:
    return int(session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar_one())


def test_request_work_runs_on_the_loop_holding_the_lock_and_commits(sqlite_engine: Engine) -> None:
    ran_in: list[int] = []

    def work() -> str:
        ran_in.append(threading.get_ident())
        session.connection().execute(text("INSERT INTO tally VALUES (1, 1)"))
        return "done"

    with Session(sqlite_engine) as session:
        assert asyncio.run(db.run_and_commit(session, work)) == "done"
        assert ran_in == [threading.get_ident()]
        assert _busy_timeout(session) == db.BUSY_SECONDS * 1000
    _insert(sqlite_engine, 2, 1)  # the lock is free
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT writer FROM tally ORDER BY writer")).scalars().all() == [1, 2]


def test_a_refusal_before_any_write_gives_the_lock_back_at_once(sqlite_engine: Engine) -> None:
    def work() -> None:
        raise Problem(422, "refused")

    with Session(sqlite_engine) as session:
        with pytest.raises(Problem):
            asyncio.run(db.run_and_commit(session, work))
        _insert(sqlite_engine, 2, 1)  # while the session is still open: would wait and fail if the lock were held
        assert _busy_timeout(session) == db.BUSY_SECONDS * 1000


def test_work_that_finds_another_process_writing_is_done_again_in_a_thread(sqlite_engine: Engine) -> None:
    other = sqlite3.connect(str(sqlite_engine.url.database), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other.execute, ["ROLLBACK"]).start()
    ran_in: list[int] = []

    def work() -> None:
        ran_in.append(threading.get_ident())
        session.connection().execute(text("INSERT INTO tally VALUES (1, 1)"))

    with Session(sqlite_engine) as session:
        asyncio.run(db.run_and_commit(session, work))
    other.close()
    assert ran_in[0] == threading.get_ident() and ran_in[1:] and ran_in[-1] != threading.get_ident()
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tally")).scalar_one() == 1


def _autocheckpoint(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("PRAGMA wal_autocheckpoint")).scalar_one())


def test_while_a_thread_checkpoints_the_engine_s_commits_do_not(sqlite_engine: Engine) -> None:
    assert _autocheckpoint(sqlite_engine) == 1000
    with db.checkpointing(sqlite_engine):
        assert _autocheckpoint(sqlite_engine) == 0
    assert _autocheckpoint(sqlite_engine) == 1000


def _fill_wal(engine: Engine, rows: int = 100) -> None:
    # 500 KB for 100 rows: under the 1,000 pages (4 MB) past which a commit writes the WAL back itself.
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS blob (b BLOB)"))
        for _ in range(rows):
            connection.execute(text("INSERT INTO blob VALUES (randomblob(5000))"))


def _wal_size(engine: Engine) -> int:
    return Path(f"{engine.url.database}-wal").stat().st_size


def test_the_checkpointing_thread_writes_the_wal_back_to_the_database(sqlite_engine: Engine, tmp_path: Path) -> None:
    database = tmp_path / "writers.db"
    before = database.stat().st_size
    _fill_wal(sqlite_engine)
    assert database.stat().st_size < before + 400_000, "the commit wrote the WAL back itself"
    with db.checkpointing(sqlite_engine, seconds=0.05):
        for _ in range(100):
            if database.stat().st_size > before + 400_000:
                break
            time.sleep(0.05)
    assert database.stat().st_size > before + 400_000, "the WAL was not written back"


def test_a_large_wal_is_cut_back_once_nothing_is_written(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WAL_KEEP_BYTES", 100_000)
    _fill_wal(sqlite_engine)
    assert _wal_size(sqlite_engine) > 400_000
    with db.checkpointing(sqlite_engine, seconds=0.05):
        for _ in range(100):
            if _wal_size(sqlite_engine) == 0:
                break
            time.sleep(0.05)
        assert _wal_size(sqlite_engine) == 0, "the WAL kept its size"
        # And the engine writes on as before.
        _fill_wal(sqlite_engine, rows=10)
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM blob")).scalar_one() == 110
        assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"


def test_a_reader_in_the_wal_keeps_it_and_keeps_no_writer_waiting(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WAL_KEEP_BYTES", 100_000)
    _fill_wal(sqlite_engine)
    path = str(sqlite_engine.url.database)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM blob").fetchone() == (100,)  # a snapshot in the WAL
    # A cut that waited for the reader would hold off every writer meanwhile: this one would give up in 0.5 s.
    writer = sqlite3.connect(path, timeout=0.5, isolation_level=None)
    try:
        with db.checkpointing(sqlite_engine, seconds=0.02):
            for n in range(10):
                time.sleep(0.1)  # five turns: time to try cutting the WAL
                writer.execute("INSERT INTO tally VALUES (0, ?)", (n,))
        assert _wal_size(sqlite_engine) > 400_000
        assert reader.execute("SELECT count(*) FROM blob").fetchone() == (100,)
    finally:
        reader.execute("ROLLBACK")
        reader.close()
        writer.close()
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM tally")).scalar_one() == 10


def test_a_server_on_a_sqlite_file_checkpoints_in_its_thread_while_it_runs(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'served.db'}", var_dir=tmp_path, secret_key="test-secret-key-for-hmac"
    )
    db.upgrade(settings.database_url)
    app = create_app(settings)
    with TestClient(app):
        assert _autocheckpoint(app.state.engine) == 0
        assert "wal-checkpoint" in {thread.name for thread in threading.enumerate()}
    assert _autocheckpoint(app.state.engine) == 1000
    assert "wal-checkpoint" not in {thread.name for thread in threading.enumerate()}
    app.state.engine.dispose()
