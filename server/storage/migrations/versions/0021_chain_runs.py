"""chain runs

The trace of every run of a chain: each step's input, output, status, time and error.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 05:50:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chain_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("chain_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("failed_step", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("outputs", JSON, nullable=True),
        sa.Column("trace", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_runs")),
    )
    op.create_index(op.f("ix_chain_runs_chain_id"), "chain_runs", ["chain_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chain_runs_chain_id"), "chain_runs")
    op.drop_table("chain_runs")
