"""directory: service.crisis_access, whether a service answers someone in crisis today (24-hour or same-day)

Revision ID: d005
Revises: d004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "d005"
down_revision: str | Sequence[str] | None = "d004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch copy of `service` would drop the full-text triggers on SQLite.
    op.add_column("service", sa.Column("crisis_access", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("service", "crisis_access")
