"""indicators: submissions whose events the roll-ups do not hold yet

A request that records events now adds one row here instead of adding to 32 roll-up cells; `rollup.fold` moves
the events into the roll-ups in batches, and reports add the pending events to what they read.

Revision ID: i004
Revises: i003, e001 (it refers to event_submission)
Create Date: 2026-12-01 11:05:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'i004'
down_revision: Union[str, Sequence[str], None] = ('i003', 'e001')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'indicator_pending',
        sa.Column('submission_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ['submission_id'],
            ['event_submission.id'],
            name=op.f('fk_indicator_pending_submission_id_event_submission'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('submission_id', name=op.f('pk_indicator_pending')),
    )


def downgrade() -> None:
    # The pending events would be lost from the roll-ups: run `signpost indicators rebuild` after downgrading.
    op.drop_table('indicator_pending')
