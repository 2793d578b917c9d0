"""HTTP adapters of the embed area: widget pages, session exchange, SDK, manifest, assets."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Response, jsonify, render_template, request

from planfuse.auth.sessions import exchange_embed_token
from planfuse.auth.tokens import MAX_TOKEN_BYTES, TokenError, validate_embed_token
from planfuse.embed.assets import send_asset
from planfuse.embed.page import build_widget_page, content_security_policy
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError, bad_request, not_found
from planfuse.http.routes import RouteTable
from planfuse.paths import ROOT
from planfuse.services.monitoring.listing import widget_manifest
from planfuse.widgets.registry import widget_registry

routes = RouteTable()

log = logging.getLogger("planfuse.embed")

EMBED_JS = ROOT / "static" / "build" / "embed.js"
#: The session request holds one token (≤ 8 KB) and two names; anything bigger is refused
#: before the body is read.
SESSION_BODY_MAX_BYTES = MAX_TOKEN_BYTES + 1024
#: embed.js has a fixed URL (hosts paste it); caches may keep it this long.
EMBED_JS_MAX_AGE_S = 3600
ASSET_MAX_AGE_S = 365 * 24 * 3600
#: The shared chunks of the widgets' modules (build.mjs: `chunkNames: 'chunk-[hash]'`).
CHUNK_NAME = re.compile(r"chunk-[A-Z0-9]{8}\.js")
MANIFEST_MAX_AGE_S = 60

_hashes: dict[tuple[Path, float], str] = {}


def _version(path: Path) -> str:
    """A content hash for cache busting (?v=…), recomputed when the file changes."""
    key = (path, path.stat().st_mtime)
    if key not in _hashes:
        _hashes[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return _hashes[key]


def _server_origin() -> str:
    parts = urlsplit(planfuse().settings.public_url or request.host_url)
    return f"{parts.scheme}://{parts.netloc}"


@routes.after_request
def _embed_headers(response: Response) -> Response:
    # Every response of this area that could render (errors included) may only be framed
    # where a view said so; the default is nowhere.
    response.headers.setdefault("Content-Security-Policy", content_security_policy(None))
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@routes.get("/embed/<name>")
def widget_page(name: str):
    """A widget page; the token comes later (MessageChannel, or the #token= fragment)."""
    ctx = planfuse()
    widget = widget_registry(ctx).get(name)
    if widget is None:
        raise not_found("widget", name)
    page = build_widget_page(ctx, widget, request.args, _server_origin())
    asset_url = None
    css_url = None
    if page.error is None or page.error["code"] != "widget_unavailable":
        js = widget.asset(".js")
        css = widget.asset(".css")
        if js is not None:
            asset_url = f"/embed/assets/{widget.name}/{js.name}?v={_version(js)}"
        if css is not None:
            css_url = f"/embed/assets/{widget.name}/{css.name}?v={_version(css)}"
    html = render_template(
        widget.template,
        widget=widget,
        page=page,
        config=page.config,
        locale=page.locale,
        title=page.config["title"],
        js_url=asset_url,
        css_url=css_url,
    )
    response = Response(html, status=page.status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(page)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    return response


@routes.post("/embed/session")
def create_session():
    """Exchange an embed token (once) for a session token: `{"token": "..."}`."""
    length = request.content_length
    if length is not None and length > SESSION_BODY_MAX_BYTES:
        raise TokenError(f"the request is larger than a token can be ({MAX_TOKEN_BYTES} bytes)")
    request.max_content_length = SESSION_BODY_MAX_BYTES
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad_request('send JSON {"token": "<embed token>"}', field="token")
    ctx = planfuse()
    claims = validate_embed_token(ctx, body.get("token"))
    widget = body.get("widget")
    if widget is not None and widget != claims.widget:
        raise TokenError(f"the token is for widget {claims.widget!r}, not {widget!r}")
    app = body.get("app")
    if app is not None and app != claims.app_id:
        raise TokenError("the token belongs to another host app than this page")
    result = exchange_embed_token(ctx, claims)
    log.info(
        "embed session issued",
        extra={"app_id": claims.app_id, "widget": claims.widget, "user": claims.sub},
    )
    response = jsonify(result)
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get("/embed.js")
def embed_js():
    """The SDK, for `<script src="https://SERVER/embed.js" async>` on any host page."""
    if not EMBED_JS.is_file():
        raise ProblemError(
            503,
            "sdk_not_built",
            "embed.js is not built; run `npm ci && npm run build` in the PlanFuse folder",
        )
    response = send_asset(EMBED_JS.parent, EMBED_JS.name, max_age=EMBED_JS_MAX_AGE_S)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Access-Control-Allow-Origin"] = "*"
    # Hosts may measure the SDK's load time and size in their own RUM.
    response.headers["Timing-Allow-Origin"] = "*"
    return response


@routes.get("/embed/manifest.json")
def manifest():
    """Every widget's parameters, commands, events and error codes, with the protocol's,
    and each widget's catalogue entry (`service`: names, department, live status)."""
    ctx = planfuse()
    response = jsonify(widget_manifest(ctx))
    response.headers["Cache-Control"] = f"public, max-age={MANIFEST_MAX_AGE_S}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@routes.get("/embed/assets/<name>/<path:filename>")
def widget_asset(name: str, filename: str):
    """A widget's built script, style or asset (content-hashed URLs, cached for a year)."""
    widget = widget_registry(planfuse()).get(name)
    if widget is None:
        raise not_found("widget", name)
    # A shared chunk's name carries its content's hash (chunk-<hash>.js, imported by the
    # widgets' modules without a query): as immutable as a `?v=` URL.
    versioned = "v" in request.args or CHUNK_NAME.fullmatch(filename) is not None
    response = send_asset(widget.assets_dir, filename, max_age=ASSET_MAX_AGE_S if versioned else 60)
    if versioned:
        response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE_S}, immutable"
    return response
