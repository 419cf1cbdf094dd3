"""Migrations: upgrade, no drift, downgrade to base, upgrade again, on whichever database is in use."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from alembic import command
from signpost import db
from signpost.directory.fulltext import include_name


def test_upgrade_check_downgrade_upgrade(engine, settings) -> None:  # type: ignore[no-untyped-def]
    config = db.alembic_config(settings.database_url)
    command.upgrade(config, "heads")
    with engine.connect() as connection:
        opts = {
            "compare_type": True,
            "include_name": include_name,  # the full-text index is not a table
            "include_object": db.include_object_for(connection.dialect.name),
        }
        diff = compare_metadata(MigrationContext.configure(connection, opts=opts), db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    command.check(config)

    command.downgrade(config, "base")
    engine.dispose()
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

    command.upgrade(config, "heads")
    engine.dispose()
    current, heads = db.migration_state(engine)
    assert current == heads
    assert "api_key" in inspect(engine).get_table_names()


def test_upgrade_is_idempotent(engine, settings) -> None:  # type: ignore[no-untyped-def]
    db.upgrade(settings.database_url)
    db.upgrade(settings.database_url)
    current, heads = db.migration_state(engine)
    assert current == heads
