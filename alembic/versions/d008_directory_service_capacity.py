"""directory: a service's stated capacity to take referrals

Revision ID: d008
Revises: d004
Create Date: 2026-12-04 14:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'd008'
down_revision: Union[str, Sequence[str], None] = 'd004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('service_capacity',
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('wait_band', sa.String(length=20), nullable=True),
    sa.Column('set_on', sa.Date(), nullable=False),
    sa.Column('set_by', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_service_capacity_service_id_service')),
    sa.PrimaryKeyConstraint('service_id', name=op.f('pk_service_capacity'))
    )


def downgrade() -> None:
    op.drop_table('service_capacity')
