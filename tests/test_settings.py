"""Settings: production refuses to start without secrets; development makes them, owner-only."""

import stat

import pytest
from pydantic import ValidationError

from signpost.config import Settings, load_dev_secrets


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
