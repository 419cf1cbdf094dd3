"""directory: where a service's category came from (feed, crosswalk, suggestion), rejected suggestions, map versions

Revision ID: d006
Revises: d004
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "d006"
down_revision: str | Sequence[str] | None = "d004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy) so SQLite keeps the facet triggers on service_taxonomy.
    op.add_column(
        "service_taxonomy",
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), server_default="given", nullable=False),
    )
    op.add_column("service_taxonomy", sa.Column("evidence", sa.JSON(), nullable=True))
    op.create_table(
        "category_rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("taxonomy_term_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_category_rejection_service_id_service")),
        sa.ForeignKeyConstraint(
            ["taxonomy_term_id"], ["taxonomy_term.id"], name=op.f("fk_category_rejection_taxonomy_term_id_taxonomy_term")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_rejection")),
        sa.UniqueConstraint("service_id", "taxonomy_term_id", name=op.f("uq_category_rejection_service_id")),
    )
    op.create_table(
        "category_map",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("applied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_category_map")),
    )


def downgrade() -> None:
    op.drop_table("category_map")
    op.drop_table("category_rejection")
    op.drop_column("service_taxonomy", "evidence")
    op.drop_column("service_taxonomy", "origin")
