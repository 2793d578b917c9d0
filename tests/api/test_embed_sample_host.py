"""The sample host application that `planfuse demo` starts on a second origin."""

import json
import socket
import urllib.request

from planfuse.auth.tokens import validate_embed_token
from planfuse.embed.host_app import create_sample_host, ensure_sample_app, start_demo_host


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sample_app_is_created_once_and_keeps_its_secret(pf):
    first = ensure_sample_app(pf, ["http://127.0.0.1:8001"])
    again = ensure_sample_app(pf, ["http://127.0.0.1:8001", "http://localhost:8001"])
    assert first == again
    from planfuse.auth.apps import get_host_app

    assert get_host_app(pf, first[0]).origins == ("http://127.0.0.1:8001", "http://localhost:8001")


def test_sample_host_backend_mints_tokens_the_server_accepts(pf):
    app_id, secret = ensure_sample_app(pf, ["http://127.0.0.1:8001"])
    client = create_sample_host("http://127.0.0.1:8000", app_id, secret).test_client()
    page = client.get("/")
    assert b"http://127.0.0.1:8000/embed.js" in page.data
    assert "frame-src http://127.0.0.1:8000" in page.headers["Content-Security-Policy"]
    r = client.post("/planfuse-token", json={"widget": "probe"})
    claims = validate_embed_token(pf, r.get_json()["token"])
    assert claims.app_id == app_id and claims.sub == "demo-reviewer-01"
    assert claims.roles == ("reviewer",)
    # The sample user coordinates conflicts: the viewer lets a visitor run a detection.
    r = client.post("/planfuse-token", json={"widget": "conflicts"})
    assert "coordinator" in validate_embed_token(pf, r.get_json()["token"]).roles
    assert client.post("/planfuse-token", json={}).status_code == 400
    asset = client.get("/assets/host.js")
    asset.close()
    assert asset.status_code == 200
    assert client.get("/assets/../app.py").status_code == 404


def test_start_demo_host_serves_on_its_port(pf):
    port = _free_port()
    url = start_demo_host(pf, "http://127.0.0.1:8000", "127.0.0.1", port)
    assert url == f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert b"embed.js" in response.read()
    request = urllib.request.Request(
        url + "planfuse-token",
        data=json.dumps({"widget": "probe"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert validate_embed_token(pf, json.loads(response.read())["token"]).widget == "probe"


def test_sample_host_verifies_results_and_blocks_a_failed_application(tmp_path):
    from compliance_world import project
    from doc_snippets import signed_results
    from host_server import running_planfuse

    from planfuse_host import PlanFuse

    check = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}
    with running_planfuse(tmp_path) as server:
        results = signed_results(server, {**check, "geometry": project(-100, 50, 100, 150)})
        planfuse = PlanFuse(server.url, server.app_id, server.secret)
        passing = planfuse.call(
            "POST", "compliance/check", {**check, "geometry": project(-600, -300, -400, -100)}
        )
        client = create_sample_host(server.url, server.app_id, server.secret).test_client()
        ours = results["ours"]
        r = client.post("/planfuse-result", json={"signed_result": ours["signature"]["jws"]})
        assert r.get_json() == {"report_id": ours["id"], "verdict": "fail", "may_submit": False}
        # The browser cannot talk the backend round: a failed report blocks the application.
        r = client.post("/applications", json={"report_id": ours["id"]})
        assert r.status_code == 409 and "blocked" in r.get_json()["error"]
        for refused in (results["theirs"], results["forged"], None):
            r = client.post("/planfuse-result", json={"signed_result": refused})
            assert r.status_code == 400 and r.get_json()["may_submit"] is False
        # A report it never verified (another app's id, or made up) is refused too.
        assert client.post("/applications", json={"report_id": "cr_made_up"}).status_code == 409
        r = client.post("/planfuse-result", json={"signed_result": passing["signature"]["jws"]})
        assert r.get_json()["may_submit"] is True
        r = client.post("/applications", json={"report_id": passing["id"]})
        assert r.status_code == 201 and r.get_json()["verdict"] == "pass"
