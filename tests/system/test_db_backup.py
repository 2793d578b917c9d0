"""`planfuse db backup` while a real server writes, then `planfuse db restore` into a fresh
database: the same known answers and the same signed reports, on SQLite (the demo dataset
and its planted scenarios) and PostgreSQL (fresh databases on the test server).

Each backup is taken by its own `planfuse` process while `planfuse serve` answers
compliance checks that store signed reports; the restored database holds a consistent
instant: every report in it is whole and verifies, and there are at least as many as
had been answered before the backup began.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from compliance_world import build_world, project
from joserfc import jws
from joserfc.jwk import KeySet
from queue_support import PLANFUSE, ROOT, free_port, planfuse_env, stop
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from planfuse.auth.apps import create_host_app
from planfuse.context import PlanFuse
from planfuse.demo import testing as demo
from planfuse.storage.models import ComplianceReport
from tests.conftest import PG_ADMIN_URL, TEST_SECRET
from tests.system.test_serve import wait_for

CHECK = "/api/v1/compliance/check"
COMPLIANCE = [s for s in demo.load_scenarios()["scenarios"] if s["service"] == "compliance"]


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = planfuse_env({"database_url": database_url, "secret_key": TEST_SECRET})
    return subprocess.run(
        [str(PLANFUSE), *args], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300
    )


class Server:
    """`planfuse serve` over a database, and HTTP calls to it with a host app's Basic
    credentials."""

    def __init__(self, database_url: str, app_id: str, secret: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        raw = base64.b64encode(f"{app_id}:{secret}".encode()).decode()
        self.headers = {"Authorization": f"Basic {raw}", "Content-Type": "application/json"}
        settings = {"database_url": database_url, "secret_key": TEST_SECRET, "log_level": "ERROR"}
        self.proc = subprocess.Popen(
            [str(PLANFUSE), "serve", "--port", str(self.port), "--workers", "1"],
            env=planfuse_env(settings),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        wait_for(self.base + "/readyz", timeout_s=120)

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def close(self) -> None:
        stop(self.proc)


class Writer(threading.Thread):
    """Stores one compliance report after another until stopped; counts what was answered."""

    def __init__(self, server: Server, body: dict):
        super().__init__(daemon=True)
        self.server, self.body = server, body
        self.answered: list[str] = []
        self.failures: list[tuple[int, dict]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            status, report = self.server.post(CHECK, self.body)
            if status == 201:
                self.answered.append(report["id"])
            else:
                self.failures.append((status, report))

    def wait_for(self, n: int, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.answered) < n:
            assert time.monotonic() < deadline, self.failures[:3]
            time.sleep(0.05)


def backup_while_writing(server: Server, database_url: str, body: dict, file: Path):
    """Run `planfuse db backup` while `server` stores reports; (answered before it began,
    answered when it ended)."""
    writer = Writer(server, body)
    writer.start()
    try:
        writer.wait_for(2)
        before = len(writer.answered)
        done = cli(database_url, "db", "backup", str(file), "--json")
        after = len(writer.answered)
        writer.wait_for(after + 1)  # the server kept answering after the backup
    finally:
        writer.halt.set()
        writer.join(timeout=120)
    assert done.returncode == 0, done.stderr
    assert not writer.failures, writer.failures[:3]
    summary = json.loads(done.stdout)
    assert summary["bytes"] == file.stat().st_size > 0
    return before, after


def assert_restored_like(restored: PlanFuse, reports: dict[str, dict], before: int, after: int):
    """Every report of `reports` is stored byte for byte and verifies with the restored
    instance's JWKS; every other stored report is whole and verifies too; the instant lies
    between `before` and `after` (+ the reports stored before writing began)."""
    from planfuse.signing.server_keys import jwks

    keys = KeySet.import_key_set(jwks(restored))
    with restored.db.session() as s:
        rows = {r.id: r for r in s.scalars(select(ComplianceReport))}
        total = s.scalar(select(func.count()).select_from(ComplianceReport))
    for report_id, report in reports.items():
        row = rows[report_id]
        assert json.loads(row.result) == report
        assert row.jws == report["signature"]["jws"]
    for row in rows.values():
        claims = json.loads(jws.deserialize_compact(row.jws, keys, algorithms=["ES256"]).payload)
        assert claims["jti"] == row.id
        assert claims["report"]["verdict"] == row.verdict
    assert len(reports) + before <= total <= len(reports) + after + 1


# --- SQLite: the demo dataset ------------------------------------------------------------


@pytest.fixture
def demo_url(demo_database_template, tmp_path) -> str:
    return demo.copy_demo_database(demo_database_template, tmp_path / "live")


def test_sqlite_backup_while_serving_restores_the_same_answers_and_reports(demo_url, tmp_path):
    ctx = demo.demo_context(demo_url, secret_key=TEST_SECRET)
    ctx.db.upgrade()
    record, secret = create_host_app(ctx, "审批平台 (backup test)", ["https://host.example.org"])
    ctx.close()
    server = Server(demo_url, record.id, secret)
    try:
        reports = {}
        for scenario in COMPLIANCE:
            status, report = server.post(CHECK, scenario["input"])
            assert status == 201, report
            reports[report["id"]] = report
        file = tmp_path / "planfuse-backup.db"
        before, after = backup_while_writing(server, demo_url, COMPLIANCE[0]["input"], file)
    finally:
        server.close()

    fresh = f"sqlite:///{tmp_path / 'fresh' / 'restored.db'}"
    (tmp_path / "fresh").mkdir()
    done = cli(fresh, "db", "restore", str(file))
    assert done.returncode == 0, done.stderr
    assert "restored, at revision" in done.stdout

    restored = demo.demo_context(fresh, secret_key=TEST_SECRET)
    try:
        assert_restored_like(restored, reports, before, after)
    finally:
        restored.close()

    # The restored instance answers as the original did: a server on it, the same host
    # credentials, the planted scenarios' known answers, signed with the same key.
    again = Server(fresh, record.id, secret)
    try:
        for scenario, original in zip(COMPLIANCE, reports.values(), strict=True):
            status, report = again.post(CHECK, scenario["input"])
            assert status == 201, report
            expected = scenario["expected"]
            assert report["verdict"] == original["verdict"] == expected["verdict"]
            assert report["data_versions"] == original["data_versions"]
            assert report["signature"]["kid"] == original["signature"]["kid"]
            for item, first in zip(report["items"], original["items"], strict=True):
                assert item["overlap_area_m2"] == first["overlap_area_m2"]
                want = expected["items"][item["rule"]]["overlap_area_m2"]
                assert item["overlap_area_m2"] == pytest.approx(want, rel=1e-3, abs=0.01)
    finally:
        again.close()


def test_restore_refuses_a_database_in_use_unless_replace(demo_url, tmp_path):
    file = tmp_path / "b.db"
    assert cli(demo_url, "db", "backup", str(file)).returncode == 0
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert cli(other, "db", "upgrade").returncode == 0
    refused = cli(other, "db", "restore", str(file))
    assert refused.returncode == 2
    assert "already holds a PlanFuse database" in refused.stderr
    assert "--replace" in refused.stderr
    replaced = cli(other, "db", "restore", str(file), "--replace")
    assert replaced.returncode == 0, replaced.stderr
    listed = json.loads(cli(other, "layers", "list", "--json").stdout)
    assert {e["id"] for e in listed} >= {"basic_farmland", "districts"}


def test_bad_backup_files_are_refused_with_a_reason(tmp_path):
    target = f"sqlite:///{tmp_path / 'target.db'}"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    refused = cli(target, "db", "restore", str(junk))
    assert refused.returncode == 2
    assert "neither a SQLite database nor a pg_dump" in refused.stderr
    nothing = cli(target, "db", "backup", str(tmp_path / "no-folder" / "b.db"))
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr


# --- PostgreSQL: fresh databases on the test server --------------------------------------


@pytest.fixture
def pg_databases() -> Iterator[callable]:
    """A factory of fresh, empty databases on the test PostgreSQL (dropped afterwards)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def make() -> str:
        name = "pf_backup_" + secrets.token_hex(5)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_backup_while_serving_restores_the_same_answers_and_reports(
    pg_databases, tmp_path
):
    from planfuse.context import build_context
    from planfuse.http.problems import problem_dict
    from planfuse.settings import load_settings

    def context(url: str) -> PlanFuse:
        settings = load_settings({"database_url": url, "secret_key": TEST_SECRET}, environ={})
        return build_context(settings, describe_failure=problem_dict)

    live = pg_databases()
    ctx = context(live)
    ctx.db.upgrade()
    build_world(ctx)
    record, secret = create_host_app(ctx, "审批平台 (backup test)", ["https://host.example.org"])
    ctx.close()
    body = {
        "land_use": "0701",
        "project_type": "urban",
        "crs": "EPSG:4490",
        "geometry": project(-100, 50, 100, 150),
    }
    server = Server(live, record.id, secret)
    try:
        status, first = server.post(CHECK, body)
        assert status == 201, first
        farmland = next(i for i in first["items"] if i["rule"] == "basic_farmland")
        assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
        file = tmp_path / "planfuse.pgdump"
        before, after = backup_while_writing(server, live, body, file)
    finally:
        server.close()
    assert file.read_bytes()[:5] == b"PGDMP"

    fresh = pg_databases()
    done = cli(fresh, "db", "restore", str(file))
    assert done.returncode == 0, done.stderr
    restored = context(fresh)
    try:
        assert_restored_like(restored, {first["id"]: first}, before, after)
    finally:
        restored.close()
    again = Server(fresh, record.id, secret)
    try:
        status, report = again.post(CHECK, body)
        assert status == 201, report
        assert report["items"] == first["items"]
        assert report["signature"]["kid"] == first["signature"]["kid"]
    finally:
        again.close()

    # A second restore into the same database is refused; a SQLite file is refused too.
    refused = cli(fresh, "db", "restore", str(file))
    assert refused.returncode == 2 and "already holds a PlanFuse database" in refused.stderr
    sqlite_file = tmp_path / "x.db"
    assert cli(f"sqlite:///{sqlite_file}", "db", "upgrade").returncode == 0
    wrong = cli(fresh, "db", "restore", str(sqlite_file))
    assert wrong.returncode == 2 and "is a sqlite backup but" in wrong.stderr


def test_postgresql_tools_match_the_server():
    from planfuse.storage import Database
    from planfuse.storage.backup import pg_tool, server_major, tool_major

    db = Database(PG_ADMIN_URL)
    try:
        major = server_major(db)
        for name in ("pg_dump", "pg_restore"):
            assert tool_major(pg_tool(db, name)) >= major
    finally:
        db.dispose()
