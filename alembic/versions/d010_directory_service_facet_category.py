"""directory: service_facet_category, each facet's taxonomy terms keyed by term then facet id, kept by triggers

Revision ID: d010
Revises: d009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from signpost.directory import fulltext

revision: str = "d010"
down_revision: str | Sequence[str] | None = "d009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_facet_category",
        sa.Column("taxonomy_term_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("facet_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("taxonomy_term_id", "facet_id", name=op.f("pk_service_facet_category")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_service_facet_category_facet_id"), "service_facet_category", ["facet_id"], unique=False)
    fulltext.create_facet_categories(op.get_bind())


def downgrade() -> None:
    fulltext.drop_facet_categories(op.get_bind())
    op.drop_index(op.f("ix_service_facet_category_facet_id"), table_name="service_facet_category")
    op.drop_table("service_facet_category")
