"""`signpost geography import …` and `status`, on a database of their own (the commands commit)."""

from pathlib import Path

import pytest
from rich.console import Console
from sqlmodel import Session
from typer.testing import CliRunner

from signpost import db
from signpost.cli import app
from signpost.config import get_settings
from signpost.geography import service as geography
from signpost.geography.starter import load_starter_geography
from tests.geography.support import GEO_DATA, SYNTHETIC_NSPL, require_geo_data


@pytest.fixture
def cli_env(engine, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    # `engine` first: alembic must be imported before CliRunner swaps sys.stdout (its Config keeps that stream).
    monkeypatch.setenv("SIGNPOST_DATABASE_URL", f"sqlite:///{tmp_path / 'geo-cli.db'}")
    monkeypatch.setenv("SIGNPOST_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    yield runner
    geography.invalidate_cache()
    get_settings.cache_clear()


def test_import_prints_a_summary_of_what_was_loaded_and_skipped(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(app, ["geography", "import", "nspl", str(SYNTHETIC_NSPL)])
    assert result.exit_code == 0, result.output
    assert "loaded: postcodes" in result.stdout and "skipped: terminated" in result.stdout


def test_bad_file_exits_2_naming_file_and_line(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "wards.csv"
    bad.write_text("nothing,useful\n1,2\n")
    result = cli_env.invoke(app, ["geography", "import", "ward-crosswalk", str(bad)])
    assert result.exit_code == 2
    assert "wards.csv, line 1" in result.output and "Nothing was changed" in result.output


def test_status_says_when_nothing_is_loaded(cli_env) -> None:  # type: ignore[no-untyped-def]
    result = cli_env.invoke(app, ["geography", "status"])
    assert result.exit_code == 0
    assert "No geography loaded" in result.stdout


def test_status_shows_tables_vintages_and_imd_year(cli_env) -> None:  # type: ignore[no-untyped-def]
    require_geo_data()
    for kind, name in (("lsoa-ward", "leeds_LSOA11_to_WD18.csv"), ("imd", "leeds_LSOA11_WD18_IMD2019_decile.csv")):
        assert cli_env.invoke(app, ["geography", "import", kind, str(GEO_DATA / name)]).exit_code == 0
    result = cli_env.invoke(app, ["geography", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "lsoas" in result.stdout and "482" in result.stdout and "IMD year 2019" in result.stdout


def test_starter_loader_loads_leeds_and_skips_on_rerun(cli_env) -> None:  # type: ignore[no-untyped-def]
    require_geo_data()
    settings = get_settings()
    console = Console(record=True, width=200)
    with Session(db.get_engine(settings)) as session:
        load_starter_geography(session, settings, console)
        session.commit()
        assert len(geography.list_wards(session)) == 33
        load_starter_geography(session, settings, console)
        session.commit()
    assert console.export_text().count("leeds_LSOA11_to_WD18.csv") == 1


def test_starter_loader_without_files_says_so(cli_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = get_settings().model_copy(update={"geography_data_dir": tmp_path / "none"})
    console = Console(record=True, width=200)
    with Session(db.get_engine(settings)) as session:
        load_starter_geography(session, settings, console)
    assert "no reference files" in console.export_text()


def test_make_serve_loads_geography_before_the_directory() -> None:
    from signpost.bootstrap import starter_loaders

    assert starter_loaders()[0] is load_starter_geography
