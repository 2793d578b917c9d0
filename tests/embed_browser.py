"""The two-origin browser rig: a PlanFuse server and a host app on different origins, and
headless Debian Chromium driven by Playwright. Nothing is mocked.

Names resolve to 127.0.0.1 through Chromium's host resolver rules, so the origins are real
and distinct sites: the PlanFuse server at http://planfuse.test:<port>, the host at
http://host.example.com:<port>, and a hostile look-alike at
http://host.example.com.evil.net:<port> (served by the host app too).

Widget engineers reuse it: `rig.server_app` is the PlanFuse Flask app (register widgets or
test routes on it before the first request), `rig.mint(widget=..., params=...)` signs tokens,
`rig.page(...)` opens a host page that mounts a widget through the SDK.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request, send_from_directory
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
BROWSER_DIR = Path(__file__).resolve().parent / "browser"
CHROMIUM = os.environ.get("PLANFUSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--host-resolver-rules=MAP planfuse.test 127.0.0.1, MAP host.example.com 127.0.0.1, "
    "MAP host.example.com.evil.net 127.0.0.1",
]
_build_lock = threading.Lock()
_built = False


def browser_marks() -> list:
    """The `pytestmark` of a browser test module: the browser mark, skipped where Debian
    Chromium or npm is missing. (The suite runs with `--dist loadfile`, so a module's tests
    share one worker and their module-scoped rig.)"""
    return [
        pytest.mark.browser,
        pytest.mark.skipif(
            not Path(CHROMIUM).exists() or shutil.which("npm") is None,
            reason="needs Debian chromium and npm",
        ),
    ]


def build_frontend() -> None:
    """`npm ci` when node_modules is missing, then build the SDK, widgets and test widgets."""
    global _built
    with _build_lock:
        if _built:
            return
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the browser tests (Node 20)")
        if not (ROOT / "node_modules" / "esbuild").exists():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
        node = shutil.which("node") or "node"
        subprocess.run([node, "build.mjs"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(
            [node, "build.mjs", "--test-widgets"], cwd=ROOT, check=True, capture_output=True
        )
        _built = True


class _Dispatch:
    """A WSGI app whose target is set after the server has bound its port."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def _serve(wsgi) -> tuple[Any, int]:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port


