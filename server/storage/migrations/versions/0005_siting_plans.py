"""siting plans

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:18:17.863048
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "siting_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", JSON, nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("data_versions", JSON, nullable=False),
        sa.Column("last_diff", JSON, nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_siting_plans")),
    )
    with op.batch_alter_table("siting_plans", schema=None) as batch_op:
        batch_op.create_index("ix_siting_plans_owner", ["app_id", "user_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("siting_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_siting_plans_owner")

    op.drop_table("siting_plans")
