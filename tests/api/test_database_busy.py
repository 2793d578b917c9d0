"""Admin-token requests under concurrency: verifying a token reads and does not write on
every request, and a SQLite database busy with another writer answers 503 with
Retry-After, never a 500."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from planfuse.services.admin_tokens import create_admin_token, verify_admin_token
from planfuse.storage.models import AdminToken

APPS = "/api/v1/admin/apps"


@pytest.fixture
def settings_overrides() -> dict:
    # A short busy timeout so that a held write lock shows at once.
    return {"sqlite_busy_timeout_ms": 200}


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def statements(pf):
    """The SQL statements `pf`'s engine runs inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(pf.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(pf.db.engine, "before_cursor_execute", record)


def test_verifying_an_admin_token_writes_at_most_once_per_interval(ctx):
    token_id, token = create_admin_token(ctx, "ops")
    with statements(ctx) as first:
        assert verify_admin_token(ctx, token).id == token_id
    with statements(ctx) as again:
        for _ in range(5):
            assert verify_admin_token(ctx, token).id == token_id
    assert sum(s.lstrip().upper().startswith("UPDATE") for s in first) == 1
    assert not [s for s in again if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    with ctx.db.session() as session:
        assert session.scalar(select(AdminToken.last_used_at)) is not None


@contextmanager
def write_lock(pf):
    """Another process's writer holding SQLite's write lock."""
    conn = sqlite3.connect(pf.db.url.database, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def _sqlite_only(pf):
    if pf.db.dialect != "sqlite":
        pytest.skip("SQLite's write lock")


def test_admin_reads_go_on_while_another_writer_holds_the_database(embed_client, pf):
    _sqlite_only(pf)
    _, token = create_admin_token(pf, "ops")
    with write_lock(pf):
        r = embed_client.get(APPS, headers=admin(token))
    assert r.status_code == 200, r.get_json()


def test_a_write_to_a_busy_database_is_a_503_with_retry_after(embed_client, pf):
    _sqlite_only(pf)
    _, token = create_admin_token(pf, "ops")
    assert embed_client.get(APPS, headers=admin(token)).status_code == 200
    with write_lock(pf):
        r = embed_client.post(
            APPS,
            json={"name": "网审平台", "origins": ["https://portal.example.gov.cn"]},
            headers=admin(token),
        )
    assert r.status_code == 503, r.get_json()
    problem = r.get_json()
    assert problem["type"].endswith("/database_unavailable")
    assert int(r.headers["Retry-After"]) >= 1
    # Nothing half-written: the app was not created.
    assert embed_client.get(APPS, headers=admin(token)).get_json()["apps"] == []


def test_parallel_admin_clients_all_get_answers(embed_client, pf):
    _, token = create_admin_token(pf, "ops")
    statuses: list[int] = []

    def client_loop() -> None:
        client = pf_app_client()
        for _ in range(25):
            statuses.append(client.get(APPS, headers=admin(token)).status_code)

    pf_app_client = embed_client.application.test_client
    threads = [threading.Thread(target=client_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 100
