"""Host apps through the admin API, the admin console (sign-in, CSRF, framing) and the CLI
(`planfuse apps …`, `planfuse token`)."""

import json
import re

import pytest
from click.testing import CliRunner
from joserfc.jwk import ECKey

from planfuse.auth.tokens import validate_embed_token
from planfuse.cli import cli


def admin(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_token(pf) -> str:
    from planfuse.services.admin_tokens import create_admin_token

    return create_admin_token(pf, "test admin")[1]


# --- admin API ---------------------------------------------------------------------------


def test_admin_api_needs_an_admin_token(embed_client):
    assert embed_client.get("/api/v1/admin/apps").status_code == 401
    assert embed_client.get("/api/v1/admin/apps", headers=admin("pfa_nope")).status_code == 403


def test_admin_api_manages_host_apps(embed_client, pf, admin_token):
    h = admin(admin_token)
    r = embed_client.post(
        "/api/v1/admin/apps",
        json={"name": "网审平台", "origins": ["https://portal.example.gov.cn:443/"]},
        headers=h,
    )
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    app_id, secret = created["app_id"], created["secret"]
    assert secret.startswith("pfs_") and len(secret) >= 4 + 43
    assert created["app"]["origins"] == ["https://portal.example.gov.cn"]

    listed = embed_client.get("/api/v1/admin/apps", headers=h).get_json()["apps"]
    assert [a["app_id"] for a in listed] == [app_id]
    assert secret not in json.dumps(listed)

    r = embed_client.patch(
        f"/api/v1/admin/apps/{app_id}",
        json={"origins": ["https://a.example", "http://127.0.0.1:9000"], "widgets": ["probe"]},
        headers=h,
    )
    assert r.get_json()["origins"] == ["https://a.example", "http://127.0.0.1:9000"]

    rotated = embed_client.post(f"/api/v1/admin/apps/{app_id}/rotate", json={}, headers=h)
    assert rotated.get_json()["secret"] != secret

    key = ECKey.generate_key("P-256").as_dict(private=False)
    r = embed_client.post(
        f"/api/v1/admin/apps/{app_id}/keys", json={"jwk": key, "kid": "ec-1"}, headers=h
    )
    assert r.status_code == 201 and r.get_json()["kid"] == "ec-1"
    dup = embed_client.post(
        f"/api/v1/admin/apps/{app_id}/keys", json={"jwk": key, "kid": "ec-1"}, headers=h
    )
    assert dup.status_code == 409
    assert (
        embed_client.delete(f"/api/v1/admin/apps/{app_id}/keys/ec-1", headers=h).status_code == 204
    )

    assert embed_client.post(f"/api/v1/admin/apps/{app_id}/disable", headers=h).get_json()[
        "disabled"
    ]
    assert not embed_client.post(f"/api/v1/admin/apps/{app_id}/enable", headers=h).get_json()[
        "disabled"
    ]
    revoked = embed_client.post(
        f"/api/v1/admin/apps/{app_id}/revoke",
        json={"before": "2026-01-01T00:00:00+00:00"},
        headers=h,
    )
    assert revoked.get_json()["revoked_before"].startswith("2026-01-01")
    assert embed_client.get("/api/v1/admin/apps/app_nope", headers=h).status_code == 404


@pytest.mark.parametrize(
    "origin",
    [
        "portal.example.gov.cn",
        "ftp://portal.example.gov.cn",
        "https://*.example.gov.cn",
        "https://portal.example.gov.cn/path",
        "https://user:pw@portal.example.gov.cn",
        "https://portal.example.gov.cn:99999",
        "",
    ],
)
def test_origins_must_be_exact(embed_client, admin_token, origin):
    r = embed_client.post(
        "/api/v1/admin/apps", json={"name": "x", "origins": [origin]}, headers=admin(admin_token)
    )
    assert r.status_code == 400
    assert "scheme://host:port" in r.get_json()["detail"]


def test_unknown_widget_names_are_refused(embed_client, admin_token):
    r = embed_client.post(
        "/api/v1/admin/apps",
        json={"name": "x", "origins": ["https://a.example"], "widgets": ["nope"]},
        headers=admin(admin_token),
    )
    assert r.status_code == 400 and "probe" in r.get_json()["detail"]


# --- admin console --------------------------------------------------------------------------


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def test_console_sign_in_csrf_and_framing(embed_client, admin_token, host):
    page = embed_client.get("/admin/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    # Without the CSRF token the form is refused, even with a valid admin token.
    r = embed_client.post("/admin/login", data={"token": admin_token})
    assert r.status_code == 403
    r = embed_client.post(
        "/admin/login", data={"token": "pfa_wrong", "csrf_token": _csrf(page.data)}
    )
    assert r.status_code == 401
    r = embed_client.post(
        "/admin/login", data={"token": admin_token, "csrf_token": _csrf(page.data)}
    )
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie

    embed = embed_client.get("/admin/embed")
    assert embed.status_code == 200
    assert "frame-ancestors 'none'" in embed.headers["Content-Security-Policy"]
    config = json.loads(
        re.search(
            rb'<script type="application/json" id="admin-config">(.*?)</script>', embed.data
        ).group(1)
    )
    assert "probe" in config["manifest"]["widgets"]
    assert [a["app_id"] for a in config["apps"]] == [host.id]
    assert config["apps"][0]["can_preview"] is True

    body = {"app_id": host.id, "widget": "probe", "params": {"project": "P-1"}, "locale": "en"}
    assert embed_client.post("/admin/embed/preview-token", json=body).status_code == 403
    r = embed_client.post(
        "/admin/embed/preview-token", json=body, headers={"X-CSRF-Token": config["csrf_token"]}
    )
    assert r.status_code == 200, r.get_json()
    claims = validate_embed_token(
        embed_client.application.extensions["planfuse"], r.get_json()["token"]
    )
    assert claims.params == {"project": "P-1"} and claims.sub == "admin:test admin"

    logout = embed_client.post("/admin/logout", data={"csrf_token": config["csrf_token"]})
    assert logout.status_code == 302
    assert embed_client.get("/admin/embed").status_code == 302


def test_console_pages_need_sign_in(embed_client):
    assert embed_client.get("/admin/embed").status_code == 302
    assert embed_client.post("/admin/embed/preview-token", json={}).status_code == 401


def test_a_forged_console_cookie_is_refused(embed_client, admin_token):
    embed_client.set_cookie("pf_admin", "abc.9999999999.deadbeef", path="/admin")
    assert embed_client.get("/admin/embed").status_code == 302


# --- CLI ---------------------------------------------------------------------------------


@pytest.fixture
def run(pf, monkeypatch):
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", pf.settings.database_url)
    monkeypatch.setenv("PLANFUSE_SECRET_KEY", pf.settings.secret_key)
    # The probe widget reaches the CLI through the widget_modules extension point.
    monkeypatch.setenv("PLANFUSE_WIDGET_MODULES", "embed_support")
    from planfuse import cli as cli_module

    cli_module._register()
    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        return result

    return invoke


def test_cli_apps_create_list_rotate_disable_and_token(run, pf):
    r = run(
        "apps",
        "create",
        "审批平台",
        "--origin",
        "https://portal.example.gov.cn",
        "--origin",
        "http://127.0.0.1:8001",
        "--json",
    )
    assert r.exit_code == 0, r.output
    created = json.loads(r.stdout)
    assert set(created) == {"app_id", "secret"}
    app_id = created["app_id"]

    listed = run("apps", "list")
    assert app_id in listed.output and created["secret"] not in listed.output
    as_json = json.loads(run("apps", "list", "--json").stdout)
    assert as_json[0]["origins"] == ["https://portal.example.gov.cn", "http://127.0.0.1:8001"]

    token = run(
        "token",
        "--app",
        app_id,
        "--widget",
        "probe",
        "--sub",
        "u-1",
        "--param",
        "project=P-9",
        "--ttl",
        "120",
    ).stdout.strip()
    claims = validate_embed_token(pf, token)
    assert claims.params == {"project": "P-9"} and claims.exp - claims.iat == 120

    rotated = json.loads(run("apps", "rotate", app_id, "--grace", "0", "--json").stdout)
    assert rotated["secret"] != created["secret"]
    assert run("apps", "disable", app_id).exit_code == 0
    assert "disabled" in run("apps", "list").output
    assert run("apps", "disable", app_id, "--enable").exit_code == 0
    assert run("apps", "revoke", app_id).exit_code == 0


def test_cli_reports_bad_input(run):
    r = run("apps", "create", "x", "--origin", "not-an-origin")
    assert r.exit_code == 2 and "scheme://host:port" in r.output
    r = run("token", "--app", "app_nope", "--widget", "probe", "--sub", "u")
    assert r.exit_code == 2
    r = run("apps", "create", "x", "--origin", "https://a.example", "--widget", "nope")
    assert r.exit_code == 2 and "unknown widget" in r.output


def test_production_refuses_weak_secret_keys():
    from planfuse.app import create_app
    from planfuse.settings import SettingsError

    for key in ["", "short", "changeme", "sample-" + "x" * 40]:
        with pytest.raises(SettingsError):
            create_app({"env": "production", "secret_key": key, "database_url": "sqlite://"})
