"""The admin console's page snippets, as it writes them (server/admin/assets/embed-code.js),
in Chromium: each of the four ways of embedding the compliance widget is served on a second
origin, whose backend is the console's own `planfuse-host` code for Python (token endpoint and
result verification); every widget reaches `ready`, and the snippets that report a result
send its signed_result to the backend, which verifies it."""

from __future__ import annotations

import importlib.util
import json
import os
import threading

import pytest
from compliance_world import project
from doc_snippets import console_code
from embed_browser import browser_marks, build_frontend
from flask import Flask, jsonify, request
from host_server import running_planfuse
from werkzeug.serving import make_server

from planfuse_host import PlanFuse

pytestmark = browser_marks()

WAYS = ["script", "element", "js", "iframe"]
VALUES = {"widget": "compliance", "locale": "zh-CN", "locked": {}, "unlocked": {}, "theme": {}}
PROBE = """<script>
window.seen = [];
for (const name of ['ready', 'result', 'error']) {
  document.addEventListener('planfuse:' + name, (e) => seen.push({ name, detail: e.detail }), true);
}
</script>"""


class Dispatch:
    def __init__(self):
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def backend_from_console(code: str, server, tmp_path) -> tuple[Flask, list]:
    """A host backend around the console's Python helper code: its planfuse_token and
    verify_result, served as the two endpoints the snippets call."""
    path = tmp_path / "console_backend.py"
    path.write_text(code, "utf-8")
    spec = importlib.util.spec_from_file_location("console_backend", path)
    module = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    os.environ.update(server.env())
    try:
        spec.loader.exec_module(module)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    verified: list = []
    app = Flask("console_backend")

    @app.post("/planfuse-token")
    def token():
        return jsonify(token=module.planfuse_token("reviewer-03"))

    @app.post("/planfuse-result")
    def result():
        report = module.verify_result(request.get_json()["signed_result"])
        verified.append(report)
        return jsonify(verdict=report["verdict"])

    return app, verified


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    build_frontend()
    dispatch = Dispatch()
    httpd = make_server("localhost", 0, dispatch, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    host = f"http://localhost:{httpd.server_port}"
    tmp = tmp_path_factory.mktemp("console-snippets")
    with running_planfuse(tmp, origins=(host,)) as server:
        rendered = console_code(server, {"app": server.app_id, **VALUES})
        backend, verified = backend_from_console(rendered["code"]["python-helper"], server, tmp)
        pages = {}
        planfuse = PlanFuse(server.url, server.app_id, server.secret)
        for way in WAYS:
            snippet = rendered["snippets"][way].replace("https://YOUR-PORTAL-ORIGIN", host)
            snippet = snippet.replace(
                "TOKEN_FROM_YOUR_BACKEND", planfuse.mint_token("reviewer-03", widget="compliance")
            )
            pages[way] = f"<!doctype html><meta charset=utf-8><title>{way}</title>{PROBE}{snippet}"

        @backend.get("/page/<way>")
        def page(way):
            return pages[way]

        dispatch.app = backend
        yield {"server": server, "host": host, "browser": browser, "verified": verified}
    httpd.shutdown()
    httpd.server_close()


def poll(page, expression: str, timeout_ms: int = 30_000):
    for _ in range(timeout_ms // 100):
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.mark.parametrize("way", WAYS)
def test_console_snippet_embeds_the_widget(rig, way):
    context = rig["browser"].new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{rig['host']}/page/{way}")
    poll(page, "seen.some((e) => e.name === 'ready')")
    assert not [e for e in page.evaluate("seen") if e["name"] == "error"]
    if way != "iframe":
        # The snippet sends the result's signed_result to the backend, which verifies it.
        before = len(rig["verified"])
        geometry = json.dumps(project(-100, 50, 100, 150))
        handle = "document.getElementById('planfuse-compliance').planfuse"
        result = page.evaluate(
            f"{handle}.send('check', {{geometry: {geometry}, crs: 'EPSG:4490', "
            "land_use: '0701', project_type: 'urban'})"
        )
        for _ in range(100):
            if len(rig["verified"]) > before:
                break
            page.wait_for_timeout(100)
        assert rig["verified"][-1]["id"] == result["report_id"]
        assert rig["verified"][-1]["verdict"] == "fail"
    assert errors == []
    context.close()
