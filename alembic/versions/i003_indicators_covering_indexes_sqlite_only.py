"""indicators: the covering indexes of the small cubes on SQLite only

PostgreSQL's planner reads the unique index instead, and there the copy of n in each covering index made every
count update write new index entries (84 MB for 90,000 rows after a million events) and kept the update from
being HOT, so concurrent `$signpost` requests held the roll-up rows' locks longer.

Revision ID: i003
Revises: i002
Create Date: 2026-12-01 06:05:00.000000
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'i003'
down_revision: Union[str, Sequence[str], None] = 'i002'
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


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for cube in COVERED:
        op.drop_index(f'ix_indicator_count_{cube}', table_name='indicator_count')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for cube, columns in COVERED.items():
        op.create_index(
            f'ix_indicator_count_{cube}',
            'indicator_count',
            ['cube', 'period_start', *columns, 'n'],
            unique=False,
            postgresql_where=sa.text(f"cube = '{cube}'"),
        )
