"""indicators: a new submission is marked pending by a trigger on event_submission, not by the events' code

The events' store writes only its own tables; this trigger, owned by the indicators, adds the pending row (inside the
recording transaction, so the roll-ups cannot miss a submission, and reports count its events from its commit on).
PostgreSQL: one statement-level trigger with a transition table (one call per recording statement, however many
submissions it claims). SQLite: a row trigger. A submission claimed again (ON CONFLICT DO NOTHING) inserts no row,
so fires nothing. Note: on SQLite, a later migration that recreates event_submission (batch mode) must recreate this.

Revision ID: i006
Revises: i105
Create Date: 2026-12-04 17:30:00.000000
"""
from typing import Sequence, Union

from alembic import op


revision: str = 'i006'
down_revision: Union[str, Sequence[str], None] = 'i105'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
CREATE FUNCTION indicator_mark_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO indicator_pending (submission_id) SELECT id FROM claimed WHERE event_count > 0 ORDER BY id;
    RETURN NULL;
END
$$""")
        op.execute("""
CREATE TRIGGER event_submission_pending AFTER INSERT ON event_submission
REFERENCING NEW TABLE AS claimed FOR EACH STATEMENT EXECUTE FUNCTION indicator_mark_pending()""")
    else:
        op.execute("""
CREATE TRIGGER event_submission_pending AFTER INSERT ON event_submission WHEN NEW.event_count > 0
BEGIN
    INSERT INTO indicator_pending (submission_id) VALUES (NEW.id);
END""")


def downgrade() -> None:
    # Recording then marks nothing pending: downgrade the code with it, and run `signpost indicators rebuild`.
    op.execute('DROP TRIGGER event_submission_pending' + (' ON event_submission' if op.get_bind().dialect.name == 'postgresql' else ''))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION indicator_mark_pending()')
