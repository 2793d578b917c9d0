"""Widget pages (headers, config, errors), the session exchange, caller auth and locked
params, the manifest, the SDK file and the embed-tokens API."""

import re
import time

import pytest
from embed_support import HOST_ORIGIN, basic, bearer, csp, exchange_session, page_config
from flask import Blueprint, jsonify, request

from planfuse.auth.apps import update_host_app
from planfuse.auth.caller import apply_locked_params
from planfuse.auth.sessions import verify_session
from planfuse.auth.tokens import TokenError
from planfuse.errors import DomainError
from planfuse.http.caller import require_caller

# --- the widget page ------------------------------------------------------------------


def test_widget_page_headers_and_config(embed_client, host):
    r = embed_client.get(f"/embed/probe?app={host.id}&host_origin={HOST_ORIGIN}&locale=en")
    assert r.status_code == 200
    policy = csp(r)
    assert policy["frame-ancestors"].split() == [HOST_ORIGIN, "http://127.0.0.1:8001", "'self'"]
    assert policy["script-src"] == "'self'"
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "Set-Cookie" not in r.headers
    config = page_config(r)
    assert config["host_origin"] == HOST_ORIGIN
    assert config["app"] == host.id and config["widget"] == "probe" and config["locale"] == "en"
    assert config["title"] == "Test probe widget"
    # No inline executable script: every <script> has a src or is JSON data.
    for tag in re.findall(rb"<script[^>]*>", r.data):
        assert b"src=" in tag or b'type="application/json"' in tag, tag
    assert b'lang="en"' in r.data


def test_a_plain_iframe_without_host_origin(embed_client, host, other_host):
    # An app with one origin: that is the page that may frame the widget, so it talks to it.
    r = embed_client.get(f"/embed/probe?app={other_host.id}")
    assert page_config(r)["host_origin"] == "https://other.example.org"
    # Several origins: the URL must say which (the runtime asks for host_origin, or takes the
    # browser's ancestorOrigins); PlanFuse's own origin never counts as one of the app's.
    r = embed_client.get(f"/embed/probe?app={host.id}")
    assert page_config(r)["host_origin"] is None
    assert page_config(r)["allowed_origins"][:2] == [HOST_ORIGIN, "http://127.0.0.1:8001"]


def test_widget_page_defaults_to_zh_cn(embed_client, host):
    r = embed_client.get(f"/embed/probe?app={host.id}")
    assert b'lang="zh-CN"' in r.data
    assert page_config(r)["title"] == "测试探针组件"


def test_unknown_app_may_be_framed_by_nobody(embed_client):
    r = embed_client.get("/embed/probe?app=app_unknown")
    assert r.status_code == 404
    assert csp(r)["frame-ancestors"] == "'none'"


def test_missing_app_parameter(embed_client):
    r = embed_client.get("/embed/probe")
    assert r.status_code == 404
    assert csp(r)["frame-ancestors"] == "'none'"


def test_disabled_app_may_be_framed_by_nobody(embed_client, pf, host):
    update_host_app(pf, host.id, disabled=True)
    r = embed_client.get(f"/embed/probe?app={host.id}")
    assert r.status_code == 403
    assert csp(r)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "origin",
    [
        "https://host.example.com.evil.net",
        "null",
        "https://evil.example",
        "http://host.example.com",
    ],
)
def test_host_origin_not_on_the_list(embed_client, host, origin):
    r = embed_client.get(f"/embed/probe?app={host.id}&host_origin={origin}")
    assert r.status_code == 403
    assert page_config(r)["error"]["code"] == "origin_denied"
    assert HOST_ORIGIN in csp(r)["frame-ancestors"]  # the browser still blocks other framers


def test_widget_not_allowed_for_the_app(embed_client, pf, host, tmp_path):
    update_host_app(pf, host.id, widgets=["probe"])
    assert embed_client.get(f"/embed/probe?app={host.id}").status_code == 200


