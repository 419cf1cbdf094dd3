"""`signpost keys`: the key alone on the last line, list without secrets, revoke."""

import pytest
from typer.testing import CliRunner

from signpost.cli import app
from signpost.config import get_settings


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


def test_keys_create_prints_the_key_alone_on_the_last_line(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(
        app, ["keys", "create", "--role", "clinician", "--name", "Practice A", "--practice", "B86001"]
    )
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("sp_") and " " not in last

    listed = cli_env.invoke(app, ["keys", "list"])
    assert "Practice A" in listed.stdout and last not in listed.stdout

    revoked = cli_env.invoke(app, ["keys", "revoke", "1"])
    assert revoked.exit_code == 0 and "Revoked key 1" in revoked.stdout


def test_keys_create_rejects_an_unknown_role(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(app, ["keys", "create", "--role", "wizard", "--name", "x"])
    assert result.exit_code == 2
    assert "Unknown role" in result.output


def test_revoking_a_missing_key_says_so(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(app, ["keys", "revoke", "999"])
    assert result.exit_code == 2 and "no key 999" in result.output


def test_users_create_asks_for_the_password_and_keeps_only_its_hash(cli_env) -> None:  # type: ignore[no-untyped-def]
    secret = "correct horse battery staple"
    result = cli_env.invoke(
        app, ["users", "create", "--username", "a.prescriber", "--role", "prescriber"], input=f"{secret}\n{secret}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created user 1 (a.prescriber, prescriber)" in result.stdout
    assert secret not in result.stdout

    from sqlalchemy import create_engine, text

    engine = create_engine(get_settings().effective_database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM web_user")).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2") and secret not in stored

    listed = cli_env.invoke(app, ["users", "list"])
    assert "a.prescriber" in listed.stdout and "$argon2" not in listed.stdout
    disabled = cli_env.invoke(app, ["users", "disable", "1"])
    assert disabled.exit_code == 0 and "Disabled user 1" in disabled.stdout


def test_users_create_names_what_is_wrong(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(app, ["users", "create", "--username", "X", "--role", "wizard", "--password", "short"])
    assert result.exit_code == 2
    assert "username" in result.output and "password" in result.output and "role" in result.output
    assert cli_env.invoke(app, ["users", "disable", "7"]).exit_code == 2
