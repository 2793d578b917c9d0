"""The admin console's service catalogue page (服务目录): the seed platform's screen — tabs
数据服务 / 功能服务 / 应用服务, a keyword search, the 发布部门 and 服务状态 filters, the
columns 序号, 功能名称, 接口方式, 功能描述, 发布部门, 服务状态, 服务操作 — and each service's
详情: description, parameters, example, try-it form, snippet, figures over time, the apps
that may use it with their rate limits and quotas, usage per app over the last 7 days,
start and stop, configuration.

The page reads the cookie-signed-in twins of the catalogue API below; starting and
stopping, grants, configuration, and registering, changing, checking and removing a
department's remote service (planfuse.admin.remote_api's twins) send the console's CSRF
token and call the same functions as the admin API. A department administrator reads
every service and changes only their department's (403 `not_your_department` otherwise).
"""

from __future__ import annotations

from flask import g, render_template, request, url_for

from planfuse.admin.catalogue_api import configure, grant, start, stop
from planfuse.admin.remote_api import change_remote, check_remote, register_remote, remove_remote
from planfuse.admin.service_monitor import current_service_report
from planfuse.admin.views import (
    console_change,
    console_page,
    csrf_token,
    refusal,
    require_signed_in,
)
from planfuse.auth.apps import list_host_apps
from planfuse.http.caller import manages, require_service_department
from planfuse.http.chains import with_chain_inputs
from planfuse.http.context import planfuse
from planfuse.http.openapi import with_schemas
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.monitoring import access, config, limits
from planfuse.services.monitoring.listing import (
    STATUSES,
    Reader,
    catalogue_entry,
    list_catalogue,
)
from planfuse.services.monitoring.spec import CATALOGUE_KINDS, KIND_NAMES
from planfuse.services.remote import registry
from planfuse.services.remote.records import ADMIN_FIELDS, AUTH_KINDS, REMOTE_KINDS

routes = RouteTable()


def _scoped(entry: dict) -> dict:
    """`entry` as the signed-in admin sees it: of another department's remote service, a
    department administrator sees what a host app does (its own address, credential and
    registrant are its department's business)."""
    remote = entry.get("remote")
    if remote and not manages(g.admin, entry["dept"]):
        entry["remote"] = {k: v for k, v in remote.items() if k not in ADMIN_FIELDS}
    return entry


def _listing() -> dict:
    args = request.args
    listing = list_catalogue(
        planfuse(),
        Reader.administrator(),
        kind=args.get("kind") or None,
        dept=args.get("dept") or None,
        status=args.get("status") or None,
        q=args.get("q") or None,
    )
    listing["services"] = [_scoped(entry) for entry in listing["services"]]
    return listing


