"""Secrets at rest: the environment name is checked strictly; host apps' HS256 secrets are
stored encrypted under the server key; the server key is never in the database (a
development server keeps its generated key in a file beside the database); the migration
encrypts existing secrets and moves an older development key out of the database. A copy of
the database alone signs nothing the server accepts."""

from __future__ import annotations

import os
import shutil
import stat
import time

import pytest
from embed_support import claims_for, sign_hs256
from sqlalchemy import func, select, text

from planfuse.app import check_production_settings, create_app
from planfuse.auth.apps import check_app_secret, create_host_app, get_host_app, rotate_secret
from planfuse.auth.sessions import issue_session, verify_session
from planfuse.auth.tokens import EmbedClaims, TokenError, validate_embed_token
from planfuse.context import build_context
from planfuse.http.problems import problem_dict
from planfuse.services.audit import AuditQuery, list_events
from planfuse.settings import SettingsError, load_settings
from planfuse.signing.at_rest import SEALED_PREFIX, development_key_file, open_app_secret
from planfuse.signing.secret import base_secret
from planfuse.storage.database import upgrade_schema
from planfuse.storage.models import HostAppKey, ServerSecret

ORIGIN = "https://portal.example.gov.cn"
STRONG = "Zq" * 24


@pytest.mark.parametrize(
    "name", ["prod", "Production", "PRODUCTION", "production ", "dev", "staging", ""]
)
def test_the_environment_name_is_checked_strictly(name):
    with pytest.raises(SettingsError, match="not an environment"):
        load_settings({"env": name}, environ={})
    with pytest.raises(SettingsError, match="not an environment"):
        load_settings(environ={"PLANFUSE_ENV": name})
    with pytest.raises(SettingsError):
        create_app({"env": name, "database_url": "sqlite://"})


def test_production_takes_the_key_from_a_key_file(tmp_path):
    key_file = tmp_path / "planfuse.key"
    settings = load_settings({"env": "production", "secret_key_file": str(key_file)}, environ={})
    with pytest.raises(SettingsError, match="cannot be read"):
        check_production_settings(settings)
    key_file.write_text("short\n")
    with pytest.raises(SettingsError, match="fewer than 32"):
        check_production_settings(settings)
    key_file.write_text(STRONG + "\n")
    check_production_settings(settings)


def test_hs256_secrets_are_stored_encrypted(ctx):
    record, secret = create_host_app(ctx, "审批平台", [ORIGIN])
    kid, rotated = rotate_secret(ctx, record.id, 3600)
    with ctx.db.session() as s:
        stored = dict(s.execute(select(HostAppKey.kid, HostAppKey.secret)).all())
    assert len(stored) == 2
    for value in stored.values():
        assert value.startswith(SEALED_PREFIX)
        assert secret not in value and rotated not in value
    # The server reads them back: tokens and Basic credentials work as before.
    app = get_host_app(ctx, record.id)
    assert check_app_secret(app, secret) and check_app_secret(app, rotated)
    widget = {"widget": "compliance"}
    good = sign_hs256(claims_for(record.id, **widget), rotated, {"kid": kid})
    claims = validate_embed_token(ctx, good)
    assert claims.app_id == record.id
    # What a reader of the database has does not sign a token the server accepts.
    with pytest.raises(TokenError):
        validate_embed_token(
            ctx, sign_hs256(claims_for(record.id, **widget), stored[kid], {"kid": kid})
        )
    # A sealed secret is bound to its app and kid.
    key = base_secret(ctx)
    assert open_app_secret(key, record.id, kid, stored[kid]) == rotated
    assert open_app_secret(key, "app_other", kid, stored[kid]) is None
    assert open_app_secret(b"another server key" * 2, record.id, kid, stored[kid]) is None


def dev_context(database_path):
    settings = load_settings(
        {"database_url": f"sqlite:///{database_path}", "env": "development"}, environ={}
    )
    context = build_context(settings, describe_failure=problem_dict)
    context.db.upgrade()
    return context


def session_claims(app_id: str) -> EmbedClaims:
    now = int(time.time())
    return EmbedClaims(
        app_id=app_id, sub="u1", widget="conflicts", jti="j1", iat=now, exp=now + 300,
        roles=("coordinator",),
    )  # fmt: skip


