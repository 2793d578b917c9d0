"""service limits and usage

Per host app and service: a rate limit per minute and a quota per day, the counters that
enforce them across processes (without Redis), and the calls and errors per day.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 14:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_app_limits",
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=True),
        sa.Column("quota_per_day", sa.Integer(), nullable=True),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "service_id", name=op.f("pk_service_app_limits")),
    )
    op.create_table(
        "service_call_counts",
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_epoch_s", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "service_id", "app_id", "window", name=op.f("pk_service_call_counts")
        ),
    )
    op.create_index(
        op.f("ix_service_call_counts_expires_epoch_s"), "service_call_counts", ["expires_epoch_s"]
    )
    op.create_table(
        "service_usage",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "service_id", "app_id", name=op.f("pk_service_usage")),
    )


def downgrade() -> None:
    op.drop_table("service_usage")
    op.drop_index(op.f("ix_service_call_counts_expires_epoch_s"), "service_call_counts")
    op.drop_table("service_call_counts")
    op.drop_table("service_app_limits")
