"""Departments' own services (部门自有服务) registered in the catalogue, on SQLite and
PostgreSQL: a second PlanFuse instance's OGC API – Features collection and WFS read
through the proxy under PlanFuse's authentication and grants, health on a schedule going
to degraded when the remote stops and back when it starts, the credential never echoed,
and the bad inputs — server-side request forgery, slow, garbage and oversized answers."""

from __future__ import annotations

import json
import time

import pytest
from conftest import TEST_SECRET
from embed_support import basic, session_headers

from planfuse.app import create_app
from planfuse.context import build_context
from planfuse.http.problems import problem_dict
from planfuse.services.monitoring.metrics import metrics_recorder
from planfuse.settings import load_settings
from tests.api.ogc_fixtures import import_all
from tests.remote_servers import Restartable, closed_port, http_server, raw_server

CACHE_S = 0.2
MAX_BYTES = 1_000_000
TIMEOUT_S = 1.5
PARCELS = 56


@pytest.fixture
def settings_overrides():
    return {
        "remote_services_allow_private": True,  # the second server runs on 127.0.0.1
        "remote_service_health_interval_s": 1.0,
        "remote_service_health_timeout_s": 1.0,
        "remote_service_timeout_s": TIMEOUT_S,
        "remote_service_max_bytes": MAX_BYTES,
        "service_state_cache_s": CACHE_S,
        "service_metrics_flush_s": 0,
        "rate_limits_enabled": False,
    }


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def department(tmp_path):
    """A second PlanFuse instance (the department's own server) with four layers."""
    url = f"sqlite:///{tmp_path / 'department.db'}"
    config = {"database_url": url, "secret_key": TEST_SECRET, "rate_limits_enabled": False}
    loader = build_context(load_settings(config, environ={}), describe_failure=problem_dict)
    loader.db.upgrade()
    import_all(loader, tmp_path)
    loader.close()
    app = create_app(config)
    server = Restartable(app)
    server.start()
    yield server
    server.stop()
    app.extensions["planfuse"].close()


def register(client, token, **fields):
    body = {
        "id": "eco_parcels",
        "name": {"zh-CN": "生态环境局用地图斑", "en": "Ecology bureau parcels"},
        "dept": "ecology_environment",
        "kind": "ogc_features",
        **fields,
    }
    return client.post("/api/v1/admin/remote-services", json=body, headers=admin(token))


def grant(client, token, service_id, app_id, allowed=True):
    r = client.put(
        f"/api/v1/admin/services/{service_id}/grants/{app_id}",
        json={"allowed": allowed},
        headers=admin(token),
    )
    assert r.status_code == 200, r.get_json()
    time.sleep(CACHE_S * 1.5)


