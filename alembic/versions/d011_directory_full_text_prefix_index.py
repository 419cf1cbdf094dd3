"""directory: SQLite's full-text index keeps prefixes of 2 to 8 characters (PostgreSQL: nothing changes)

Revision ID: d011
Revises: d010
"""

from collections.abc import Sequence

from alembic import op
from signpost.directory import fulltext

revision: str = "d011"
down_revision: str | Sequence[str] | None = "d010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    fulltext.index_prefixes(op.get_bind(), "2 3 4 5 6 7 8")


def downgrade() -> None:
    fulltext.index_prefixes(op.get_bind(), None)
