"""directory: full-text index (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: d002
Revises: d001
"""

from collections.abc import Sequence

from alembic import op
from signpost.directory import fulltext

revision: str = "d002"
down_revision: str | Sequence[str] | None = "d001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    fulltext.create(op.get_bind())


def downgrade() -> None:
    fulltext.drop(op.get_bind())
