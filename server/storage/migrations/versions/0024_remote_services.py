"""remote services

Departments' own services registered in the catalogue: an OGC API – Features collection,
a WFS, a WMS, an ArcGIS REST service or a JSON API, with its health as last checked and
the credential PlanFuse sends to it (sealed under the server key).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 14:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "remote_services",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("description_zh", sa.String(length=1000), nullable=False),
        sa.Column("description_en", sa.String(length=1000), nullable=False),
        sa.Column("dept", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("base_url", sa.String(length=2000), nullable=False),
        sa.Column("openapi_url", sa.String(length=2000), nullable=True),
        sa.Column("auth_kind", sa.String(length=16), nullable=False),
        sa.Column("auth_header", sa.String(length=100), nullable=True),
        sa.Column("auth_sealed", sa.Text(), nullable=True),
        sa.Column("health_status", sa.String(length=16), nullable=False),
        sa.Column("health_latency_ms", sa.Float(), nullable=True),
        sa.Column("health_http_status", sa.Integer(), nullable=True),
        sa.Column("health_error", sa.String(length=500), nullable=True),
        sa.Column("health_checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("health_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remote_services")),
    )
    op.create_index(op.f("ix_remote_services_dept"), "remote_services", ["dept"])


def downgrade() -> None:
    op.drop_index(op.f("ix_remote_services_dept"), "remote_services")
    op.drop_table("remote_services")
