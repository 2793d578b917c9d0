"""department administrators in the console

A console sign-in keeps the department of a department administrator's token (null: a
platform administrator). Every request compares it with the token's, so a sign-in made
before this revision by a department administrator (kept as a `viewer` without a
department) no longer matches and signs no one in: they sign in again.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-14 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_sessions") as batch:
        batch.add_column(sa.Column("dept", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("admin_sessions") as batch:
        batch.drop_column("dept")
