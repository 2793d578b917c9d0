"""The widget page as plain functions: which origins may frame it, what it is configured
with, and which error it shows. The Flask view in `views.py` only adapts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from planfuse.auth.apps import AppRecord, find_host_app, normalise_origin
from planfuse.context import PlanFuse
from planfuse.embed.basemap import basemap_page_parts
from planfuse.errors import InvalidInput
from planfuse.widgets.registry import ParamError, Widget, parse_param, protocol

#: Query parameters that would put a credential where servers, proxies and logs see it.
TOKEN_QUERY_NAMES = frozenset({"token", "access_token", "session_token", "jwt", "id_token"})

THEME_PATTERNS = {
    "color": re.compile(
        r"^(#[0-9a-fA-F]{3,8}|(rgb|rgba|hsl|hsla)\([0-9.,%\s/]{1,60}\)|[a-zA-Z]{3,20})$"
    ),
    "length": re.compile(r"^\d{1,4}(\.\d{1,3})?(px|rem|em|%)?$"),
    "font": re.compile(r"^[\w\s,\"'-]{1,200}$"),
}

#: Texts of the page-level errors that are not protocol error codes.
MESSAGES = {
    "token_in_query": {
        "zh-CN": "登录凭证不能放在 URL 查询参数中：请使用 SDK，或放在 # 之后（#token=…）。",
        "en": "The token must not be in the query string: use the SDK, or put it after # "
        "(#token=…).",
    },
    "unknown_app": {
        "zh-CN": "未知或已停用的宿主应用。",
        "en": "Unknown or disabled host app.",
    },
    "invalid_param": {
        "zh-CN": "组件参数无效：{detail}",
        "en": "Invalid widget parameter: {detail}",
    },
    "widget_unavailable": {
        "zh-CN": "组件的前端资源尚未构建（npm run build）。",
        "en": "The widget's front-end assets are not built (npm run build).",
    },
}


def message(code: str, locale: str, **values: str) -> str:
    table = MESSAGES.get(code) or protocol()["error_codes"].get(code) or {}
    text = table.get(locale) or table.get(protocol()["default_locale"]) or code
    return text.format(**values) if values else text


@dataclass
class WidgetPage:
    """Everything the widget page needs; `error` set means the page shows that instead."""

    widget: Widget
    locale: str
    status: int = 200
    frame_ancestors: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    #: Extra CSP sources of this page (e.g. the configured basemap host), besides the
    #: widget's own `csp`.
    csp: dict[str, tuple[str, ...]] = field(default_factory=dict)


def pick_locale(requested: str | None) -> str:
    locales = protocol()["locales"]
    return requested if requested in locales else protocol()["default_locale"]


def parse_theme(args: Mapping[str, str]) -> dict[str, str]:
    """`theme.<name>` query parameters, each checked against the protocol's theme table."""
    allowed = protocol()["theme"]
    theme = {}
    for key, value in args.items():
        if not key.startswith("theme."):
            continue
        name = key[len("theme.") :]
        kind = allowed.get(name)
        if kind is None:
            raise ParamError(key, f"unknown theme variable {name!r}; known: {', '.join(allowed)}")
        if not THEME_PATTERNS[kind].match(value):
            raise ParamError(key, f"theme variable {name!r} needs a CSS {kind}")
        theme[name] = value
    return theme


def parse_params(widget: Widget, args: Mapping[str, str]) -> dict[str, Any]:
    """`param.<name>` query parameters, each checked against the widget's manifest."""
    params = {}
    for key, raw in args.items():
        if not key.startswith("param."):
            continue
        name = key[len("param.") :]
        spec = widget.params.get(name)
        if spec is None:
            known = ", ".join(sorted(widget.params)) or "none"
            raise ParamError(key, f"widget {widget.name!r} has no parameter {name!r} ({known})")
        params[name] = parse_param(name, spec, raw)
    return params


def build_widget_page(
    ctx: PlanFuse, widget: Widget, args: Mapping[str, str], server_origin: str
) -> WidgetPage:
    """Decide what `GET /embed/<widget>?app=…` shows and who may frame it.

    Frame ancestors are the app's allowed origins (plus the server itself, for the admin
    console's preview); an unknown or disabled app gets none at all.
    """
    locale = pick_locale(args.get("locale"))
    page = WidgetPage(widget=widget, locale=locale)

    def fail(status: int, code: str, text: str | None = None) -> WidgetPage:
        page.status = status
        page.error = {"code": code, "message": text or message(code, locale)}
        page.config["error"] = page.error
        return page

    app: AppRecord | None = find_host_app(ctx, args.get("app", ""))
    page.config = {
        "protocol_version": protocol()["protocol_version"],
        "widget": widget.name,
        "title": widget.title.get(locale) or widget.name,
        "app": app.id if app else None,
        "locale": locale,
        "session_url": "/embed/session",
        "api_base": "/api/v1/",
        "host_origin": None,
        "allowed_origins": [],
        "params": {},
        "theme": {},
        "default_height": widget.default_height,
    }
    if TOKEN_QUERY_NAMES & set(args):
        page.frame_ancestors = (*app.origins, "'self'") if app and not app.disabled else ()
        return fail(400, "token_in_query")
    if app is None or app.disabled:
        return fail(404 if app is None else 403, "unknown_app")
    page.frame_ancestors = (*app.origins, "'self'")
    page.config["allowed_origins"] = [*app.origins, server_origin]

    if not app.allows_widget(widget.name):
        return fail(403, "forbidden")
    host_origin = args.get("host_origin")
    if not host_origin and len(app.origins) == 1:
        # A plain iframe may leave host_origin out when the app has one origin: that is the
        # only page allowed to frame it (frame-ancestors), so the widget talks to it. With
        # several origins the URL must say which (or the browser's ancestorOrigins does).
        page.config["host_origin"] = app.origins[0]
    elif host_origin:
        try:
            host_origin = normalise_origin(host_origin)
        except InvalidInput:
            return fail(403, "origin_denied")
        if host_origin not in page.config["allowed_origins"]:
            return fail(403, "origin_denied")
        page.config["host_origin"] = host_origin
    try:
        page.config["params"] = parse_params(widget, args)
        page.config["theme"] = parse_theme(args)
    except ParamError as exc:
        return fail(400, "invalid_param", message("invalid_param", locale, detail=exc.message))
    if widget.asset(".js") is None:
        return fail(503, "widget_unavailable")
    # The shared map's optional basemap (planfuse.embed.basemap).
    basemap_config, page.csp = basemap_page_parts(ctx.settings.get("basemap_url"))
    page.config.update(basemap_config)
    return page


def content_security_policy(page: WidgetPage | None) -> str:
    """The widget page's policy: our own scripts only, no inline script, framed only by the
    app's origins ('none' for an unknown app)."""
    extra: dict[str, tuple[str, ...]] = dict(page.widget.csp) if page else {}
    for directive, more in (page.csp if page else {}).items():
        extra[directive] = (*extra.get(directive, ()), *more)

    def sources(directive: str, *base: str) -> str:
        return " ".join((directive, *base, *extra.get(directive, ())))

    ancestors = " ".join(page.frame_ancestors) if page and page.frame_ancestors else "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            sources("style-src", "'self'"),
            sources("img-src", "'self'", "data:", "blob:"),
            sources("font-src", "'self'"),
            sources("connect-src", "'self'"),
            sources("worker-src", "'self'", "blob:"),
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        )
    )
