"""directory: index location.latitude for proximity search

Revision ID: d003
Revises: d002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d003"
down_revision: str | Sequence[str] | None = "d002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_location_latitude"), ["latitude"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_location_latitude"))