def test_params_and_theme_are_checked_against_the_manifest(embed_client, host):
    ok = embed_client.get(
        f"/embed/probe?app={host.id}&param.lines=3&param.mode=full&theme.primary=%23aa0000"
        "&theme.radius=2px"
    )
    assert ok.status_code == 200
    config = page_config(ok)
    assert config["params"] == {"lines": 3, "mode": "full"}
    assert config["theme"] == {"primary": "#aa0000", "radius": "2px"}
    for bad in [
        "param.nope=1",
        "param.lines=many",
        "param.mode=other",
        "theme.primary=red;background:url(x)",
        "theme.unknown=1px",
    ]:
        r = embed_client.get(f"/embed/probe?app={host.id}&{bad}")
        assert r.status_code == 400, bad
        assert page_config(r)["error"]["code"] == "invalid_param"


def test_unknown_widget_is_a_problem(embed_client, host):
    r = embed_client.get(f"/embed/nope?app={host.id}", headers={"Accept": "application/json"})
    assert r.status_code == 404
    assert csp(r)["frame-ancestors"] == "'none'"


def test_widget_assets_are_served_with_long_caching(embed_client, host):
    r = embed_client.get(f"/embed/probe?app={host.id}")
    src = re.search(rb'<script type="module" src="([^"]+)"', r.data).group(1).decode()
    assert src.startswith("/embed/assets/probe/probe.js?v=")
    asset = embed_client.get(src)
    assert asset.status_code == 200
    assert "immutable" in asset.headers["Cache-Control"]
    asset.close()
    assert embed_client.get("/embed/assets/probe/../../secret").status_code == 404


def _asset(client, path: str) -> tuple[str, str, bytes]:
    """(Cache-Control, media type, body) of a static asset, its file closed."""
    answer = client.get(path)
    assert answer.status_code == 200, path
    body = answer.get_data()
    answer.close()
    return answer.headers["Cache-Control"], answer.mimetype, body


def test_the_map_code_is_a_shared_chunk_loaded_when_a_widget_starts_its_map(embed_client, host):
    """A widget's module and what it imports at once are small; the map (OpenLayers) is a
    chunk of its own, imported by import() under a content-hashed name and cached like a
    versioned URL."""
    page = embed_client.get(f"/embed/monitor?app={host.id}&host_origin={HOST_ORIGIN}")
    src = re.search(rb'<script type="module" src="([^"]+)"', page.data).group(1).decode()
    _, media_type, module = _asset(embed_client, src)
    assert "javascript" in media_type
    # Every chunk the module imports at once, and what those import at once.
    eager, lazy, todo, code_bytes = set(), set(), [module.decode()], 0
    while todo:
        code = todo.pop()
        code_bytes += len(code)
        lazy |= set(re.findall(r'import\("\./(chunk-[A-Z0-9]{8}\.js)"\)', code))
        for name in set(re.findall(r'from\s*"\./(chunk-[A-Z0-9]{8}\.js)"', code)) - eager:
            eager.add(name)
            caching, media_type, chunk = _asset(embed_client, f"/embed/assets/monitor/{name}")
            assert "javascript" in media_type and "immutable" in caching
            todo.append(chunk.decode())
    assert code_bytes < 150_000  # the widget, its runtime and helpers: not the map
    assert len(lazy) == 1 and not lazy & eager
    caching, _, map_code = _asset(embed_client, f"/embed/assets/monitor/{lazy.pop()}")
    assert "immutable" in caching
    assert len(map_code) > 300_000 and b"ol-viewport" in map_code
    # Any other name is not a chunk: no immutable caching for it.
    caching, _, _ = _asset(embed_client, "/embed/assets/monitor/monitor.css")
    assert "immutable" not in caching


# --- manifest and SDK -------------------------------------------------------------------


def test_manifest_lists_the_widgets_and_the_protocol(embed_client):
    r = embed_client.get("/embed/manifest.json")
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    m = r.get_json()
    assert m["protocol_version"] == 1
    assert set(m["error_codes"]) == {
        "token_expired",
        "token_invalid",
        "origin_denied",
        "forbidden",
        "network",
    }
    assert set(m["lifecycle_events"]) == {"ready", "resize", "error"}
    probe = m["widgets"]["probe"]
    assert set(probe["commands"]) == {"lines", "echo", "call"}
    assert "lines-changed" in probe["events"]
    assert probe["params"]["project"]["lockable"] is True


