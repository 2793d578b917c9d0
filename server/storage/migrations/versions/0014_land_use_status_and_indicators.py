"""land-use status dates and monitoring indicators

The date a layer version describes (`as_of`, set for land-use status layers) and the
versioned indicator documents of plan-implementation monitoring.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("layer_versions") as batch:
        batch.add_column(sa.Column("as_of", sa.Date(), nullable=True))
    op.create_table(
        "monitoring_indicators",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_monitoring_indicators")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_indicators")
    with op.batch_alter_table("layer_versions") as batch:
        batch.drop_column("as_of")
