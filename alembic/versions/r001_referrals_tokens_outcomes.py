"""referrals: referral rows under a token HMAC, outcome roll-up, provider keys' organisation

Revision ID: r001
Revises: 0001
Create Date: 2026-12-04 14:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision: str = 'r001'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organization_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_key_organization_id'), ['organization_id'], unique=False)
    op.create_table('referral',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('token_hmac', sa.String(length=64), nullable=False),
    sa.Column('token_hint', sa.String(length=4), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('organization_id', sa.String(length=64), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=True),
    sa.Column('ward_code', sa.String(length=9), nullable=True),
    sa.Column('ward_vintage', sa.Integer(), nullable=True),
    sa.Column('imd_decile', sa.Integer(), nullable=True),
    sa.Column('imd_year', sa.Integer(), nullable=True),
    sa.Column('practice_ods', sa.String(length=10), nullable=True),
    sa.Column('referrer', sa.String(length=80), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_reason', sa.String(length=30), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('token_hmac', name=op.f('uq_referral_token_hmac'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_owner_changed', ['organization_id', 'changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_referrer'), ['referrer'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_closed_on'), ['closed_on'], unique=False)
    op.create_table('referral_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('need_code', sa.String(length=64), nullable=False),
    sa.Column('category_code', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('ward_code', sa.String(length=9), nullable=False),
    sa.Column('imd_decile', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=40), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('days_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_outcome')),
    sa.UniqueConstraint('month', 'need_code', 'category_code', 'service_id', 'ward_code', 'imd_decile', 'measure', name='uq_referral_outcome_cell')
    )
    with op.batch_alter_table('referral_outcome', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_outcome_month'), ['month'], unique=False)


def downgrade() -> None:
    op.drop_table('referral_outcome')
    op.drop_table('referral')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_organization_id'))
        batch_op.drop_column('organization_id')
