"""The admin console's service catalogue page (服务目录): the seed platform's screen — tabs
数据服务 / 功能服务 / 应用服务, a keyword search, the 发布部门 and 服务状态 filters, the
columns 序号, 功能名称, 接口方式, 功能描述, 发布部门, 服务状态, 服务操作 — and each service's
详情: description, parameters, example, try-it form, snippet, figures over time, the apps
that may use it with their rate limits and quotas, usage per app over the last 7 days,
start and stop.

The page reads the cookie-signed-in twins of the catalogue API below; starting and
stopping, and registering, checking and removing a department's remote service
(planfuse.admin.remote_api's twins), send the console's CSRF token.
"""

from __future__ import annotations

from flask import g, render_template, request, url_for

from planfuse.admin.remote_api import audit_detail
from planfuse.admin.service_monitor import current_service_report
from planfuse.admin.views import (
    console_change,
    console_page,
    csrf_token,
    require_signed_in,
)
from planfuse.auth.apps import list_host_apps
from planfuse.http.audit import audit_event
from planfuse.http.chains import with_chain_inputs
from planfuse.http.context import planfuse
from planfuse.http.openapi import with_schemas
from planfuse.http.outbound import fetch
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.monitoring import access, config, control, limits
from planfuse.services.monitoring.listing import (
    STATUSES,
    Reader,
    catalogue_entry,
    list_catalogue,
)
from planfuse.services.monitoring.spec import CATALOGUE_KINDS, KIND_NAMES
from planfuse.services.remote import health, registry
from planfuse.services.remote.records import AUTH_KINDS, REMOTE_KINDS

routes = RouteTable()


def _listing() -> dict:
    args = request.args
    return list_catalogue(
        planfuse(),
        Reader.administrator(),
        kind=args.get("kind") or None,
        dept=args.get("dept") or None,
        status=args.get("status") or None,
        q=args.get("q") or None,
    )


@routes.get("/catalogue")
@console_page
def catalogue_page():
    page_config = {
        "csrf_token": csrf_token(),
        "list_url": url_for("admin.catalogue_json"),
        "detail_url": url_for("admin.catalogue_detail_json", service_id="SERVICE"),
        "stop_url": url_for("admin.catalogue_stop", service_id="SERVICE"),
        "start_url": url_for("admin.catalogue_start", service_id="SERVICE"),
        "register_url": url_for("admin.catalogue_register_remote"),
        "check_url": url_for("admin.catalogue_check_remote", service_id="SERVICE"),
        "remove_url": url_for("admin.catalogue_remove_remote", service_id="SERVICE"),
        "remote_kinds": [
            {"id": kind, "name": {"zh-CN": k.name_zh, "en": k.name_en}}
            for kind, k in REMOTE_KINDS.items()
        ],
        "auth_kinds": list(AUTH_KINDS),
        "grant_url": url_for("admin.catalogue_grant", service_id="SERVICE", app_id="APP"),
        "origin": request.host_url.rstrip("/"),
        "kinds": [
            {"id": kind, "name": {"zh-CN": KIND_NAMES[kind][0], "en": KIND_NAMES[kind][1]}}
            for kind in CATALOGUE_KINDS
        ],
        "statuses": [
            {"id": status, "name": {"zh-CN": zh, "en": en}} for status, (zh, en) in STATUSES.items()
        ],
        "catalogue": _listing(),
    }
    return render_template("admin/catalogue.html", admin=g.admin, config=page_config)


@routes.get("/catalogue.json")
def catalogue_json():
    require_signed_in()
    return json_response(_listing(), headers=NO_STORE)


@routes.get("/catalogue/<service_id>.json")
def catalogue_detail_json(service_id: str):
    """One service's 详情: the entry with schemas, figures, grants, configuration."""
    require_signed_in()
    ctx = planfuse()
    service, entry = catalogue_entry(ctx, Reader.administrator(), service_id)
    report = current_service_report()
    figures = next((s for s in report["services"] if s["id"] == service_id), None)
    detail = with_chain_inputs(ctx, with_schemas(service, entry))
    detail["metrics"] = (
        {
            "windows": figures["windows"],
            "requests_per_minute_1h": figures["requests_per_minute_1h"],
            "last_request_at": figures["last_request_at"],
        }
        if figures
        else None
    )
    detail["grants"] = access.service_grants(ctx, service_id)
    detail["config"] = config.service_config(ctx, service_id)
    apps = {app.id: app.name for app in list_host_apps(ctx)}
    detail["usage"] = limits.service_usage(ctx, service_id, 7, apps)
    return json_response(detail, headers=NO_STORE)


@routes.post("/catalogue/<service_id>/grants/<app_id>")
@console_change
def catalogue_grant(service_id: str, app_id: str):
    """Set one app's access, rate limit and daily quota from the 详情's grants table."""
    body = request.get_json(silent=True)
    granted = access.set_grant(planfuse(), service_id, app_id, body, by=f"admin:{g.admin.name}")
    if "allowed" in body:
        audit_event(
            "service.grant",
            f"service:{service_id}",
            {"app": app_id, "allowed": body.get("allowed")},
        )
    changed = {name: body[name] for name in limits.LIMIT_FIELDS if name in body}
    if changed:
        audit_event("service.limit", f"service:{service_id}", {"app": app_id, **changed})
    return json_response(granted)


@routes.post("/catalogue/<service_id>/stop")
@console_change
def catalogue_stop(service_id: str):
    """Stop a service from its 详情: `{"reason": …, "restart_at": …}` (the admin role)."""
    admin = g.admin
    body = request.get_json(silent=True) or {}
    state = control.stop_service(planfuse(), service_id, body, by=f"admin:{admin.name}")
    audit_event(
        "service.stop",
        f"service:{service_id}",
        {"reason": body.get("reason"), "restart_at": body.get("restart_at")},
    )
    return json_response(state)


@routes.post("/catalogue/<service_id>/start")
@console_change
def catalogue_start(service_id: str):
    """Start a stopped service from its 详情 (the admin role)."""
    admin = g.admin
    state = control.start_service(planfuse(), service_id, by=f"admin:{admin.name}")
    audit_event("service.start", f"service:{service_id}")
    return json_response(state)


@routes.post("/catalogue/remote")
@console_change
def catalogue_register_remote():
    """Register a department's remote service from the page's form (JSON body)."""
    body = request.get_json(silent=True)
    ctx = planfuse()
    entry = registry.register(ctx, body, by=f"admin:{g.admin.name}")
    audit_event("service.register", f"service:{entry.id}", audit_detail(body))
    health.health_checker(ctx, fetch).wake()
    return json_response(registry.describe(entry), 201)


@routes.post("/catalogue/remote/<service_id>/check")
@console_change
def catalogue_check_remote(service_id: str):
    """Check a remote service's health now."""
    ctx = planfuse()
    registry.get_entry(ctx, service_id)
    health.check_now(ctx, service_id, fetch)
    return json_response(registry.describe(registry.get_entry(ctx, service_id)))


@routes.post("/catalogue/remote/<service_id>/remove")
@console_change
def catalogue_remove_remote(service_id: str):
    """Remove a department's remote service from the catalogue."""
    registry.remove(planfuse(), service_id)
    audit_event("service.remove", f"service:{service_id}")
    return "", 204