@routes.get("/catalogue")
@console_page(department_ok=True)
def catalogue_page():
    page_config = {
        "csrf_token": csrf_token(),
        # A department administrator's department: the register form is fixed to it.
        "admin_dept": g.admin.dept,
        "list_url": url_for("admin.catalogue_json"),
        "detail_url": url_for("admin.catalogue_detail_json", service_id="SERVICE"),
        "stop_url": url_for("admin.catalogue_stop", service_id="SERVICE"),
        "start_url": url_for("admin.catalogue_start", service_id="SERVICE"),
        "config_url": url_for("admin.catalogue_configure", service_id="SERVICE"),
        "register_url": url_for("admin.catalogue_register_remote"),
        "update_url": url_for("admin.catalogue_update_remote", service_id="SERVICE"),
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
    require_signed_in(department_ok=True)
    return json_response(_listing(), headers=NO_STORE)


@routes.get("/catalogue/<service_id>.json")
def catalogue_detail_json(service_id: str):
    """One service's 详情: the entry with schemas and figures, and — for an admin who may
    manage it — its grants, configuration and usage; otherwise `manage_refused` says why
    (a department administrator reading another department's service)."""
    admin = require_signed_in(department_ok=True)
    ctx = planfuse()
    service, entry = catalogue_entry(ctx, Reader.administrator(), service_id)
    report = current_service_report()
    figures = next((s for s in report["services"] if s["id"] == service_id), None)
    detail = with_chain_inputs(ctx, with_schemas(service, _scoped(entry)))
    detail["metrics"] = (
        {
            "windows": figures["windows"],
            "requests_per_minute_1h": figures["requests_per_minute_1h"],
            "last_request_at": figures["last_request_at"],
        }
        if figures
        else None
    )
    refused = refusal(lambda: require_service_department(admin, service_id))
    detail["manage_refused"] = refused
    if refused is not None:
        # What the admin API refuses them to read (grants, configuration, usage).
        detail["grants"] = detail["config"] = detail["usage"] = None
        return json_response(detail, headers=NO_STORE)
    detail["grants"] = access.service_grants(ctx, service_id)
    detail["config"] = config.service_config(ctx, service_id)
    apps = {app.id: app.name for app in list_host_apps(ctx)}
    detail["usage"] = limits.service_usage(ctx, service_id, 7, apps)
    return json_response(detail, headers=NO_STORE)


# Changes: a department administrator's are limited to their department's services by the
# admin API's own checks (planfuse.http.caller), before anything is read or changed.


@routes.post("/catalogue/<service_id>/grants/<app_id>")
@console_change(department_ok=True)
def catalogue_grant(service_id: str, app_id: str):
    """Set one app's access, rate limit and daily quota from the 详情's grants table."""
    require_service_department(g.admin, service_id)
    body = request.get_json(silent=True)
    return json_response(grant(service_id, app_id, body, f"admin:{g.admin.name}"))


@routes.post("/catalogue/<service_id>/stop")
@console_change(department_ok=True)
def catalogue_stop(service_id: str):
    """Stop a service from its 详情: `{"reason": …, "restart_at": …}` (the admin role)."""
    require_service_department(g.admin, service_id)
    body = request.get_json(silent=True) or {}
    return json_response(stop(service_id, body, f"admin:{g.admin.name}"))


@routes.post("/catalogue/<service_id>/start")
@console_change(department_ok=True)
def catalogue_start(service_id: str):
    """Start a stopped service from its 详情 (the admin role)."""
    require_service_department(g.admin, service_id)
    return json_response(start(service_id, f"admin:{g.admin.name}"))


@routes.post("/catalogue/<service_id>/config")
@console_change(department_ok=True)
def catalogue_configure(service_id: str):
    """Change the service's configuration from its 详情: `{"values": {…}, "note": …}`."""
    require_service_department(g.admin, service_id)
    body = request.get_json(silent=True)
    return json_response(configure(service_id, body, f"admin:{g.admin.name}"))


@routes.post("/catalogue/remote")
@console_change(department_ok=True)
def catalogue_register_remote():
    """Register a department's remote service from the page's form (JSON body)."""
    entry = register_remote(g.admin, request.get_json(silent=True))
    return json_response(registry.describe(entry), 201)


@routes.post("/catalogue/remote/<service_id>/update")
@console_change(department_ok=True)
def catalogue_update_remote(service_id: str):
    """Change a remote service's fields sent (the twin of the admin API's PATCH)."""
    entry = change_remote(g.admin, service_id, request.get_json(silent=True))
    return json_response(registry.describe(entry))


@routes.post("/catalogue/remote/<service_id>/check")
@console_change(department_ok=True)
def catalogue_check_remote(service_id: str):
    """Check a remote service's health now."""
    return json_response(registry.describe(check_remote(g.admin, service_id)))


@routes.post("/catalogue/remote/<service_id>/remove")
@console_change(department_ok=True)
def catalogue_remove_remote(service_id: str):
    """Remove a department's remote service from the catalogue."""
    remove_remote(g.admin, service_id)
    return "", 204
