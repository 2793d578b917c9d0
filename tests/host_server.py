"""A running PlanFuse server on loopback, as a host system's backend meets it: the compliance
test world loaded (tests/compliance_world.py), one host app registered, served over HTTP
from a thread. The helper packages' tests and the documentation's snippets run against it.

    with running_planfuse(tmp_path) as planfuse:
        planfuse.url, planfuse.app_id, planfuse.secret, planfuse.pf (the PlanFuse context)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

#: Origins the registered host app allows (the snippet runner's host page is served there).
HOST_ORIGINS = ("http://127.0.0.1:5173",)
SECRET_KEY = "host-server-" + "k" * 40


@dataclass
class RunningPlanFuse:
    url: str
    app_id: str
    secret: str
    pf: Any
    server_app: Any
    #: The path of every request the server received, in order.
    paths: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """What a host backend is configured with, as environment variables."""
        return {
            "PLANFUSE_URL": self.url,
            "PLANFUSE_APP_ID": self.app_id,
            "PLANFUSE_APP_SECRET": self.secret,
        }

    def new_app(self, name: str, origins: tuple[str, ...] = HOST_ORIGINS) -> tuple[str, str]:
        """Register another host app; returns (app_id, secret)."""
        from planfuse.auth.apps import create_host_app

        record, secret = create_host_app(self.pf, name, list(origins))
        return record.id, secret or ""


@contextlib.contextmanager
def running_planfuse(
    tmp_path: Path,
    *,
    origins: tuple[str, ...] = HOST_ORIGINS,
    settings: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningPlanFuse]:
    """Serve a PlanFuse over SQLite in `tmp_path` with the compliance world and a host app."""
    from compliance_world import build_world

    from planfuse.app import create_app
    from planfuse.auth.apps import create_host_app

    app = create_app(
        {
            "database_url": f"sqlite:///{tmp_path / 'planfuse.db'}",
            "secret_key": SECRET_KEY,
            **(settings or {}),
        }
    )
    pf = app.extensions["planfuse"]
    pf.db.upgrade()
    build_world(pf)
    record, secret = create_host_app(pf, "网上审批平台（测试）", list(origins))
    paths: list[str] = []

    def logged(environ, start_response):
        paths.append(environ.get("PATH_INFO", ""))
        return app(environ, start_response)

    server = make_server(host, 0, logged, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="planfuse-under-test", daemon=True)
    thread.start()
    try:
        yield RunningPlanFuse(
            url=f"http://{host}:{server.server_port}",
            app_id=record.id,
            secret=secret or "",
            pf=pf,
            server_app=app,
            paths=paths,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        pf.close()
