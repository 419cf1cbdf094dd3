"""Migration e003 on PostgreSQL: the event table becomes partitioned by month with every row it held, and back."""

from datetime import date

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from alembic import command
from signpost import db
from signpost.events import store
from signpost.events.models import NewEvent

ROWS = [(1, "2019-04-30", "homeless", 7), (2, "2019-04-01", "carer", 200), (3, "2026-01-15", "isolation", 0)]


def _table(engine: Engine) -> list[tuple[int, str, str, int]]:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT id, occurred_on::text, need_code, record_key FROM signpost_event ORDER BY id")
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


def test_upgrade_partitions_a_table_with_events_in_it_and_downgrade_puts_them_back(committed_engine: Engine) -> None:
    if committed_engine.dialect.name != "postgresql":
        pytest.skip("a no-op on SQLite")
    config = db.alembic_config(str(committed_engine.url.render_as_string(hide_password=False)))
    command.downgrade(config, "e002")
    with committed_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO event_submission (id, key_hmac, source, created_at, event_count)"
                " VALUES (1, 'k', 'template', now(), 3)"
            )
        )
        for id_, day, need, key in ROWS:
            connection.execute(
                text(
                    "INSERT INTO signpost_event (id, submission_id, occurred_on, kind, source, need_code,"
                    " services_offered, age_band, record_key)"
                    " VALUES (:id, 1, :day, 'signposted', 'template', :need, '[]', 'unknown', :key)"
                ),
                {"id": id_, "day": day, "need": need, "key": key},
            )
        connection.execute(text("SELECT setval('signpost_event_id_seq', 3), setval('event_submission_id_seq', 1)"))
    command.upgrade(config, "heads")
    committed_engine.dispose()
    assert _table(committed_engine) == [(i, d, n, k) for i, d, n, k in ROWS]
    with Session(committed_engine) as session:
        months = store.month_partitions(session)
        placed = dict(session.execute(text("SELECT id, tableoid::regclass::text FROM signpost_event")).tuples().all())
        assert placed == {1: "signpost_event_2019_04", 2: "signpost_event_2019_04", 3: "signpost_event_2026_01"}
        assert set(months.values()) >= {"signpost_event_2019_04", "signpost_event_2026_01"}
        # The sequence carried over: a new event takes the next id, and a new submission is still pending.
        new = NewEvent(occurred_on=date(2019, 4, 2), kind="referred", source="template", need_code="carer")
        assert store.record(session, key="after", source="template", events=[new])
        session.commit()
        assert session.execute(text("SELECT max(id) FROM signpost_event")).scalar() == 4
        assert session.execute(text("SELECT count(*) FROM indicator_pending")).scalar() == 1
    command.downgrade(config, "e002")
    committed_engine.dispose()
    with committed_engine.connect() as connection:
        kind = connection.execute(text("SELECT relkind FROM pg_class WHERE oid = 'signpost_event'::regclass"))
        assert kind.scalar() == "r"
    assert [row[0] for row in _table(committed_engine)] == [1, 2, 3, 4]
