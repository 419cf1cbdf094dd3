"""Request-scoped transactions: the session dependency commits once when a route succeeds (before the answer goes
out) and rolls back when it raises; routes do not commit. On a database of its own, where commits are real."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from signpost.app import create_app
from signpost.auth import Public
from signpost.auth import service as keys
from signpost.auth.models import ApiKey
from signpost.config import Settings
from signpost.db import SessionDep
from signpost.errors import Problem
from tests.factories import bearer


@pytest.fixture
def app(committed_engine: Engine, tmp_path: Path) -> FastAPI:
    """The real app on the committed database, with no session override, plus three routes that only write."""
    url = committed_engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, var_dir=tmp_path, secret_key="tx", fold_seconds=0, retention_seconds=0)
    application = create_app(settings)

    def keep(session: SessionDep) -> dict[str, str]:
        keys.create_key(session=session, role="analyst", name="kept")
        return {"done": "yes"}

    def fail(session: SessionDep) -> None:
        keys.create_key(session=session, role="analyst", name="half-written")
        session.flush()
        raise Problem(422, "Refused after writing.")

    def conflict(session: SessionDep) -> dict[str, str]:
        held = session.exec(select(ApiKey)).first()
        assert held is not None
        # Not flushed: the duplicate reaches the database only at the dependency's commit.
        twin = ApiKey(name="twin", role="analyst", prefix="x", key_hash=held.key_hash, created_at=datetime.now(UTC))
        session.add(twin)
        return {"done": "yes"}

    for path, endpoint in (("/_tx/keep", keep), ("/_tx/fail", fail), ("/_tx/conflict", conflict)):
        application.add_api_route(path, endpoint, methods=["POST"], dependencies=[Public])
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _names(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.exec(select(ApiKey.name)).all())


def test_what_a_successful_route_wrote_is_committed_without_the_route_committing(
    client: TestClient, committed_engine: Engine
) -> None:
    assert client.post("/_tx/keep").status_code == 200
    assert _names(committed_engine) == ["kept"]


def test_what_a_route_wrote_before_it_raised_is_rolled_back(client: TestClient, committed_engine: Engine) -> None:
    answer = client.post("/_tx/fail")
    assert answer.status_code == 422 and answer.json()["detail"] == "Refused after writing."
    assert _names(committed_engine) == []


def test_a_commit_that_fails_is_answered_as_the_conflict_not_as_success(
    client: TestClient, committed_engine: Engine
) -> None:
    client.post("/_tx/keep")
    answer = client.post("/_tx/conflict")
    assert answer.status_code == 409, answer.text
    assert _names(committed_engine) == ["kept"]


def test_a_real_route_that_no_longer_commits_still_stores_its_change(
    client: TestClient, committed_engine: Engine
) -> None:
    with Session(committed_engine) as session:
        _, admin = keys.create_key(session=session, role="admin", name="admin")
        session.commit()
    answer = client.post("/api/v1/admin/keys", headers=bearer(admin), json={"role": "prescriber", "name": "front desk"})
    assert answer.status_code == 201, answer.text
    assert _names(committed_engine) == ["admin", "front desk"]
