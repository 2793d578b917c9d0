"""Shared fixtures of the real-browser tests (headless Debian Chromium through Playwright).

- `live_server(wsgi_app)`: serve a WSGI app from a thread on a free 127.0.0.1 port; stopped
  after the test. Several servers (e.g. PlanFuse and a host page on a second origin) may run
  in one test.
- `sqlite_app(**settings)`: a PlanFuse app over a fresh, migrated SQLite file (browser
  tests run on SQLite only; the storage and API tests cover PostgreSQL).
- `browser`: one Chromium per test session, never a downloaded browser build.
- `new_page(**context_options)` / `page`: a page in a fresh browser context that records
  console errors, uncaught page errors and every request URL (`page.pf_log`).

Every test in this folder is marked `browser`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import BaseWSGIServer, make_server

from planfuse.app import create_app

CHROMIUM = os.environ.get("PLANFUSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
BROWSER_DIR = Path(__file__).resolve().parent
TEST_SECRET = "test-secret-key-" + "x" * 40
#: Longest a browser test waits for something to appear on a page, in milliseconds.
WAIT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(BROWSER_DIR):
            item.add_marker(pytest.mark.browser)


# --- servers ---------------------------------------------------------------------------------


class LiveServer:
    """A WSGI app served by werkzeug from a daemon thread on 127.0.0.1."""

    def __init__(self, wsgi_app, host: str = "127.0.0.1", port: int = 0):
        self.server: BaseWSGIServer = make_server(host, port, wsgi_app, threaded=True)
        self.host = host
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.origin = self.url
        self._thread = threading.Thread(
            target=self.server.serve_forever, name=f"live-server-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def live_server() -> Iterator[Callable[..., LiveServer]]:
    """Factory: `live_server(wsgi_app, host="127.0.0.1")` → a started LiveServer."""
    servers: list[LiveServer] = []

    def start(wsgi_app, host: str = "127.0.0.1") -> LiveServer:
        server = LiveServer(wsgi_app, host)
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def sqlite_app(tmp_path) -> Iterator[Callable[..., object]]:
    """Factory: `sqlite_app(**settings)` → a PlanFuse Flask app on a new SQLite database."""
    apps = []

    def make(**settings):
        db = tmp_path / f"browser-{len(apps)}.db"
        app = create_app({"database_url": f"sqlite:///{db}", "secret_key": TEST_SECRET} | settings)
        app.extensions["planfuse"].db.upgrade()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["planfuse"].close()


# --- browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What a page did: console errors, uncaught errors and every request it made."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self, *allowed_hosts: str) -> list[str]:
        """Requests to anything but `allowed_hosts` (default: loopback only); data: and
        blob: URLs never leave the page."""
        hosts = set(allowed_hosts) or {"127.0.0.1", "localhost", "[::1]", "::1"}
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob", "about"}
            and urlsplit(url).hostname not in hosts
        ]


@pytest.fixture
def new_page(browser):
    """Factory: `new_page(**context_options)` → a Playwright page with `page.pf_log`."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on(
            "console",
            lambda msg: log.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
        page.on("request", lambda req: log.requests.append(req.url))
        page.pf_log = log
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