def entry(client, token, service_id):
    r = client.get(f"/api/v1/catalogue/{service_id}", headers=admin(token))
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def wait_for(client, token, service_id, status, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while True:
        found = entry(client, token, service_id)
        if found["status"] == status and found["remote"]["health"]["status"] != "unknown":
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def problem_type(response) -> str:
    assert response.mimetype == "application/problem+json", response.data[:300]
    return response.get_json()["type"].rsplit("/", 1)[1]


# --- through the proxy ----------------------------------------------------------------


def test_a_departments_collection_and_wfs_read_through_the_proxy(
    embed_client, admin_token, host, department
):
    r = register(embed_client, admin_token, base_url=f"{department.url}/ogc/collections/parcels")
    assert r.status_code == 201, r.get_json()
    assert r.headers["Location"] == "/api/v1/admin/remote-services/eco_parcels"
    r = register(
        embed_client,
        admin_token,
        id="eco_wfs",
        name={"zh-CN": "生态环境局 WFS", "en": "Ecology bureau WFS"},
        kind="wfs",
        base_url=f"{department.url}/ows",
    )
    assert r.status_code == 201, r.get_json()
    wait_for(embed_client, admin_token, "eco_parcels", "running")
    wait_for(embed_client, admin_token, "eco_wfs", "running")
    grant(embed_client, admin_token, "eco_parcels", host.id)
    grant(embed_client, admin_token, "eco_wfs", host.id)

    # OGC API – Features items, every parcel, with the remote's self-links rewritten to the
    # proxy so a client following them stays behind PlanFuse.
    r = embed_client.get("/api/v1/remote/eco_parcels/items?limit=100", headers=basic(host))
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "application/geo+json"
    collection = r.get_json()
    assert collection["numberMatched"] == PARCELS
    assert len(collection["features"]) == PARCELS
    hrefs = [link["href"] for link in collection["links"]]
    assert hrefs and all(h.startswith("http://localhost/api/v1/remote/eco_parcels") for h in hrefs)
    assert department.url not in r.get_data(as_text=True)
    # The query string is forwarded: a page of 10, then the next one.
    r = embed_client.get("/api/v1/remote/eco_parcels/items?limit=10&offset=50", headers=basic(host))
    assert len(r.get_json()["features"]) == PARCELS - 50
    one = collection["features"][0]["id"]
    r = embed_client.get(f"/api/v1/remote/eco_parcels/items/{one}", headers=basic(host))
    assert r.status_code == 200 and r.get_json()["id"] == one

    # WFS 2.0 GetFeature as GeoJSON, through the same authentication.
    query = (
        "service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:parcels"
        "&outputFormat=application/json"
    )
    r = embed_client.get(f"/api/v1/remote/eco_wfs?{query}", headers=basic(host))
    assert r.status_code == 200, r.data[:500]
    assert len(r.get_json()["features"]) == PARCELS
    r = embed_client.get(
        "/api/v1/remote/eco_wfs?service=WFS&request=GetCapabilities", headers=basic(host)
    )
    assert r.status_code == 200 and b"WFS_Capabilities" in r.data
    assert department.url.encode() not in r.data  # operation URLs point at the proxy
    assert b"http://localhost/api/v1/remote/eco_wfs" in r.data

    # The catalogue lists both with the department, interface and health; a host app sees
    # the proxy, never the remote's own address.
    wait_for(embed_client, admin_token, "eco_wfs", "running")
    found = wait_for(embed_client, admin_token, "eco_parcels", "running")
    assert found["kind"] == "data" and found["interface"] == "OGC API – Features"
    assert found["dept"] == "ecology_environment"
    assert found["dept_name"]["zh-CN"] == "生态环境局"
    assert found["remote"]["health"]["status"] == "up"
    assert found["remote"]["health"]["latency_ms"] > 0
    assert found["remote"]["base_url"].startswith(department.url)
    assert found["endpoints"][0]["path"] == "/api/v1/remote/eco_parcels"
    listing = embed_client.get("/api/v1/catalogue?kind=data", headers=basic(host)).get_json()
    mine = {s["id"]: s for s in listing["services"]}
    assert {"eco_parcels", "eco_wfs"} <= set(mine)
    assert "base_url" not in mine["eco_parcels"]["remote"]
    assert department.url not in json.dumps(listing)
    # Counted as its own service (each process writes its counts; this one now).
    metrics_recorder(embed_client.application.extensions["planfuse"]).flush()
    listing = embed_client.get("/api/v1/catalogue?kind=data", headers=basic(host)).get_json()
    mine = {s["id"]: s for s in listing["services"]}
    assert mine["eco_parcels"]["figures"]["requests_15m"] >= 3
    # And in the monitoring report, beside PlanFuse's own services.
    report = embed_client.get("/api/v1/admin/services", headers=admin(admin_token)).get_json()
    figures = next(s for s in report["services"] if s["id"] == "eco_parcels")
    assert figures["windows"]["15m"]["requests"] >= 3 and figures["kind"] == "data"


def test_only_granted_callers_get_through(embed_client, admin_token, host, other_host, department):
    base = f"{department.url}/ogc/collections/parcels"
    assert register(embed_client, admin_token, base_url=base).status_code == 201
    wait_for(embed_client, admin_token, "eco_parcels", "running")
    url = "/api/v1/remote/eco_parcels/items?limit=1"

    # Nobody is granted a department's service until an administrator grants it.
    r = embed_client.get(url)
    assert r.status_code == 401
    r = embed_client.get(url, headers=basic(host))
    assert r.status_code == 403 and problem_type(r) == "service_not_granted"
    assert "Ecology bureau parcels" in r.get_json()["detail"]
    assert (
        embed_client.get(url, headers=session_headers(embed_client, host, "probe")).status_code
        == 403
    )
    assert "eco_parcels" not in {
        s["id"]
        for s in embed_client.get("/api/v1/catalogue", headers=basic(host)).get_json()["services"]
    }
    r = embed_client.get(url, headers=basic(host.id, "wrong-secret"))
    assert r.status_code == 401

    # An administrator always may; a granted app's backend and its widget sessions too.
    assert embed_client.get(url, headers=admin(admin_token)).status_code == 200
    grant(embed_client, admin_token, "eco_parcels", host.id)
    assert embed_client.get(url, headers=basic(host)).status_code == 200
    assert (
        embed_client.get(url, headers=session_headers(embed_client, host, "probe")).status_code
        == 200
    )
    assert embed_client.get(url, headers=basic(other_host)).status_code == 403

    # Refused again, stopped, removed.
    grant(embed_client, admin_token, "eco_parcels", host.id, allowed=False)
    assert embed_client.get(url, headers=basic(host)).status_code == 403
    grant(embed_client, admin_token, "eco_parcels", host.id)
    r = embed_client.post(
        "/api/v1/admin/services/eco_parcels/stop",
        json={"reason": "数据更新"},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    r = embed_client.get(url, headers=basic(host))
    assert r.status_code == 503 and problem_type(r) == "service_stopped"
    assert "生态环境局用地图斑" in r.get_json()["detail"]
    assert entry(embed_client, admin_token, "eco_parcels")["status"] == "stopped"
    embed_client.post("/api/v1/admin/services/eco_parcels/start", headers=admin(admin_token))
    assert embed_client.get(url, headers=basic(host)).status_code == 200
    r = embed_client.delete("/api/v1/admin/remote-services/eco_parcels", headers=admin(admin_token))
    assert r.status_code == 204
    time.sleep(CACHE_S * 1.5)
    r = embed_client.get(url, headers=basic(host))
    assert r.status_code == 404 and problem_type(r) == "unknown_service"
    assert (
        embed_client.get("/api/v1/catalogue/eco_parcels", headers=admin(admin_token)).status_code
        == 404
    )


def test_health_goes_degraded_when_the_remote_stops_and_back_when_it_starts(
    embed_client, admin_token, host, department
):
    base = f"{department.url}/ogc/collections/parcels"
    assert register(embed_client, admin_token, base_url=base).status_code == 201
    running = wait_for(embed_client, admin_token, "eco_parcels", "running")
    grant(embed_client, admin_token, "eco_parcels", host.id)
    assert running["remote"]["health"]["http_status"] == 200

    department.stop()
    degraded = wait_for(embed_client, admin_token, "eco_parcels", "degraded")
    health = degraded["remote"]["health"]
    assert health["status"] == "down" and health["latency_ms"] is None
    assert health["error"].startswith("remote_unreachable")
    assert degraded["status_name"] == {"zh-CN": "异常", "en": "Degraded"}
    r = embed_client.get("/api/v1/remote/eco_parcels/items", headers=basic(host))
    assert r.status_code == 502 and problem_type(r) == "remote_unreachable"
    listing = embed_client.get(
        "/api/v1/catalogue?status=degraded", headers=admin(admin_token)
    ).get_json()
    assert [s["id"] for s in listing["services"]] == ["eco_parcels"]

    department.start()
    back = wait_for(embed_client, admin_token, "eco_parcels", "running")
    assert back["remote"]["health"]["status"] == "up"
    r = embed_client.get("/api/v1/remote/eco_parcels/items?limit=100", headers=basic(host))
    assert r.status_code == 200 and r.get_json()["numberMatched"] == PARCELS

    # Checked at once on request, as the schedule would.
    r = embed_client.post(
        "/api/v1/admin/remote-services/eco_parcels/check", headers=admin(admin_token)
    )
    assert r.status_code == 200 and r.get_json()["remote"]["health"]["status"] == "up"


def test_what_is_forwarded_and_what_is_not(embed_client, admin_token, host):
    with http_server() as remote:
        r = register(
            embed_client,
            admin_token,
            id="water_api",
            name={"zh-CN": "水利局接口", "en": "Water bureau API"},
            dept="water_resources",
            kind="json_api",
            base_url=f"{remote.url}/api/",
            auth={"type": "bearer", "token": "remote-secret-token-123"},
        )
        assert r.status_code == 201, r.get_json()
        registered = r.get_json()
        assert registered["kind"] == "function"
        assert registered["remote"]["auth"] == {"type": "bearer", "set": True}
        assert "remote-secret-token-123" not in r.get_data(as_text=True)
        grant(embed_client, admin_token, "water_api", host.id)

        r = embed_client.post(
            "/api/v1/remote/water_api/stations/7/readings?from=2026-01-01&q=%E6%B0%B4",
            data=b'{"level": 3}',
            headers={
                **basic(host),
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Cookie": "planfuse_admin=secret-cookie",
                "X-Forwarded-For": "10.9.9.9",
            },
        )
        assert r.status_code == 200, r.data
        seen = remote.seen[-1]
        assert seen.method == "POST"
        assert seen.path == "/api/stations/7/readings?from=2026-01-01&q=%E6%B0%B4"
        assert seen.body == b'{"level": 3}'
        # PlanFuse's credential for the remote; never the caller's, never its cookies.
        assert seen.headers["authorization"] == "Bearer remote-secret-token-123"
        assert "cookie" not in seen.headers and "x-forwarded-for" not in seen.headers
        assert seen.headers["content-type"] == "application/json"
        # Hop-by-hop headers (and those Connection names), cookies and challenges dropped.
        assert r.headers["X-Remote"] == "kept"
        for name in ("X-Hop", "Keep-Alive", "Set-Cookie", "WWW-Authenticate"):
            assert name not in r.headers, name
        assert r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.get_json()["self"] == "http://localhost/api/v1/remote/water_api/things/1"

        # A path cannot climb out of the service's base URL.
        r = embed_client.get("/api/v1/remote/water_api/a/../../secret", headers=basic(host))
        assert r.status_code in (400, 404)
        assert all("secret" not in s.path for s in remote.seen)

    # The credential is in no answer and no audit entry.
    for url in (
        "/api/v1/admin/remote-services",
        "/api/v1/admin/remote-services/water_api",
        "/api/v1/catalogue/water_api",
        "/api/v1/admin/audit",
    ):
        r = embed_client.get(url, headers=admin(admin_token))
        assert r.status_code == 200, url
        assert "remote-secret-token-123" not in r.get_data(as_text=True), url
    # Changing the name keeps the credential; `auth: null` removes it.
    r = embed_client.patch(
        "/api/v1/admin/remote-services/water_api",
        json={"name": {"zh-CN": "水利局水位接口", "en": "Water levels API"}},
        headers=admin(admin_token),
    )
    assert r.status_code == 200 and r.get_json()["remote"]["auth"]["set"] is True
    assert r.get_json()["name"]["en"] == "Water levels API"
    r = embed_client.patch(
        "/api/v1/admin/remote-services/water_api", json={"auth": None}, headers=admin(admin_token)
    )
    assert r.get_json()["remote"]["auth"] == {"type": "none", "set": False}


# --- bad remotes ----------------------------------------------------------------------


def _sleepy(handler, echo):
    time.sleep(4)
    handler.send_response(200)
    handler.end_headers()


def _oversized_declared(handler, echo):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(MAX_BYTES * 2))
    handler.end_headers()
    handler.wfile.write(b"[" + b"0," * 1000)


def _oversized_chunked(handler, echo):
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    piece = b"0," * 32768
    for _ in range(MAX_BYTES // len(piece) + 2):
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    handler.wfile.write(b"0\r\n\r\n")


def _register_and_grant(client, token, host, base_url, service_id="bad_remote"):
    r = register(client, token, id=service_id, kind="json_api", base_url=base_url)
    assert r.status_code == 201, r.get_json()
    grant(client, token, service_id, host.id)


def test_a_slow_remote_is_a_504_within_the_limit(embed_client, admin_token, host):
    with http_server(_sleepy) as remote:
        _register_and_grant(embed_client, admin_token, host, remote.url)
        started = time.monotonic()
        r = embed_client.get("/api/v1/remote/bad_remote/anything", headers=basic(host))
        took = time.monotonic() - started
    assert r.status_code == 504 and problem_type(r) == "remote_timeout"
    assert "remote_service_timeout_s" in r.get_json()["detail"]
    assert TIMEOUT_S * 0.9 < took < TIMEOUT_S + 1.5


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (b"this is not HTTP at all\r\n\r\n", "remote_bad_answer"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "remote_bad_answer"),
        (b"", "remote_bad_answer"),
    ],
)
def test_a_garbage_answer_is_a_502(embed_client, admin_token, host, answer, code):
    with raw_server(answer) as url:
        _register_and_grant(embed_client, admin_token, host, url)
        r = embed_client.get("/api/v1/remote/bad_remote/x", headers=basic(host))
    assert r.status_code == 502 and problem_type(r) == code, r.get_json()


