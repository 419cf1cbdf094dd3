"""directory: service_facet, the narrow per-service row search filters on, kept by triggers

Revision ID: d004
Revises: d003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op
from signpost.directory import fulltext

revision: str = "d004"
down_revision: str | Sequence[str] | None = "d003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_facet",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("minimum_age", sa.Integer(), nullable=True),
        sa.Column("maximum_age", sa.Integer(), nullable=True),
        sa.Column("in_person", sa.Boolean(), nullable=False),
        sa.Column("by_phone", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("free", sa.Boolean(), nullable=False),
        sa.Column("premises", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("min_latitude", sa.Float(), nullable=True),
        sa.Column("max_latitude", sa.Float(), nullable=True),
        sa.Column("min_longitude", sa.Float(), nullable=True),
        sa.Column("max_longitude", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_facet")),
        sa.UniqueConstraint("service_id", name=op.f("uq_service_facet_service_id")),
    )
    fulltext.create_facets(op.get_bind())


def downgrade() -> None:
    fulltext.drop_facets(op.get_bind())
    op.drop_table("service_facet")
