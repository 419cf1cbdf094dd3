"""Settings: production refuses to start without secrets; development makes them, owner-only; each app serves
the database its own settings name."""

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from signpost import db
from signpost.app import create_app
from signpost.config import Settings, load_dev_secrets
from tests.directory.factories import make_service


def test_production_refuses_to_start_without_secrets() -> None:
    with pytest.raises(ValidationError, match="SIGNPOST_SECRET_KEY"):
        Settings(environment="production", database_url="postgresql://x@localhost/db", secret_key="")


def test_development_generates_a_secret_file_readable_only_by_the_owner(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = load_dev_secrets(Settings(var_dir=tmp_path, secret_key=""))
    path = tmp_path / "secrets.json"
    assert settings.secret_key and len(settings.secret_key) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_dev_secrets(Settings(var_dir=tmp_path, secret_key=""))
    assert again.secret_key == settings.secret_key


def _directory_of_one(tmp_path: Path, name: str) -> Settings:
    """Settings naming a database of its own (migrated, committed) that holds one service called `name`."""
    url = f"sqlite:///{tmp_path / name}.db"
    db.upgrade(url)
    engine = db.make_engine(url)
    with Session(engine) as session:
        make_service(session, name=name)
        session.commit()
    engine.dispose()
    return Settings(
        database_url=url, var_dir=tmp_path / name, secret_key="two-apps", fold_seconds=0, retention_seconds=0
    )


def test_two_apps_in_one_process_each_serve_the_database_their_settings_name(tmp_path: Path) -> None:
    first, second = _directory_of_one(tmp_path, "zqfirstdirectory"), _directory_of_one(tmp_path, "zqseconddirectory")
    seen = {}
    with TestClient(create_app(first)) as one, TestClient(create_app(second)) as other:
        for client, settings in ((one, first), (other, second)):
            assert client.get("/readyz").status_code == 200
            answer = client.get("/openreferral/services", params={"per_page": 50})
            assert answer.status_code == 200, answer.text
            seen[settings.database_url] = {s["name"] for s in answer.json()["contents"]}
    assert seen == {first.database_url: {"zqfirstdirectory"}, second.database_url: {"zqseconddirectory"}}
