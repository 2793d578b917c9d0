"""The sample host application: a separate tiny web app, on its own origin, that embeds every
registered widget through the SDK and whose backend mints the tokens.

It is what a host developer copies: the token endpoint below is the whole backend side of
an integration. `planfuse demo` starts it on a second port (`start_sample_host`).
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request, send_from_directory
from joserfc import jwt
from joserfc.jwk import OctKey
from werkzeug.serving import BaseWSGIServer, make_server

HOST_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SAMPLE_APP_NAME = "示例宿主应用 · Sample host app"
#: Tokens from the sample backend live this long (well under the server's 600 s cap).
SAMPLE_TOKEN_TTL_S = 300


def mint_token(
    app_id: str,
    secret: str,
    *,
    widget: str,
    user_id: str,
    audience: str = "planfuse",
    params: dict[str, Any] | None = None,
    name: str | None = None,
    dept: str | None = None,
    roles: list[str] | None = None,
    ttl_s: int = SAMPLE_TOKEN_TTL_S,
) -> str:
    """Sign an embed token the way a host backend does (HS256 with the app's secret)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": app_id,
        "aud": audience,
        "sub": user_id,
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_urlsafe(16),
        "widget": widget,
    }
    for key, value in (("params", params), ("name", name), ("dept", dept), ("roles", roles)):
        if value:
            claims[key] = value
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret.encode()))


def create_sample_host(
    server_url: str, app_id: str, secret: str, *, audience: str = "planfuse"
) -> Flask:
    """The sample host app for PlanFuse at `server_url`, registered as `app_id`."""
    server_url = server_url.rstrip("/")
    app = Flask("planfuse_sample_host", template_folder=str(HOST_TEMPLATES))
    host_dir = HOST_TEMPLATES / "host"

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
        body = request.get_json(silent=True) or {}
        widget = body.get("widget")
        if not isinstance(widget, str):
            return jsonify(error="widget is required"), 400
        token = mint_token(
            app_id,
            secret,
            widget=widget,
            user_id="demo-reviewer-01",
            audience=audience,
            name="示例审查员",
            dept="规划审批科",
            roles=["reviewer"],
        )
        response = jsonify(token=token)
        response.headers["Cache-Control"] = "no-store"
        return response

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


def run_sample_host(
    server_url: str, port: int, app_id: str, secret: str, host: str = "127.0.0.1"
) -> None:
    """Serve the sample host in the foreground until interrupted."""
    server = make_server(host, port, create_sample_host(server_url, app_id, secret), threaded=True)
    server.serve_forever()


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