def test_embed_js_is_served_with_cache_headers(embed_client):
    from planfuse.embed.views import EMBED_JS

    r = embed_client.get("/embed.js")
    r.close()
    if not EMBED_JS.exists():
        assert r.status_code == 503
        return
    assert r.status_code == 200
    assert r.mimetype == "text/javascript"
    assert "max-age=3600" in r.headers["Cache-Control"]
    assert r.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    again = embed_client.get("/embed.js", headers={"If-None-Match": r.headers["ETag"]})
    again.close()
    assert again.status_code == 304


# --- sessions, callers and locked params --------------------------------------------------


@pytest.fixture
def service_client(embed_app):
    """A function-service stand-in written the way the real ones must be."""
    bp = Blueprint("test_service", __name__)
    records = {}

    @bp.post("/api/v1/_test/records")
    def add_record():
        caller = require_caller()
        values = apply_locked_params(caller, request.get_json())
        records.setdefault(caller.app_id, []).append(values)
        return jsonify(values)

    @bp.get("/api/v1/_test/records")
    def list_records():
        caller = require_caller()
        return jsonify(records.get(caller.app_id, []))

    @bp.get("/api/v1/_test/whoami")
    def whoami():
        caller = require_caller(widget=request.args.get("widget"))
        return jsonify(
            app_id=caller.app_id,
            user=caller.user,
            roles=list(caller.roles),
            params=dict(caller.params),
            via=caller.via,
            widget=caller.widget,
        )

    embed_app.register_blueprint(bp)
    return embed_app.test_client()


def test_session_token_identifies_the_caller(service_client, host):
    session = exchange_session(service_client, host, params={"project": "P-7"})
    r = service_client.get("/api/v1/_test/whoami", headers=bearer(session["session_token"]))
    assert r.get_json() == {
        "app_id": host.id,
        "user": "user-1",
        "roles": ["reviewer"],
        "params": {"project": "P-7"},
        "via": "session",
        "widget": "probe",
    }


def test_session_of_another_widget_is_forbidden(service_client, host):
    session = exchange_session(service_client, host)
    r = service_client.get(
        "/api/v1/_test/whoami?widget=compliance", headers=bearer(session["session_token"])
    )
    assert r.status_code == 403


def test_basic_auth_for_host_backends(service_client, host):
    r = service_client.get("/api/v1/_test/whoami", headers=basic(host.id, host.secret))
    assert r.get_json()["via"] == "basic" and r.get_json()["user"] is None
    assert (
        service_client.get("/api/v1/_test/whoami", headers=basic(host.id, "pfs_wrong")).status_code
        == 401
    )
    assert service_client.get("/api/v1/_test/whoami").status_code == 401
    assert (
        service_client.get(
            "/api/v1/_test/whoami", headers={"Authorization": "Basic !!!"}
        ).status_code
        == 401
    )


def test_an_embed_token_is_not_a_session_token(service_client, host):
    r = service_client.get("/api/v1/_test/whoami", headers=bearer(host.token()))
    assert r.status_code == 401


def test_locked_params_cannot_be_widened(service_client, host):
    token = exchange_session(service_client, host, params={"project": "P-7"})["session_token"]
    ok = service_client.post(
        "/api/v1/_test/records", json={"note": "a", "project": "P-7"}, headers=bearer(token)
    )
    assert ok.status_code == 200
    filled = service_client.post("/api/v1/_test/records", json={"note": "b"}, headers=bearer(token))
    assert filled.get_json()["project"] == "P-7"
    denied = service_client.post(
        "/api/v1/_test/records", json={"project": "P-8"}, headers=bearer(token)
    )
    assert denied.status_code == 403
    body = denied.get_json()
    assert body["type"].endswith("/forbidden")
    assert body["errors"][0]["field"] == "project"


def test_app_a_never_sees_app_b_data(service_client, host, other_host):
    a = exchange_session(service_client, host)["session_token"]
    b = exchange_session(service_client, other_host)["session_token"]
    service_client.post("/api/v1/_test/records", json={"secret": "of A"}, headers=bearer(a))
    assert service_client.get("/api/v1/_test/records", headers=bearer(b)).get_json() == []
    assert len(service_client.get("/api/v1/_test/records", headers=bearer(a)).get_json()) == 1


