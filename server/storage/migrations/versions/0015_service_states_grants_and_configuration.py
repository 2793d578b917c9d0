"""service states, grants and configuration

Services stopped by an administrator, grants per host app and service, and per-service
configuration with its append-only history.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 05:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "service_states",
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("stopped", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("restart_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_service_states")),
    )
    op.create_table(
        "service_grants",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "service_id", name=op.f("pk_service_grants")),
    )
    op.create_table(
        "service_config",
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "name", name=op.f("pk_service_config")),
    )
    op.create_table(
        "service_config_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("old_value", JSON, nullable=True),
        sa.Column("new_value", JSON, nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_config_changes")),
    )
    op.create_index(
        op.f("ix_service_config_changes_service_id"),
        "service_config_changes",
        ["service_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_service_config_changes_service_id"), "service_config_changes")
    op.drop_table("service_config_changes")
    op.drop_table("service_config")
    op.drop_table("service_grants")
    op.drop_table("service_states")
