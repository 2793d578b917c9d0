"""host apps, keys, embed token replay store

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 16:55:29.019706
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "embed_token_uses",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "jti", name=op.f("pk_embed_token_uses")),
    )
    with op.batch_alter_table("embed_token_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_embed_token_uses_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "host_apps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "origins", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "widgets", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("revoked_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_apps")),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.create_table(
        "host_app_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("kid", sa.String(length=100), nullable=False),
        sa.Column("alg", sa.String(length=10), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column(
            "public_jwk", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["host_apps.id"],
            name=op.f("fk_host_app_keys_app_id_host_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_app_keys")),
        sa.UniqueConstraint("app_id", "kid", name=op.f("uq_host_app_keys_app_id")),
    )
    with op.batch_alter_table("host_app_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_host_app_keys_app_id"), ["app_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("host_app_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_host_app_keys_app_id"))

    op.drop_table("host_app_keys")
    op.drop_table("server_secrets")
    op.drop_table("host_apps")
    with op.batch_alter_table("embed_token_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_embed_token_uses_expires_at"))

    op.drop_table("embed_token_uses")
