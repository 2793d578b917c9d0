"""departments

The publishing departments (发布部门) of the service catalogue, with the departments a
city's planning platform starts with.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:00:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A snapshot: planfuse.services.monitoring.departments.DEFAULT_DEPARTMENTS at this revision.
DEPARTMENTS = (
    ("natural_resources", "规划和自然资源局", "Planning and Natural Resources Bureau"),
    ("ecology_environment", "生态环境局", "Ecology and Environment Bureau"),
    ("development_reform", "发展和改革委员会", "Development and Reform Commission"),
    (
        "housing_construction",
        "住房和城乡建设委员会",
        "Housing and Urban-Rural Development Commission",
    ),
    ("water_resources", "水利局", "Water Resources Bureau"),
    ("forestry", "林业局", "Forestry Bureau"),
    ("cultural_heritage", "文物局", "Cultural Heritage Bureau"),
    ("transport", "交通局", "Transport Bureau"),
    ("agriculture_rural", "农业农村委员会", "Agriculture and Rural Affairs Commission"),
    ("emergency_management", "应急管理局", "Emergency Management Bureau"),
)


def upgrade() -> None:
    table = op.create_table(
        "departments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {"id": i, "name_zh": zh, "name_en": en, "created_at": now, "updated_at": now}
            for i, zh, en in DEPARTMENTS
        ],
    )


def downgrade() -> None:
    op.drop_table("departments")