class EmbedRig:
    def __init__(
        self,
        database_url: str,
        settings: dict[str, Any] | None = None,
        browser: Any = None,
        chromium: Any = None,
    ):
        from embed_support import probe_widget

        from planfuse.app import create_app
        from planfuse.auth.apps import create_host_app
        from planfuse.embed.host_app import create_sample_host
        from planfuse.widgets.registry import widget_registry

        build_frontend()
        self.server_app = create_app(
            {"database_url": database_url, "secret_key": "browser-" + "k" * 40, **(settings or {})}
        )
        self.pf = self.server_app.extensions["planfuse"]
        self.pf.db.upgrade()
        widget_registry(self.pf).add(probe_widget())
        self.responses: list[dict[str, Any]] = []

        self._server, server_port = _serve(self.server_app)
        self.server = f"http://planfuse.test:{server_port}"
        dispatch = _Dispatch()
        self._host_server, host_port = _serve(dispatch)
        self.host = f"http://host.example.com:{host_port}"
        self.evil = f"http://host.example.com.evil.net:{host_port}"
        record, self.secret = create_host_app(self.pf, "Browser host", [self.host])
        self.app_id = record.id
        # The host's backend reaches the server by address (only Chromium knows the names).
        host_app = create_sample_host(
            self.server, self.app_id, self.secret, api_url=f"http://127.0.0.1:{server_port}"
        )
        self._add_test_routes(host_app)
        dispatch.app = host_app

        # Only one Playwright per thread: inside tests/browser, pass the session's `browser`
        # fixture and the rig launches its own Chromium (with the resolver rules) from it, or
        # pass `chromium` (one launched with `CHROMIUM_ARGS`) for several rigs to share.
        self._pw = None
        self._own_browser = chromium is None
        if chromium is not None:
            self.browser_type = chromium.browser_type
            self.browser = chromium
            return
        if browser is None:
            from playwright.sync_api import sync_playwright

            self._pw = sync_playwright().start()
            self.browser_type = self._pw.chromium
        else:
            self.browser_type = browser.browser_type
        self.browser = self.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    # --- tokens ---------------------------------------------------------------------------

    def mint(self, widget: str = "probe", **claims: Any) -> str:
        from embed_support import claims_for, sign_hs256

        return sign_hs256(claims_for(self.app_id, widget, **claims), self.secret)

    # --- pages ----------------------------------------------------------------------------

    def _add_test_routes(self, host_app: Flask) -> None:
        rig = self

        @host_app.get("/t/page")
        def test_page():
            config = json.loads(request.args.get("config", "{}"))
            config.setdefault("widget", "probe")
            config.setdefault("app_id", rig.app_id)
            config.setdefault("server", rig.server + "/")
            config.setdefault("locale", "zh-CN")
            body = request.args.get("body", '<div id="slot"></div>')
            html = f"""<!doctype html><html><head><meta charset="utf-8"><title>rig</title>
<script type="application/json" id="rig-config">{json.dumps(config)}</script>
<script src="{rig.server}/embed.js"></script>
<script src="/t/embed_rig.js" defer></script></head>
<body><h1>host page</h1>{body}</body></html>"""
            response = Response(html, mimetype="text/html")
            # The rig also frames the hostile look-alike page on purpose.
            response.headers["Content-Security-Policy"] = (
                f"script-src 'self' {rig.server}; frame-src {rig.server} {rig.evil}"
            )
            return response

        @host_app.get("/t/<name>.js")
        def test_script(name: str):
            return send_from_directory(BROWSER_DIR, f"{name}.js")

        @host_app.get("/t/evil")
        def evil_page():
            html = """<!doctype html><html><head><meta charset="utf-8">
<script src="/t/evil.js"></script></head><body>evil</body></html>"""
            response = Response(html, mimetype="text/html")
            response.headers["Content-Security-Policy"] = "script-src 'self'"
            return response

        @host_app.post("/t/token")
        def test_token():
            claims = request.get_json(silent=True) or {}
            widget = claims.pop("widget", "probe")
            return jsonify(token=rig.mint(widget, **claims))

    def open(self, path: str, context=None):
        """A new page (in `context` or a fresh one) at `path` on the host origin."""
        ctx = context or self.browser.new_context()
        page = ctx.new_page()
        page.on(
            "response",
            lambda r: self.responses.append(
                {"url": r.url, "status": r.status, "headers": r.all_headers()}
            ),
        )
        page.goto(path if path.startswith("http") else self.host + path)
        return page

    def rig_page(self, config: dict[str, Any] | None = None, body: str | None = None, origin=None):
        from urllib.parse import urlencode

        query = {"config": json.dumps(config or {})}
        if body is not None:
            query["body"] = body
        return self.open(f"{origin or self.host}/t/page?{urlencode(query)}")

    def open_widget(
        self,
        widget: str,
        claims: dict[str, Any] | None = None,
        *,
        locale: str = "zh-CN",
        events: tuple[str, ...] | list[str] = (),
        timeout_ms: int = 30000,
    ):
        """Mount `widget` on a host page through the SDK, with embed tokens of `claims`; the
        page records the widget's `events` besides the rig's own. Returns (page, widget
        frame) once the widget is ready."""
        config = {
            "widget": widget,
            "claims": {"widget": widget, **(claims or {})},
            "locale": locale,
            "events": list(events),
        }
        page = self.rig_page(config)
        self.wait_for_event(page, "ready", timeout_ms)
        return page, self.widget_frame(page)

    def widget_frame(self, page, timeout_s: float = 10):
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            for frame in page.frames:
                if frame.url.startswith(self.server + "/embed/"):
                    return frame
            page.wait_for_timeout(50)
        raise AssertionError("no widget frame appeared")

    @staticmethod
    def poll(target, expression: str, timeout_ms: int = 15000):
        """Evaluate `expression` in a page or frame until it is truthy; return its value.

        (Playwright's wait_for_function compiles its predicate with eval, which our CSP
        forbids; evaluate() does not.)"""
        deadline = time.time() + timeout_ms / 1000
        while True:
            value = target.evaluate(expression)
            if value:
                return value
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for: {expression}")
            time.sleep(0.05)

    def press(self, page, frame, selector: str) -> None:
        """Activate the button `selector` in the widget `frame` from the keyboard: focus, Enter.

        A mouse click is aimed at page coordinates; in an iframe the SDK is still resizing
        (the widget grew after a host command) the host page scrolls under the aim, and
        Playwright drops a click that lands outside the frame without saying so. Focus and
        Enter reach the button wherever it is, as a keyboard user's do."""
        self.poll(frame, f"!document.querySelector({json.dumps(selector)}).disabled")
        frame.focus(selector)
        focused = frame.evaluate(
            f"document.activeElement === document.querySelector({json.dumps(selector)})"
        )
        assert focused, f"{selector} did not take the focus"
        page.keyboard.press("Enter")

    def wait_for_event(self, page, name: str, timeout_ms: int = 15000) -> dict:
        self.poll(
            page, f"(window.events || []).some(e => e.name === {json.dumps(name)})", timeout_ms
        )
        return page.evaluate(f"window.events.filter(e => e.name === {json.dumps(name)})")[-1][
            "payload"
        ]

    def close(self) -> None:
        if self._own_browser:
            self.browser.close()
        if self._pw is not None:
            self._pw.stop()
        self._server.shutdown()
        self._host_server.shutdown()
        self.pf.close()
