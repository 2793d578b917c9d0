"""The audit log through the admin API, the console page and the CLI, on SQLite and
PostgreSQL: app and key changes by an admin (API and console) and from the command line,
layer imports, sign-in and sign-out, each with actor, origin and request id; listing with
filters, CSV export, admin-only access; never a secret in the log."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from layer_files import feature_collection, square, write_geojson

from planfuse.cli import cli

ORIGIN = "https://portal.example.gov.cn"
AUDIT = "/api/v1/admin/audit"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_token(pf) -> str:
    from planfuse.services.admin_tokens import create_admin_token

    return create_admin_token(pf, "审计员")[1]


def events(client, token, **query) -> list[dict]:
    r = client.get(AUDIT, query_string=query, headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["events"]


def test_admin_changes_to_apps_and_keys_are_recorded(embed_client, admin_token):
    admin = bearer(admin_token)
    created = embed_client.post(
        "/api/v1/admin/apps",
        json={"name": "审批平台", "origins": [ORIGIN], "widgets": ["probe"]},
        headers={**admin, "X-Request-Id": "req-create-1"},
    ).get_json()
    app_id = created["app_id"]
    rotated = embed_client.post(
        f"/api/v1/admin/apps/{app_id}/rotate", json={"grace_s": 0}, headers=admin
    ).get_json()
    embed_client.patch(f"/api/v1/admin/apps/{app_id}", json={"name": "新名称"}, headers=admin)
    embed_client.post(f"/api/v1/admin/apps/{app_id}/disable", headers=admin)
    embed_client.post(f"/api/v1/admin/apps/{app_id}/revoke", json={}, headers=admin)
    # A refused change records nothing.
    bad = embed_client.patch(
        f"/api/v1/admin/apps/{app_id}", json={"origins": ["nope"]}, headers=admin
    )
    assert bad.status_code == 400

    log = events(embed_client, admin_token, target=f"app:{app_id}")
    assert [e["action"] for e in log] == [
        "app.revoke_tokens",
        "app.disable",
        "app.update",
        "key.rotate",
        "app.create",
    ]
    first = log[-1]
    assert first["actor"]["kind"] == "admin" and first["actor"]["name"] == "审计员"
    assert first["origin"] == "127.0.0.1" and first["request_id"] == "req-create-1"
    assert first["detail"]["origins"] == [ORIGIN]
    assert log[2]["detail"]["changed"] == ["name"] and log[2]["detail"]["name"] == "新名称"
    assert log[3]["detail"]["kid"] == rotated["kid"]
    everything = embed_client.get(AUDIT, headers=bearer(admin_token)).get_data(as_text=True)
    csv_text = embed_client.get(f"{AUDIT}.csv", headers=bearer(admin_token)).get_data(as_text=True)
    for secret in (created["secret"], rotated["secret"], admin_token):
        assert secret not in everything and secret not in csv_text


def test_list_and_export_need_an_admin_and_take_filters(embed_client, admin_token, host):
    for path in (AUDIT, f"{AUDIT}.csv"):
        assert embed_client.get(path).status_code == 401
        assert embed_client.get(path, headers=bearer("pfa_wrong")).status_code == 403
    admin = bearer(admin_token)
    for i in range(3):
        embed_client.patch(f"/api/v1/admin/apps/{host.id}", json={"name": f"n{i}"}, headers=admin)
    page = embed_client.get(AUDIT, query_string={"limit": 2}, headers=admin).get_json()
    assert len(page["events"]) == 2 and page["next_before"] == page["events"][1]["id"]
    bad = embed_client.get(AUDIT, query_string={"since": "last week"}, headers=admin)
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "since"
    r = embed_client.get(f"{AUDIT}.csv", query_string={"action": "app.update"}, headers=admin)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    assert r.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [json.loads(row["detail"])["name"] for row in rows] == ["n2", "n1", "n0"]
    assert {row["origin"] for row in rows} == {"127.0.0.1"}


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def rows(html: str) -> list[str]:
    """The event rows of the console page's table, as text."""
    return re.findall(r'<tr data-id="\d+">(.*?)</tr>', html, flags=re.S)


def sign_in(client, token: str) -> None:
    page = client.get("/admin/login")
    r = client.post("/admin/login", data={"token": token, "csrf_token": _csrf(page.data)})
    assert r.status_code == 302


