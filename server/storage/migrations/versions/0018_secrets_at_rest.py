"""secrets at rest

Host apps' HS256 secrets stored in clear are encrypted under the server key, and a
development database's generated server key moves out of the database into its key file
(`planfuse.signing.at_rest`). Needs the settings (`planfuse db upgrade` and every server
pass them); without them the rows are left as they are and stay readable.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 05:20:00
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LEGACY_KEY_ROW = "development_secret_key"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
AUDIT = sa.table(
    "audit_events",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor_kind", sa.String),
    sa.column("actor_id", sa.String),
    sa.column("action", sa.String),
    sa.column("target", sa.String),
    sa.column("origin", sa.String),
    sa.column("detail", JSON),
)


def upgrade() -> None:
    settings = context.config.attributes.get("settings")
    if settings is None:
        return
    from planfuse.signing.at_rest import adopt_key, is_sealed, seal_app_secret, server_key

    conn = op.get_bind()
    legacy = conn.execute(
        sa.text("SELECT value FROM server_secrets WHERE name = :name"), {"name": LEGACY_KEY_ROW}
    ).scalar()
    if legacy is not None:
        # The key this database's signing keys and sessions were made with stays the key:
        # into the key file (when none is configured and none exists), out of the table.
        adopt_key(settings, legacy)
        conn.execute(
            sa.text("DELETE FROM server_secrets WHERE name = :name"), {"name": LEGACY_KEY_ROW}
        )
    key = server_key(settings)
    rows = conn.execute(
        sa.text("SELECT id, app_id, kid, secret FROM host_app_keys WHERE secret IS NOT NULL")
    ).all()
    sealed = 0
    for row in rows:
        if is_sealed(row.secret):
            continue
        conn.execute(
            sa.text("UPDATE host_app_keys SET secret = :secret WHERE id = :id"),
            {"secret": seal_app_secret(key, row.app_id, row.kid, row.secret), "id": row.id},
        )
        sealed += 1
    if sealed or legacy is not None:
        op.bulk_insert(
            AUDIT,
            [
                {
                    "at": datetime.now(UTC),
                    "actor_kind": "system",
                    "actor_id": "migration 0018",
                    "action": "secrets.encrypt",
                    "target": "host_app_keys",
                    "origin": "system",
                    "detail": {
                        "sealed_secrets": sealed,
                        "development_key_out_of_database": legacy is not None,
                    },
                }
            ],
        )


def downgrade() -> None:
    settings = context.config.attributes.get("settings")
    if settings is None:
        return
    from planfuse.signing.at_rest import open_app_secret, server_key

    conn = op.get_bind()
    key = server_key(settings)
    rows = conn.execute(
        sa.text("SELECT id, app_id, kid, secret FROM host_app_keys WHERE secret IS NOT NULL")
    ).all()
    for row in rows:
        opened = open_app_secret(key, row.app_id, row.kid, row.secret)
        if opened is not None:
            conn.execute(
                sa.text("UPDATE host_app_keys SET secret = :secret WHERE id = :id"),
                {"secret": opened, "id": row.id},
            )
