"""events: on PostgreSQL, signpost_event partitioned by the month of occurred_on (a no-op on SQLite)

The table is rebuilt as a declaratively partitioned one (RANGE on occurred_on) and every row copied in: a partition
for each month that holds events, for this month and the next three, and a default partition for any other day.
Later months are made ahead by the periodic job (`events.store.ensure_partitions`), and retention drops a past month
as a whole partition. PostgreSQL wants the partition key in every unique constraint, so the primary key becomes
(id, occurred_on); ids still come from the same sequence. The submission keys stay unique on event_submission,
which is not partitioned.

Revision ID: e003
Revises: e002
Create Date: 2026-12-04 17:30:00.000000
"""
from datetime import date
from typing import Sequence, Union

from alembic import op


revision: str = 'e003'
down_revision: Union[str, Sequence[str], None] = 'e002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

MONTHS_AHEAD = 3
COLUMNS = (
    "id, submission_id, occurred_on, kind, source, need_code, category_code, services_offered, ward_code,"
    " ward_vintage, imd_decile, imd_year, age_band, practice_ods, record_key"
)
DEFINITION = """(
    id INTEGER NOT NULL DEFAULT nextval('signpost_event_id_seq'),
    submission_id INTEGER NOT NULL,
    occurred_on DATE NOT NULL,
    kind VARCHAR(20) NOT NULL,
    source VARCHAR(20) NOT NULL,
    need_code VARCHAR(64) NOT NULL,
    category_code VARCHAR(64),
    services_offered JSON NOT NULL,
    ward_code VARCHAR(9),
    ward_vintage INTEGER,
    imd_decile INTEGER,
    imd_year INTEGER,
    age_band VARCHAR(16) NOT NULL,
    practice_ods VARCHAR(10),
    record_key SMALLINT NOT NULL DEFAULT floor(random() * 256)::smallint,
    CONSTRAINT pk_signpost_event PRIMARY KEY ({key}),
    CONSTRAINT fk_signpost_event_submission_id_event_submission FOREIGN KEY (submission_id)
        REFERENCES event_submission (id)
)"""


def _next(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _set_aside() -> None:
    """Rename the table and what is named after it, so the new one can take the names."""
    op.execute("ALTER TABLE signpost_event RENAME TO signpost_event_old")
    op.execute("ALTER TABLE signpost_event_old RENAME CONSTRAINT pk_signpost_event TO pk_signpost_event_old")
    op.execute(
        "ALTER TABLE signpost_event_old RENAME CONSTRAINT fk_signpost_event_submission_id_event_submission"
        " TO fk_signpost_event_old_submission"
    )
    op.execute("ALTER INDEX ix_signpost_event_occurred_on RENAME TO ix_signpost_event_old_occurred_on")
    op.execute("ALTER INDEX ix_signpost_event_submission_id RENAME TO ix_signpost_event_old_submission_id")


def _finish() -> None:
    """Indexes on the new table, the sequence handed over, the data copied, the old table dropped."""
    op.execute("CREATE INDEX ix_signpost_event_occurred_on ON signpost_event (occurred_on)")
    op.execute("CREATE INDEX ix_signpost_event_submission_id ON signpost_event (submission_id)")
    op.execute("ALTER SEQUENCE signpost_event_id_seq OWNED BY signpost_event.id")
    op.execute(f"INSERT INTO signpost_event ({COLUMNS}) SELECT {COLUMNS} FROM signpost_event_old")
    op.execute("DROP TABLE signpost_event_old")
    op.execute("ANALYZE signpost_event")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != 'postgresql':
        return
    _set_aside()
    op.execute(f"CREATE TABLE signpost_event {DEFINITION.format(key='id, occurred_on')} PARTITION BY RANGE (occurred_on)")
    op.execute("CREATE TABLE signpost_event_default PARTITION OF signpost_event DEFAULT")
    held = connection.exec_driver_sql(
        "SELECT DISTINCT date_trunc('month', occurred_on)::date FROM signpost_event_old"
    ).scalars()
    months = set(held)
    month = date.today().replace(day=1)
    for _ in range(MONTHS_AHEAD + 1):
        months.add(month)
        month = _next(month)
    for month in sorted(months):
        op.execute(
            f"CREATE TABLE signpost_event_{month:%Y_%m} PARTITION OF signpost_event"
            f" FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')"
        )
    _finish()


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    _set_aside()
    op.execute(f"CREATE TABLE signpost_event {DEFINITION.format(key='id')}")
    _finish()  # dropping the partitioned table drops its partitions
