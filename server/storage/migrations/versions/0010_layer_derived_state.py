"""layer derived state

What takes long to build for a layer version (self-overlap masks, dissolved layers, …),
stored once and loaded by every process.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "layer_derived",
        sa.Column("layer_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("build_s", sa.Float(), nullable=False),
        sa.Column("built_by", sa.String(length=200), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id", "version"],
            ["layer_versions.layer_id", "layer_versions.version"],
            name="fk_layer_derived_layer_version",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("layer_id", "version", "name", name=op.f("pk_layer_derived")),
    )


def downgrade() -> None:
    op.drop_table("layer_derived")
