"""The sample host application: a separate tiny web app, on its own origin, that embeds every
registered widget through the SDK and whose backend mints the tokens and verifies the
compliance widget's signed result — an approval portal whose application form stays blocked
while the verified verdict is `fail`.

It is what a host developer copies: the backend is built on the helper package
`planfuse-host` (host-packages/python), as docs/embedding.md shows. `planfuse demo` starts
it on a second port (`start_sample_host`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request, send_from_directory
from werkzeug.serving import BaseWSGIServer, make_server

HOST_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SAMPLE_APP_NAME = "示例宿主应用 · Sample host app"
#: Tokens from the sample backend live this long (well under the server's 600 s cap).
SAMPLE_TOKEN_TTL_S = 300
#: The sample portal's signed-in user (a real host takes it from its own session).
SAMPLE_USER = {"user_id": "demo-reviewer-01", "name": "示例审查员", "dept": "规划审批科"}
#: The sample user's roles: a reviewer everywhere, and the planning bureau's coordinator of
#: conflicts, so a visitor can run a detection in the conflict viewer and change a patch's
#: status (the default `conflict_coordinator_role`).
SAMPLE_ROLES = {"conflicts": ["reviewer", "coordinator"]}
DEFAULT_ROLES = ["reviewer"]


def _planfuse_host():
    try:
        import planfuse_host
    except ImportError:  # pragma: no cover - the bootstrap installs it
        raise RuntimeError(
            "the sample host needs the helper package planfuse-host: "
            "pip install ./host-packages/python (./bootstrap does this)"
        ) from None
    return planfuse_host


def create_sample_host(
    server_url: str,
    app_id: str,
    secret: str,
    *,
    audience: str = "planfuse",
    api_url: str | None = None,
) -> Flask:
    """The sample host app for PlanFuse at `server_url` (as browsers reach it), registered as
    `app_id`; its backend reaches the server at `api_url` (default: the same)."""
    host = _planfuse_host()
    server_url = server_url.rstrip("/")
    planfuse = host.PlanFuse(api_url or server_url, app_id, secret, audience=audience)
    app = Flask("planfuse_sample_host", template_folder=str(HOST_TEMPLATES))
    host_dir = HOST_TEMPLATES / "host"
    #: Reports this backend verified, by id (a real portal keeps them with the application).
    verified: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    app.extensions["sample_host"] = {"verified": verified, "applications": []}

    @app.after_request
    def _headers(response: Response) -> Response:
        # The host page trusts PlanFuse's script and frames, nothing else.
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' {server_url}; frame-src {server_url}; "
            f"connect-src 'self' {server_url}; style-src 'self'; img-src 'self' data:; "
            "base-uri 'none'; frame-ancestors 'none'",
        )
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/")
    def index():
        config = {
            "server": server_url,
            "app_id": app_id,
            "locale": request.args.get("locale", "zh-CN"),
            "only": request.args.get("widget"),
        }
        return render_template("host/index.html", config=config, server=server_url)

    @app.get("/assets/<name>")
    def asset(name: str):
        if name not in {"host.js", "host.css"}:
            abort(404)
        return send_from_directory(host_dir, name, max_age=60)

    @app.post("/planfuse-token")
    def planfuse_token():
        # In a real host this is the signed-in user from the host's own session.
        widget = (request.get_json(silent=True) or {}).get("widget")
        if not isinstance(widget, str):
            return jsonify(error="widget is required"), 400
        token = planfuse.mint_token(
            SAMPLE_USER["user_id"],
            widget=widget,
            name=SAMPLE_USER["name"],
            dept=SAMPLE_USER["dept"],
            roles=SAMPLE_ROLES.get(widget, DEFAULT_ROLES),
            ttl_s=SAMPLE_TOKEN_TTL_S,
        )
        response = jsonify(token=token)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.post("/planfuse-result")
    def planfuse_result():
        """The compliance widget's signed_result, verified here: the portal acts on this
        answer, never on the verdict the browser reported."""
        signed = (request.get_json(silent=True) or {}).get("signed_result")
        try:
            report = planfuse.verify_result(signed)
        except host.InvalidResult as refused:
            return jsonify(error=str(refused), may_submit=False), 400
        except host.PlanFuseError as unreachable:  # the JWKS could not be fetched
            return jsonify(error=str(unreachable), may_submit=False), 503
        with lock:
            verified[report["id"]] = report
        return jsonify(
            report_id=report["id"],
            verdict=report["verdict"],
            may_submit=report["verdict"] != "fail",
        )

    @app.post("/applications")
    def submit_application():
        """File the application: only with a report this backend verified and that did not
        fail (checked again here — the page's button is a convenience, not the rule)."""
        body = request.get_json(silent=True) or {}
        report = verified.get(str(body.get("report_id")))
        if report is None:
            return jsonify(error="run the compliance check first (no verified report)"), 409
        if report["verdict"] == "fail":
            return jsonify(error=f"report {report['id']} failed: the application is blocked"), 409
        application = {
            "id": f"SQ-{len(app.extensions['sample_host']['applications']) + 1:04d}",
            "report_id": report["id"],
            "verdict": report["verdict"],
        }
        with lock:
            app.extensions["sample_host"]["applications"].append(application)
        return jsonify(application), 201

    return app


def start_sample_host(
    server_url: str, port: int, app_id: str, secret: str, host: str = "127.0.0.1", **kwargs: Any
) -> BaseWSGIServer:
    """Serve the sample host in a background thread; stop it with `.shutdown()`."""
    server = make_server(
        host, port, create_sample_host(server_url, app_id, secret, **kwargs), threaded=True
    )
    threading.Thread(target=server.serve_forever, name="planfuse-sample-host", daemon=True).start()
    return server


def ensure_sample_app(ctx, origins: list[str]) -> tuple[str, str]:
    """The demo's host app for `origins` (created on first use); returns (app_id, secret)."""
    from planfuse.auth.apps import (
        create_host_app,
        current_secret,
        list_host_apps,
        rotate_secret,
        update_host_app,
    )

    for record in list_host_apps(ctx):
        if record.name == SAMPLE_APP_NAME:
            wanted = list(dict.fromkeys([*record.origins, *origins]))
            if wanted != list(record.origins) or record.disabled:
                record = update_host_app(ctx, record.id, origins=wanted, disabled=False)
            key = current_secret(record)
            if key is None or key.secret is None:
                return record.id, rotate_secret(ctx, record.id, grace_s=0)[1]
            return record.id, key.secret
    record, secret = create_host_app(ctx, SAMPLE_APP_NAME, origins)
    return record.id, secret or ""


def start_demo_host(ctx, server_url: str, host: str, port: int) -> str:
    """For `planfuse demo`: register the sample host app for this port (once) and serve it in
    a background thread. Returns the URL to open."""
    loopback_or_any = {"127.0.0.1", "localhost", "0.0.0.0", "::"}  # noqa: S104 - not a bind
    names = ["127.0.0.1", "localhost"] if host in loopback_or_any else [host]
    origins = [f"http://{name}:{port}" for name in names]
    app_id, secret = ensure_sample_app(ctx, origins)
    start_sample_host(server_url, port, app_id, secret, host=host)
    return origins[0] + "/"