def test_console_page_shows_filters_and_exports(embed_client, admin_token, pf, host, tmp_path):
    assert embed_client.get("/admin/audit").status_code == 302
    assert embed_client.get("/admin/audit.json").status_code == 401
    sign_in(embed_client, admin_token)
    page = embed_client.get("/admin/audit")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    [signed_in] = rows(html)
    assert "admin.sign_in" in signed_in and "审计员" in signed_in and "127.0.0.1" in signed_in
    assert 'aria-current="page"' in html and "审计日志 · Audit log" in html
    # A layer import from the console is recorded with the file it came from.
    config = embed_client.get("/admin/layers").get_data(as_text=True)
    csrf = _csrf(config.encode())
    source = write_geojson(
        tmp_path / "farmland.geojson", feature_collection([square(106.5, 29.5, 100)])
    )
    with source.open("rb") as handle:
        r = embed_client.post(
            "/admin/layers/import",
            data={
                "layer": "basic_farmland",
                "kind": "basic_farmland",
                "crs": "EPSG:4490",
                "file": handle,
            },
            headers={"X-CSRF-Token": csrf},
        )
    assert r.status_code == 201, r.get_json()
    filtered = embed_client.get("/admin/audit", query_string={"action": "layer"})
    text = filtered.get_data(as_text=True)
    [imported] = rows(text)
    assert "layer:basic_farmland" in imported and "farmland.geojson" in imported
    assert 'href="/admin/audit.csv?action=layer"' in text
    export = embed_client.get("/admin/audit.csv", query_string={"action": "layer"})
    assert export.status_code == 200 and "layer:basic_farmland" in export.get_data(as_text=True)
    # A malformed filter is said on the page, not a 500.
    bad = embed_client.get("/admin/audit", query_string={"since": "<b>x</b>"})
    assert bad.status_code == 200 and "ISO 8601" in bad.get_data(as_text=True)
    assert "<b>x</b>" not in bad.get_data(as_text=True)
    # Signing out is recorded too.
    embed_client.post("/admin/logout", data={"csrf_token": csrf})
    assert events(embed_client, admin_token, action="admin")[0]["action"] == "admin.sign_out"


def test_cli_changes_are_recorded_with_origin_cli(
    pf, monkeypatch, admin_token, embed_client, tmp_path
):
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", pf.settings.database_url)
    monkeypatch.setenv("PLANFUSE_SECRET_KEY", pf.settings.secret_key)
    from planfuse import cli as cli_module

    cli_module._register()
    runner = CliRunner()
    r = runner.invoke(cli, ["apps", "create", "规划平台", "--origin", ORIGIN, "--json"])
    assert r.exit_code == 0, r.output
    app_id = json.loads(r.stdout)["app_id"]
    assert runner.invoke(cli, ["apps", "disable", app_id]).exit_code == 0
    assert runner.invoke(cli, ["admin", "create-token", "值班员"]).exit_code == 0
    assert runner.invoke(cli, ["keys", "rotate"]).exit_code == 0
    log = events(embed_client, admin_token)
    assert [e["action"] for e in log[:4]] == [
        "signing_key.rotate",
        "admin.token_create",
        "app.disable",
        "app.create",
    ]
    assert {(e["actor"]["kind"], e["origin"]) for e in log[:4]} == {("cli", "cli")}
    # The log from the command line: listed, exported, a bad filter named.
    listed = runner.invoke(cli, ["audit", "list", "--action", "app", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [e["action"] for e in json.loads(listed.stdout)] == ["app.disable", "app.create"]
    text = runner.invoke(cli, ["audit", "list", "--target", f"app:{app_id}"]).stdout
    assert "app.create" in text and "cli:cli" in text
    out = tmp_path / "audit.csv"
    assert runner.invoke(cli, ["audit", "export", "--action", "app", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert [r["action"] for r in rows] == ["app.disable", "app.create"]
    bad = runner.invoke(cli, ["audit", "list", "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_changes_to_services_and_departments_are_recorded(embed_client, admin_token, host):
    admin = bearer(admin_token)
    base = "/api/v1/admin/services"
    steps = [
        ("post", f"{base}/siting_basic/stop", {"reason": "数据更新"}),
        ("post", f"{base}/siting_basic/start", None),
        ("put", f"{base}/siting_advanced/grants/{host.id}", {"allowed": False}),
        ("put", f"{base}/siting_advanced/config", {"values": {"tolerance_m2": 5}, "note": "放宽"}),
        ("put", "/api/v1/admin/departments/big_data", {"name": {"zh-CN": "大数据局", "en": "BDB"}}),
    ]
    for method, url, body in steps:
        r = getattr(embed_client, method)(url, json=body, headers=admin)
        assert r.status_code in (200, 201), (url, r.get_json())
    # A refused change records nothing.
    bad = embed_client.put(f"{base}/siting_advanced/grants/{host.id}", json={}, headers=admin)
    assert bad.status_code == 400
    log = events(embed_client, admin_token, action="service")
    assert [(e["action"], e["target"]) for e in log] == [
        ("service.configure", "service:siting_advanced"),
        ("service.grant", "service:siting_advanced"),
        ("service.start", "service:siting_basic"),
        ("service.stop", "service:siting_basic"),
    ]
    assert log[0]["detail"] == {"changed": ["tolerance_m2"], "note": "放宽"}
    assert log[1]["detail"] == {"app": host.id, "allowed": False}
    assert log[3]["detail"]["reason"] == "数据更新"
    [department] = events(embed_client, admin_token, action="department")
    assert department["target"] == "department:big_data" and department["detail"]["created"]


def test_a_change_is_answered_even_if_its_event_cannot_be_stored(
    embed_client, admin_token, host, monkeypatch, caplog
):
    from sqlalchemy.exc import OperationalError

    from planfuse.services import audit

    def refuse(*args, **kwargs):
        raise OperationalError("INSERT INTO audit_events", {}, Exception("database is locked"))

    monkeypatch.setattr(audit, "record", refuse)
    r = embed_client.patch(
        f"/api/v1/admin/apps/{host.id}", json={"name": "改名"}, headers=bearer(admin_token)
    )
    assert r.status_code == 200 and r.get_json()["name"] == "改名"
    logged = [rec for rec in caplog.records if rec.name == "planfuse.audit"]
    assert logged and "app.update" in logged[0].getMessage()
    assert f"app:{host.id}" in logged[0].getMessage()