def test_expired_session(pf, service_client, host):
    token = exchange_session(service_client, host)["session_token"]
    with pytest.raises(TokenError) as info:
        verify_session(pf, token, now=time.time() + pf.settings.session_lifetime_s + 1)
    assert info.value.code == "token_expired"


def test_disabling_the_app_ends_running_sessions(pf, service_client, host):
    token = exchange_session(service_client, host)["session_token"]
    update_host_app(pf, host.id, disabled=True)
    assert service_client.get("/api/v1/_test/whoami", headers=bearer(token)).status_code == 401


def test_revoking_ends_running_sessions(pf, service_client, host):
    from datetime import UTC, datetime, timedelta

    from planfuse.auth.apps import revoke_tokens

    token = exchange_session(service_client, host)["session_token"]
    revoke_tokens(pf, host.id, datetime.now(UTC) + timedelta(seconds=1))
    assert service_client.get("/api/v1/_test/whoami", headers=bearer(token)).status_code == 401


def test_a_forged_session_token(service_client, host):
    from embed_support import sign_hs256

    forged = sign_hs256({"typ": "pf-session", "app": host.id, "exp": 2**40}, host.secret)
    assert service_client.get("/api/v1/_test/whoami", headers=bearer(forged)).status_code == 401


def test_session_body_limits(embed_client):
    r = embed_client.post(
        "/embed/session", data=b"{" + b" " * 20000 + b"}", content_type="application/json"
    )
    assert r.status_code == 401
    assert embed_client.post("/embed/session", data="nope").status_code == 400


def test_apply_locked_params_compares_query_text():
    from planfuse.auth.caller import Caller

    caller = Caller(app_id="a", user="u", params={"project": 42, "flag": True})
    assert apply_locked_params(caller, {"project": "42"})["project"] == 42
    with pytest.raises(DomainError):
        apply_locked_params(caller, {"flag": "1"})


def test_credentials_of_an_authorization_header():
    from planfuse.auth.caller import credentials

    assert credentials("Bearer abc") == ("bearer", "abc")
    assert credentials(" basic  YTpi ") == ("basic", "YTpi")
    assert credentials("Bearer") == ("bearer", "")
    assert credentials(None) == ("", "") and credentials("") == ("", "")


# --- POST /api/v1/embed-tokens -----------------------------------------------------------


def test_embed_tokens_api_mints_a_working_token(embed_client, host):
    r = embed_client.post(
        "/api/v1/embed-tokens",
        json={"widget": "probe", "sub": "u-9", "params": {"project": "P-1"}, "roles": ["x"]},
        headers=basic(host.id, host.secret),
    )
    assert r.status_code == 201, r.get_json()
    token = r.get_json()["token"]
    session = embed_client.post("/embed/session", json={"token": token}).get_json()
    assert session["params"] == {"project": "P-1"} and session["user"]["sub"] == "u-9"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"widget": "nope", "sub": "u"}, 400),
        ({"widget": "probe"}, 400),
        ({"widget": "probe", "sub": "u", "ttl": 601}, 400),
        ({"widget": "probe", "sub": "u", "params": {"lines": 2}}, 400),
        ({"widget": "probe", "sub": "u", "roles": "reviewer"}, 400),
    ],
)
def test_embed_tokens_api_refuses_bad_requests(embed_client, host, body, status):
    r = embed_client.post("/api/v1/embed-tokens", json=body, headers=basic(host.id, host.secret))
    assert r.status_code == status, r.get_json()


def test_embed_tokens_api_needs_the_app_secret(embed_client, host):
    body = {"widget": "probe", "sub": "u"}
    assert embed_client.post("/api/v1/embed-tokens", json=body).status_code == 401
    wrong = basic(host.id, "pfs_nope")
    assert embed_client.post("/api/v1/embed-tokens", json=body, headers=wrong).status_code == 401
    bearer_only = bearer(host.token())
    assert (
        embed_client.post("/api/v1/embed-tokens", json=body, headers=bearer_only).status_code == 401
    )
