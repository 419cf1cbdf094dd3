"""indicators: each roll-up cell keeps its cell key (the sum of its events' record keys, mod 256)

Reports combine cells of several periods and cubes: (a + b) mod 256 = ((a mod 256) + (b mod 256)) mod 256, so a
report's cell key comes from the roll-ups alone. Cells folded before this revision have key 0: run
`signpost indicators rebuild` once after upgrading to give them their events' keys.
On SQLite the covering indexes of the small cubes carry the key too (reports read it with n).
`indicator_retention` holds the first day whose raw events are kept (storage limitation, `retention.retain`):
before it the roll-ups are the only record, and a rebuild keeps them.

Revision ID: i005
Revises: i004, e002
Create Date: 2026-12-04 14:20:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'i005'
down_revision: Union[str, Sequence[str], None] = ('i004', 'e002')
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AREA = ['need_code', 'ward_code', 'imd_decile', 'ward_vintage', 'imd_year']
COVERED = {
    'year_area': AREA,
    'quarter_area': AREA,
    'month_area': AREA,
    'month_age': ['kind', 'source', 'need_code', 'category_code', 'age_band', 'ward_vintage', 'imd_year'],
    'month_practice': ['kind', 'source', 'need_code', 'category_code', 'practice_ods', 'ward_vintage', 'imd_year'],
    'month_area_kind': [
        'kind', 'source', 'need_code', 'category_code', 'ward_code', 'imd_decile', 'ward_vintage', 'imd_year'
    ],
}


def _covering(with_key: bool) -> None:
    for cube, columns in COVERED.items():
        op.drop_index(f'ix_indicator_count_{cube}', table_name='indicator_count')
        op.create_index(
            f'ix_indicator_count_{cube}',
            'indicator_count',
            ['cube', 'period_start', *columns, 'n', *(['cell_key'] if with_key else [])],
            unique=False,
            sqlite_where=sa.text(f"cube = '{cube}'"),
        )


def upgrade() -> None:
    op.create_table(
        'indicator_retention',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('events_from', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_retention')),
    )
    op.add_column('indicator_count', sa.Column('cell_key', sa.Integer(), nullable=False, server_default='0'))
    if op.get_bind().dialect.name == 'sqlite':
        _covering(with_key=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _covering(with_key=False)
    with op.batch_alter_table('indicator_count') as batch_op:
        batch_op.drop_column('cell_key')
    op.drop_table('indicator_retention')
