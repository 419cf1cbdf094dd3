"""What a worker remembers of the database is renewed in the background before it runs out, by one read at a time,
and never believed once it has."""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from signpost import db, remember
from signpost.remember import Remembered


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(remember, "monotonic", clock)
    return clock


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'remember.db'}")
    yield engine
    engine.dispose()


class Source:
    """What the database says, read through a real session; counts the reads and can hold one back."""

    def __init__(self, values: dict[str, int]) -> None:
        self.values = values
        self.reads: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def read(self, session: Session, keys: list[str]) -> dict[str, int]:
        session.connection().execute(text("SELECT 1"))
        self.reads.append(keys)
        self.release.wait(5)
        return {key: self.values[key] for key in keys if key in self.values}


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not check():
        assert time.monotonic() < deadline, "the background renewal did not happen"
        time.sleep(0.01)


def test_a_value_is_believed_until_it_runs_out(engine: Engine, clock: Clock) -> None:
    remembered = Remembered("test values", Source({"a": 1}).read)
    remembered.keep({"a": 1}, ["a"], clock.now)
    with Session(engine) as session:
        clock.now += 4.9
        assert remembered.held(["a"], 5, session) == {"a": 1}
        clock.now += 0.1
        assert remembered.held(["a"], 5, session) == {}  # 5 s on: the caller reads it itself


def test_past_half_its_time_a_value_is_served_and_renewed_by_one_background_read(engine: Engine, clock: Clock) -> None:
    source = Source({"a": 1, "b": 2})
    remembered = Remembered("test values", source.read)
    remembered.keep({"a": 1, "b": 2}, ["a", "b"], clock.now)
    source.values = {"a": 10, "b": 20}
    source.release.clear()  # hold the renewal back while more callers come
    clock.now += 3
    with Session(engine) as session:
        for _ in range(20):
            assert remembered.held(["a", "b"], 5, session) == {"a": 1, "b": 2}  # no caller waits for the read
        source.release.set()
        _eventually(lambda: remembered.held(["a", "b"], 5, session) == {"a": 10, "b": 20})
    assert source.reads == [["a", "b"]]  # twenty callers, one read
    clock.now += 4.9  # renewed as of the read, not of the first value
    with Session(engine) as session:
        assert remembered.held(["a", "b"], 5, session) == {"a": 10, "b": 20}


def test_a_key_the_renewal_no_longer_finds_is_forgotten(engine: Engine, clock: Clock) -> None:
    source = Source({"a": 1, "b": 2})
    remembered = Remembered("test values", source.read)
    remembered.keep({"a": 1, "b": 2}, ["a", "b"], clock.now)
    del source.values["b"]  # revoked, say
    clock.now += 3
    with Session(engine) as session:
        remembered.held(["a", "b"], 5, session)
        _eventually(lambda: remembered.held(["a", "b"], 5, session) == {"a": 1})


def test_what_a_renewal_read_before_forget_is_not_kept(engine: Engine, clock: Clock) -> None:
    source = Source({"a": 1})
    remembered = Remembered("test values", source.read)
    remembered.keep({"a": 1}, ["a"], clock.now)
    source.release.clear()
    clock.now += 3
    with Session(engine) as session:
        remembered.held(["a"], 5, session)
        _eventually(lambda: source.reads == [["a"]])  # the renewal has read, and waits
        clock.now += 0.1
        remembered.forget()  # as revoking a key does, while the renewal holds what it read before
        source.release.set()
        time.sleep(0.2)
        assert remembered.held(["a"], 5, session) == {}


def test_a_session_bound_to_a_connection_gets_no_background_renewal(engine: Engine, clock: Clock) -> None:
    source = Source({"a": 1})
    remembered = Remembered("test values", source.read)
    remembered.keep({"a": 1}, ["a"], clock.now)
    clock.now += 3
    with engine.connect() as connection, Session(bind=connection) as session:
        assert remembered.held(["a"], 5, session) == {"a": 1}
    time.sleep(0.1)
    assert source.reads == []  # a thread of its own could not share a test's rolled-back connection


def test_a_renewal_that_fails_is_logged_and_the_value_runs_out_as_before(
    engine: Engine, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    tries = []

    def broken(session: Session, keys: list[str]) -> dict[str, int]:
        tries.append(keys)
        session.connection().execute(text("SELECT * FROM no_such_table WHERE secret = 'sp_hidden'"))
        return {}

    remembered = Remembered("test values", broken)
    remembered.keep({"a": 1}, ["a"], clock.now)
    clock.now += 3
    with caplog.at_level(logging.WARNING, logger="signpost.remember"), Session(engine) as session:
        assert remembered.held(["a"], 5, session) == {"a": 1}
        _eventually(lambda: bool(caplog.records))
        for _ in range(5):
            assert remembered.held(["a"], 5, session) == {"a": 1}  # still believed until its time is up
        clock.now += 2
        assert remembered.held(["a"], 5, session) == {}
    assert tries == [["a"]]  # not tried again by every caller while the database is away
    # The error's class, not its text: a statement's text and parameters stay out of the log.
    assert caplog.messages == ["Could not renew the remembered test values (OperationalError)."]


def test_a_value_read_again_after_a_failed_renewal_is_renewed_again(engine: Engine, clock: Clock) -> None:
    source = Source({"a": 1})
    remembered = Remembered("test values", source.read)
    remembered.keep({"a": 1}, ["a"], clock.now)
    source.values = {}  # read as "gone": the renewal forgets it
    clock.now += 3
    with Session(engine) as session:
        remembered.held(["a"], 5, session)
        _eventually(lambda: remembered.held(["a"], 5, session) == {})
        source.values = {"a": 2}
        remembered.keep({"a": 2}, ["a"], clock.now)  # a caller read it itself
        clock.now += 3
        assert remembered.held(["a"], 5, session) == {"a": 2}
        _eventually(lambda: len(source.reads) == 2)
