"""published chains

Every version of each chain an administrator published: (chain id, version) unique, each
version's document kept.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 14:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "published_chains",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("dept", sa.String(length=32), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_chains")),
        sa.UniqueConstraint("chain_id", "version", name=op.f("uq_published_chains_chain_id")),
    )
    op.create_index(op.f("ix_published_chains_chain_id"), "published_chains", ["chain_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_published_chains_chain_id"), "published_chains")
    op.drop_table("published_chains")
