"""The documentation's host pages, as written, in Chromium: each `host-page` snippet (see
tests/doc_snippets.py) is served on a second origin together with the docs' own Flask host
backend, against a running PlanFuse; the widget must reach `ready`. The embedding guide's
approval page is driven through a failing and a passing check: its submit button follows
what the backend verified, never the browser's verdict.
"""

from __future__ import annotations

import json
import threading

import pytest
from compliance_world import project
from doc_snippets import ROOT, load_flask_backend, of_kind
from embed_browser import browser_marks, build_frontend
from host_server import running_planfuse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from planfuse_host import PlanFuse

pytestmark = browser_marks()

PAGES = of_kind("host-page")
#: Records every widget event the page sees: DOM `planfuse:*` events (captured on the way to
#: the element) and the messages a plain iframe posts to the page.
PROBE = """<script>
window.seen = [];
for (const name of ['ready', 'result', 'error']) {
  document.addEventListener('planfuse:' + name, (e) => seen.push({ name, detail: e.detail }), true);
}
addEventListener('message', (e) => {
  const d = e.data;
  if (d && d.planfuse === 1 && d.type === 'event') seen.push({ name: d.name, detail: d.payload });
});
</script>"""


def _load_backend(server, tmp_path):
    """The embedding guide's Flask backend (the first `host-backend` in Python)."""
    snippet = next(s for s in of_kind("host-backend") if s.lang == "python")
    return load_flask_backend(snippet, server, tmp_path)


class DocHost:
    """The host origin: /doc-page/<n> serves the n-th host-page snippet, the rest is the
    docs' backend."""

    def __init__(self) -> None:
        self.backend = None
        self.pages: dict[str, str] = {}

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/doc-page/"):
            html = self.pages.get(request.path.rsplit("/", 1)[1])
            if html is None:
                return Response("no such page", 404)(environ, start_response)
            return Response(html, mimetype="text/html")(environ, start_response)
        return self.backend(environ, start_response)


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    build_frontend()
    host = DocHost()
    httpd = make_server("localhost", 0, host, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    host_origin = f"http://localhost:{httpd.server_port}"
    tmp = tmp_path_factory.mktemp("doc-pages")
    with running_planfuse(tmp, origins=(host_origin,)) as server:
        host.backend = _load_backend(server, tmp)
        planfuse = PlanFuse(server.url, server.app_id, server.secret)
        for i, snippet in enumerate(PAGES):
            token = planfuse.mint_token("reviewer-01", widget="compliance")
            body = snippet.filled(
                server=server.url, host=host_origin, app_id=server.app_id, token=token
            )
            host.pages[str(i)] = (
                '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                f"<title>doc page {i}</title></head><body>{PROBE}\n{body}</body></html>"
            )
        yield {"server": server, "host": host_origin, "browser": browser}
    httpd.shutdown()
    httpd.server_close()


def open_page(rig, i: int):
    context = rig["browser"].new_context()
    page = context.new_page()
    log = {"errors": [], "console": []}
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("console", lambda m: log["console"].append(f"{m.type}: {m.text}"))
    page.goto(f"{rig['host']}/doc-page/{i}")
    return page, log


def poll(page, expression: str, timeout_ms: int = 30_000):
    deadline = page.evaluate("Date.now()") + timeout_ms
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if page.evaluate("Date.now()") > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        page.wait_for_timeout(100)


def names(page) -> list[str]:
    return page.evaluate("seen.map((e) => e.name)")


@pytest.mark.parametrize(
    "i", range(len(PAGES)), ids=[f"{s.path.relative_to(ROOT)}:{s.line}" for s in PAGES]
)
def test_every_doc_page_embeds_a_working_widget(rig, i):
    snippet = PAGES[i]
    page, log = open_page(rig, i)
    widgets = snippet.code.count("data-planfuse-widget=") + snippet.code.count("<planfuse-widget")
    widgets += snippet.code.count("PlanFuse.mount(") + snippet.code.count("<iframe")
    poll(page, f"seen.filter((e) => e.name === 'ready').length >= {max(widgets, 1)}")
    assert "error" not in names(page), page.evaluate("seen")
    if "send('check'" in snippet.code:
        # The snippet logs what the command resolved with: {report_id, verdict}.
        poll(page, "true")
        for _ in range(300):
            if any('"report_id"' in line or "report_id" in line for line in log["console"]):
                break
            page.wait_for_timeout(100)
        assert any("report_id" in line for line in log["console"]), log["console"]
    assert log["errors"] == []
    page.context.close()


def test_the_approval_page_follows_the_verified_result(rig):
    i = next(n for n, s in enumerate(PAGES) if 'id="submit"' in s.code)
    page, log = open_page(rig, i)
    poll(page, "seen.some((e) => e.name === 'ready')")
    assert page.is_disabled("#submit")
    check = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}

    def run_check(geometry) -> dict:
        payload = json.dumps({**check, "geometry": geometry})
        return page.evaluate(
            f"document.getElementById('compliance').planfuse.send('check', {payload})"
        )

    # Half on basic farmland: fail. The backend verified it, so the button stays disabled.
    failed = run_check(project(-100, 50, 100, 150))
    assert failed["verdict"] == "fail"
    poll(page, f"document.getElementById('compliance-report').value === {failed['report_id']!r}")
    assert page.is_disabled("#submit")
    # Inside the urban boundary on residential land: pass, and the form may be submitted.
    passed = run_check(project(-600, -300, -400, -100))
    assert passed["verdict"] == "pass"
    poll(page, f"document.getElementById('compliance-report').value === {passed['report_id']!r}")
    assert page.is_enabled("#submit")
    # `ready` came before each result; the result's jwks_url is absolute.
    seen = page.evaluate("seen.filter((e) => e.name !== 'resize').map((e) => e.name)")
    assert seen[0] == "ready" and seen.count("result") == 2
    result = page.evaluate("seen.find((e) => e.name === 'result').detail")
    assert result["jwks_url"] == f"{rig['server'].url}/api/v1/compliance/jwks.json"
    assert log["errors"] == []
    page.context.close()
