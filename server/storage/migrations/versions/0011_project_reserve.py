"""project reserve

Projects proposed by departments (项目储备库) with their latest pre-study.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "reserve_projects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("project_type", sa.String(length=16), nullable=False),
        sa.Column("dept", sa.String(length=64), nullable=False),
        sa.Column("district", sa.String(length=12), nullable=False),
        sa.Column("land_use", sa.String(length=8), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("geom", sa.LargeBinary(), nullable=True),
        sa.Column("source_crs", sa.String(length=64), nullable=True),
        sa.Column("source_geojson", JSON, nullable=True),
        sa.Column("red_line_area_m2", sa.Float(), nullable=True),
        sa.Column("funds", JSON, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("depends_on", JSON, nullable=False),
        sa.Column("earliest_year", sa.Integer(), nullable=True),
        sa.Column("latest_year", sa.Integer(), nullable=True),
        sa.Column("pre_study_status", sa.String(length=20), nullable=True),
        sa.Column("pre_study", JSON, nullable=True),
        sa.Column("pre_study_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_projects")),
    )
    with op.batch_alter_table("reserve_projects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reserve_projects_owner", ["app_id", "user_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reserve_projects", schema=None) as batch_op:
        batch_op.drop_index("ix_reserve_projects_owner")

    op.drop_table("reserve_projects")
