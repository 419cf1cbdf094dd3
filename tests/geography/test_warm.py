"""A server loads the geography before its first request: loaded by the first request that placed a postcode, it
held up every request of a SQLite server for about a second (bench/README.md, "Soak")."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings
from signpost.geography import service as geography


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'served.db'}", var_dir=tmp_path, secret_key="test-secret-key-for-hmac"
    )


def test_the_first_postcode_a_server_places_reads_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    db.upgrade(settings.database_url)
    app = create_app(settings)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    with TestClient(app):
        event.listen(app.state.engine, "before_cursor_execute", seen)
        with Session(app.state.engine) as session:
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
