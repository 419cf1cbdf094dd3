"""referrals: a random record key on every referral, and each outcome cell's key (for cell-key perturbation)

As events (e002, i005): each referral gets a key drawn uniformly from 0..255 by the database on insert (existing
rows get one each here); each outcome roll-up cell keeps the sum of the keys of the referrals counted in it, mod
256, so published outcome counts are perturbed like every other count (signpost.indicators.suppression). Cells
counted before this revision keep key 0 (r001 was never released, so none are expected).

Revision ID: r002
Revises: r001
Create Date: 2026-12-04 15:50:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r002'
down_revision: Union[str, Sequence[str], None] = 'r001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A volatile default, as in e002; SQLite cannot ADD COLUMN with one, so there the table is rebuilt.
RANDOM_KEY = {
    'postgresql': 'floor(random() * 256)::smallint',
    'sqlite': '(abs(random()) % 256)',
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    column = sa.Column('record_key', sa.SmallInteger(), nullable=False, server_default=sa.text(RANDOM_KEY[dialect]))
    if dialect == 'sqlite':
        with op.batch_alter_table('referral', recreate='always') as batch_op:
            batch_op.add_column(column)
    else:
        op.add_column('referral', column)
    op.add_column('referral_outcome', sa.Column('cell_key', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('referral_outcome') as batch_op:
        batch_op.drop_column('cell_key')
    with op.batch_alter_table('referral') as batch_op:
        batch_op.drop_column('record_key')
