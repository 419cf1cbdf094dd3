"""A server loads the geography before its first request, and requests that find it missing wait for one load: loaded
by every request that placed a postcode at once, it held up every request of a SQLite server for about a second
(bench/README.md, "Soak")."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings
from signpost.geography import service as geography
from tests.factories import sql_sent


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'served.db'}", var_dir=tmp_path, secret_key="test-secret-key-for-hmac"
    )


def test_the_first_postcode_a_server_places_reads_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    db.upgrade(settings.database_url)
    app = create_app(settings)
    with TestClient(app), sql_sent(app.state.engine) as statements, Session(app.state.engine) as session:
        place = geography.resolve(session, "LS6 2QT", settings=settings)
    app.state.engine.dispose()
    assert place.postcode == "LS6 2QT"
    assert statements == []


def test_a_server_starts_on_a_database_not_ready_to_load_it(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    app = create_app(_settings(tmp_path))  # no migrations: no geography tables
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
    app.state.engine.dispose()
    assert "the geography was not loaded before the first request (OperationalError)" in capfd.readouterr().err


def _engine(tmp_path: Path) -> Engine:
    settings = _settings(tmp_path)
    db.upgrade(settings.database_url)
    return db.make_engine(settings.database_url)


def test_requests_that_find_no_geography_wait_for_one_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(tmp_path)
    geography.invalidate_cache()
    builds: list[int] = []
    build = geography._build

    def slow_build(session: Session, generation: int) -> Any:
        builds.append(generation)
        time.sleep(0.2)  # long enough for every other request to arrive meanwhile
        return build(session, generation)

    monkeypatch.setattr(geography, "_build", slow_build)

    def place(_: int) -> geography.Place:
        with Session(engine) as session:
            return geography.resolve(session, "LS6 2QT")

    with ThreadPoolExecutor(8) as pool:
        places = list(pool.map(place, range(8)))
    engine.dispose()
    assert len(builds) == 1
    assert {p.postcode for p in places} == {"LS6 2QT"}


def test_requests_carry_on_with_the_geography_held_while_one_checks_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(tmp_path)
    geography.invalidate_cache()
    with Session(engine) as session:
        held = geography._snapshot(session)
    held.checked_at -= 3600  # due for its check
    checking, release = threading.Event(), threading.Event()
    checks: list[threading.Thread] = []
    generation = geography._generation

    def slow_generation(session: Session) -> int:
        checks.append(threading.current_thread())
        checking.set()
        release.wait(10)
        return generation(session)

    monkeypatch.setattr(geography, "_generation", slow_generation)

    def check() -> None:
        with Session(engine) as session:
            geography._snapshot(session)

    checker = threading.Thread(target=check)
    checker.start()
    try:
        assert checking.wait(10)
        with Session(engine) as session:
            assert geography._snapshot(session) is held
        assert checks == [checker]  # answered without checking again or waiting for the check
    finally:
        release.set()
        checker.join()
    engine.dispose()
    assert time.monotonic() - held.checked_at < 60  # the check found nothing new, and says so
