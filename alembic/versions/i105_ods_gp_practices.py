"""ods: NHS Digital's list of GP practices (epraccur), to check practice codes against once loaded

Revision ID: i105
Revises: i005
Create Date: 2026-12-04 14:35:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'i105'
down_revision: Union[str, Sequence[str], None] = 'i005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'ods_practice',
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column('open_date', sa.Date(), nullable=True),
        sa.Column('close_date', sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_ods_practice')),
    )


def downgrade() -> None:
    op.drop_table('ods_practice')
