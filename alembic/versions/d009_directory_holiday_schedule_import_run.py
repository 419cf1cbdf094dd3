"""directory: holiday (dated) opening times, import runs, and the import that last wrote each service

Revision ID: d009
Revises: d008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "d009"
down_revision: str | Sequence[str] | None = "d008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "holiday_schedule",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("service_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=True),
        sa.Column("closes_at", sa.Time(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["service.id"], name=op.f("fk_holiday_schedule_service_id_service")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_schedule")),
    )
    op.create_index(op.f("ix_holiday_schedule_service_id"), "holiday_schedule", ["service_id"], unique=False)
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    # A plain ADD COLUMN: a batch copy of `service` would drop the full-text and facet triggers on SQLite.
    op.add_column("service", sa.Column("import_run_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_service_import_run_id"), "service", ["import_run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_service_import_run_id"), table_name="service")
    op.drop_column("service", "import_run_id")
    op.drop_table("import_run")
    op.drop_index(op.f("ix_holiday_schedule_service_id"), table_name="holiday_schedule")
    op.drop_table("holiday_schedule")