@pytest.mark.parametrize("behaviour", [_oversized_declared, _oversized_chunked])
def test_an_oversized_answer_is_a_502(embed_client, admin_token, host, behaviour):
    with http_server(behaviour) as remote:
        _register_and_grant(embed_client, admin_token, host, remote.url)
        r = embed_client.get("/api/v1/remote/bad_remote/big", headers=basic(host))
    assert r.status_code == 502 and problem_type(r) == "remote_too_large"
    assert str(MAX_BYTES) in r.get_json()["detail"]


def test_an_unreachable_remote_is_a_502_and_degraded(embed_client, admin_token, host):
    _register_and_grant(embed_client, admin_token, host, f"http://127.0.0.1:{closed_port()}")
    r = embed_client.get("/api/v1/remote/bad_remote/x", headers=basic(host))
    assert r.status_code == 502 and problem_type(r) == "remote_unreachable"
    wait_for(embed_client, admin_token, "bad_remote", "degraded")


def test_redirects_are_followed_only_within_the_services_origin(embed_client, admin_token, host):
    with http_server() as elsewhere:

        def redirecting(handler, echo):
            target = (
                "/api/landed"
                if handler.path.startswith("/api/inside")
                else (f"{elsewhere.url}/stolen")
            )
            if handler.path.startswith("/api/landed"):
                return _echo_answer_json(handler)
            handler.send_response(302)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with http_server(redirecting) as remote:
            _register_and_grant(embed_client, admin_token, host, f"{remote.url}/api")
            r = embed_client.get("/api/v1/remote/bad_remote/inside", headers=basic(host))
            assert r.status_code == 200 and r.get_json() == {"landed": True}
            r = embed_client.get("/api/v1/remote/bad_remote/outside", headers=basic(host))
            assert r.status_code == 502 and problem_type(r) == "remote_redirect_refused"
            assert elsewhere.seen == []