def test_a_copy_of_the_database_alone_signs_nothing(tmp_path):
    (tmp_path / "server").mkdir()
    (tmp_path / "copy").mkdir()
    server = dev_context(tmp_path / "server" / "planfuse.db")
    record, _ = create_host_app(server, "审批平台", [ORIGIN])
    genuine, _ = issue_session(server, session_claims(record.id))
    assert verify_session(server, genuine).sub == "u1"
    # The generated key is in a file beside the database, readable by its owner only,
    # and in no table.
    key_file = development_key_file(server.settings)
    assert key_file == tmp_path / "server" / "planfuse.db.secret"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert key_file.read_text().strip().encode() == base_secret(server)
    with server.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ServerSecret)) == 0
        for value in s.scalars(select(HostAppKey.secret)):
            assert value.startswith(SEALED_PREFIX)
    server.db.engine.dispose()
    # An attacker with a copy of the database file (and not the key file) runs their own
    # server on it: it has another key, so what it signs is refused by the real one.
    shutil.copy(tmp_path / "server" / "planfuse.db", tmp_path / "copy" / "planfuse.db")
    attacker = dev_context(tmp_path / "copy" / "planfuse.db")
    assert base_secret(attacker) != base_secret(server)
    forged, _ = issue_session(attacker, session_claims(record.id))
    with pytest.raises(TokenError):
        verify_session(server, forged)
    # Nor can it read the app's secret to sign embed tokens.
    assert get_host_app(attacker, record.id).keys[0].secret is None
    attacker.close()
    server.close()


def test_the_migration_encrypts_existing_secrets_and_moves_the_development_key(tmp_path):
    database = tmp_path / "planfuse.db"
    settings = load_settings({"database_url": f"sqlite:///{database}"}, environ={})
    context = build_context(settings, describe_failure=problem_dict)
    # A database as an older server left it: the key in a table, a secret in clear.
    upgrade_schema(context.db.engine, "0017")
    legacy_key = "legacy-development-key-" + "x" * 40
    with context.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO server_secrets (name, value, created_at) "
                "VALUES ('development_secret_key', :v, CURRENT_TIMESTAMP)"
            ),
            {"v": legacy_key},
        )
        conn.execute(
            text(
                "INSERT INTO host_apps "
                "(id, name, origins, widgets, disabled, created_at, updated_at) "
                "VALUES ('app_old', '旧应用', :o, '[]', false, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"o": f'["{ORIGIN}"]'},
        )
        conn.execute(
            text(
                "INSERT INTO host_app_keys (app_id, kid, alg, secret, created_at) "
                "VALUES ('app_old', 'hs_old', 'HS256', 'plain-old-secret', CURRENT_TIMESTAMP)"
            )
        )
    context.db.upgrade()
    with context.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ServerSecret)) == 0
        stored = s.scalar(select(HostAppKey.secret))
    assert stored.startswith(SEALED_PREFIX) and "plain-old-secret" not in stored
    # The key stays the one the database was made with (its sessions and signing keys
    # still open), now in the key file.
    assert development_key_file(settings).read_text().strip() == legacy_key
    assert base_secret(context) == legacy_key.encode()
    assert check_app_secret(get_host_app(context, "app_old"), "plain-old-secret")
    [event] = list_events(context, AuditQuery(action="secrets.encrypt"))["events"]
    assert event["detail"] == {"sealed_secrets": 1, "development_key_out_of_database": True}
    context.close()


def test_the_migration_encrypts_with_a_configured_key(database_url):
    """On SQLite and PostgreSQL, with PLANFUSE_SECRET_KEY set: secrets sealed under it,
    an unused development key row dropped."""
    settings = load_settings({"database_url": database_url, "secret_key": STRONG}, environ={})
    context = build_context(settings, describe_failure=problem_dict)
    upgrade_schema(context.db.engine, "0017")
    with context.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO server_secrets (name, value, created_at) "
                "VALUES ('development_secret_key', 'unused', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO host_apps "
                "(id, name, origins, widgets, disabled, created_at, updated_at) "
                "VALUES ('app_old', '旧应用', :o, '[]', false, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {"o": f'["{ORIGIN}"]'},
        )
        for kid, secret in (("hs_1", "first-old-secret"), ("hs_2", "second-old-secret")):
            conn.execute(
                text(
                    "INSERT INTO host_app_keys (app_id, kid, alg, secret, created_at) "
                    "VALUES ('app_old', :kid, 'HS256', :secret, CURRENT_TIMESTAMP)"
                ),
                {"kid": kid, "secret": secret},
            )
    context.db.upgrade()
    with context.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ServerSecret)) == 0
        stored = list(s.scalars(select(HostAppKey.secret)))
    assert len(stored) == 2 and all(v.startswith(SEALED_PREFIX) for v in stored)
    app = get_host_app(context, "app_old")
    assert check_app_secret(app, "first-old-secret") and check_app_secret(app, "second-old-secret")
    [event] = list_events(context, AuditQuery(action="secrets.encrypt"))["events"]
    assert event["detail"] == {"sealed_secrets": 2, "development_key_out_of_database": True}
    context.close()
