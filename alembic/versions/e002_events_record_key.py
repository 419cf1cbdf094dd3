"""events: a random record key on every event, for the indicators' cell-key perturbation

Each event gets a key drawn uniformly from 0..255 by the database when it is inserted (existing events get one
each here). A published cell's key is the sum of its events' keys mod 256, so the same cell always gets the same
noise (signpost.indicators.suppression). The key says nothing about anyone: it is random and never published.

Revision ID: e002
Revises: e001
Create Date: 2026-12-04 14:20:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'e002'
down_revision: Union[str, Sequence[str], None] = 'e001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# A volatile default: every row (old ones included) gets its own key. SQLite cannot ADD COLUMN with a non-constant
# default, so there the table is rebuilt (batch mode), which draws a key for every copied row.
RANDOM_KEY = {
    'postgresql': 'floor(random() * 256)::smallint',
    'sqlite': '(abs(random()) % 256)',
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    column = sa.Column('record_key', sa.SmallInteger(), nullable=False, server_default=sa.text(RANDOM_KEY[dialect]))
    if dialect == 'sqlite':
        with op.batch_alter_table('signpost_event', recreate='always') as batch_op:
            batch_op.add_column(column)
    else:
        op.add_column('signpost_event', column)


def downgrade() -> None:
    with op.batch_alter_table('signpost_event') as batch_op:
        batch_op.drop_column('record_key')
