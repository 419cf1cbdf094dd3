"""indicators: quarter and year area cubes, month cubes by age band and by practice, covering indexes

Revision ID: i002
Revises: i001
Create Date: 2026-11-28 14:05:00.000000
"""
from collections import Counter
from datetime import date
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'i002'
down_revision: Union[str, Sequence[str], None] = 'i001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AREA = ['need_code', 'ward_code', 'imd_decile', 'ward_vintage', 'imd_year']
# Every column a report reads from the cube, n last: a report is one range scan of the index.
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
NUMERIC = {'ward_vintage', 'imd_decile', 'imd_year'}
KEY = [
    'kind', 'source', 'need_code', 'category_code', 'ward_code', 'ward_vintage', 'imd_decile', 'imd_year',
    'age_band', 'practice_ods',
]


def _first_of(day: date, grain: str) -> date:
    return date(day.year, 1, 1) if grain == 'year' else date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def upgrade() -> None:
    # The new cubes start as the month_area cube summed by quarter and by year (what a rebuild would write).
    table = sa.table('indicator_count', sa.column('cube'), sa.column('period_start', sa.Date), sa.column('n'),
                     *(sa.column(c) for c in KEY))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(table.c.period_start, *(table.c[c] for c in KEY), table.c.n).where(table.c.cube == 'month_area')
    ).all()
    for grain in ('year', 'quarter'):
        sums: Counter = Counter()
        for period_start, *key, n in rows:
            if isinstance(period_start, str):
                period_start = date.fromisoformat(period_start)
            sums[(_first_of(period_start, grain), *key)] += n
        if sums:
            connection.execute(
                table.insert(),
                [
                    {'cube': f'{grain}_area', 'period_start': key[0], **dict(zip(KEY, key[1:])), 'n': n}
                    for key, n in sums.items()
                ],
            )
    # The monthly age-band and practice cubes are the full monthly cube summed over what they leave out.
    for cube in ('month_age', 'month_practice'):
        kept = COVERED[cube]
        values = [c if c in kept else ("0" if c in NUMERIC else "''") for c in KEY]
        op.execute(
            f"INSERT INTO indicator_count (cube, period_start, {', '.join(KEY)}, n) "
            f"SELECT '{cube}', period_start, {', '.join(values)}, sum(n) FROM indicator_count "
            f"WHERE cube = 'month' GROUP BY period_start, {', '.join(kept)}"
        )
    for cube, columns in COVERED.items():
        where = sa.text(f"cube = '{cube}'")
        op.create_index(
            f'ix_indicator_count_{cube}',
            'indicator_count',
            ['cube', 'period_start', *columns, 'n'],
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for cube in COVERED:
        op.drop_index(f'ix_indicator_count_{cube}', table_name='indicator_count')
    op.execute(
        "DELETE FROM indicator_count WHERE cube IN ('year_area', 'quarter_area', 'month_age', 'month_practice')"
    )
