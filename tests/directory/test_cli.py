"""`signpost directory load`: loads the starter content once; repeating it changes nothing."""

import json

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from signpost import db
from signpost.cli import app
from signpost.config import data_dir, get_settings
from signpost.directory.models import Service


@pytest.fixture
def cli_env(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    # Its own embedded database: the command commits, which the shared test database must not see.
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("SIGNPOST_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def test_load_twice_creates_the_starter_services_once(cli_env) -> None:  # type: ignore[no-untyped-def]
    expected = len(json.loads((data_dir("directory") / "services.json").read_text())["services"])
    first = cli_env.invoke(app, ["directory", "load"])
    assert first.exit_code == 0, first.output
    assert f"{expected} created (unverified)" in first.output
    second = cli_env.invoke(app, ["directory", "load"])
    assert "0 created" in second.output and f"{expected} already held" in second.output
    with Session(db.get_engine()) as session:
        assert session.exec(select(func.count()).select_from(Service)).one() == expected
