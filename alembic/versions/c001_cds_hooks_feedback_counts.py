"""cds hooks feedback counts

Revision ID: c001
Revises: 0001
Create Date: 2026-12-04 14:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = 'c001'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cds_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('service_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('accepted_suggestions', sa.Integer(), nullable=False),
    sa.Column('override_reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cds_feedback'))
    )
    op.create_index(op.f('ix_cds_feedback_day'), 'cds_feedback', ['day'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cds_feedback_day'), table_name='cds_feedback')
    op.drop_table('cds_feedback')