def _echo_answer_json(handler):
    body = b'{"landed": true}'
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


# --- registration -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "status"),
    [
        ({"id": "Bad Id"}, "id", 400),
        ({"id": "ogc_features"}, None, 409),  # one of PlanFuse's own
        ({"name": {"zh-CN": "只有中文"}}, "name.en", 400),
        ({"dept": "no_such_bureau"}, "dept", 400),
        ({"kind": "wcs"}, "kind", 400),
        ({"base_url": "ftp://example.org/data"}, "base_url", 400),
        ({"base_url": "/relative/path"}, "base_url", 400),
        ({"base_url": "http://user:pw@127.0.0.1/"}, "base_url", 400),
        ({"openapi_url": "file:///etc/passwd"}, "openapi_url", 400),
        ({"auth": {"type": "basic", "username": "u"}}, "auth.password", 400),
        ({"auth": {"type": "header", "name": "Host", "value": "x"}}, "auth.name", 400),
        ({"auth": {"type": "digest"}}, "auth.type", 400),
        ({"extra": 1}, "extra", 400),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field(
    embed_client, admin_token, fields, field, status
):
    fields = {"base_url": "http://127.0.0.1:9/ogc", **fields}
    r = register(embed_client, admin_token, **fields)
    assert r.status_code == status, r.get_json()
    if field:
        assert r.get_json()["errors"][0]["field"] == field
    listed = embed_client.get("/api/v1/admin/remote-services", headers=admin(admin_token))
    assert listed.get_json()["total"] == 0


def test_only_an_administrator_registers(embed_client, host):
    r = embed_client.post(
        "/api/v1/admin/remote-services",
        json={"id": "x_remote", "base_url": "http://127.0.0.1/"},
        headers=basic(host),
    )
    assert r.status_code in (401, 403)
    assert embed_client.get("/api/v1/admin/remote-services").status_code == 401
