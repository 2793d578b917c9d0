"""department administrators

An admin token may belong to a department (发布部门): its holder manages that department's
services only (start and stop, grants and limits, configuration, usage, published chains,
registered remote services). Null: a platform administrator, as every token before.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.add_column(sa.Column("dept", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admin_tokens") as batch:
        batch.drop_column("dept")
