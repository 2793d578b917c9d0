"""The admin API of the service framework: departments (发布部门), starting and stopping
services, grants per app and service with their rate limits and quotas, usage per app and
day, and per-service configuration with its history."""

from __future__ import annotations

from typing import Any

from flask import request

from planfuse.auth.apps import list_host_apps
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin, require_service_admin
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.monitoring import access, config, control, limits
from planfuse.services.monitoring.departments import save_department

routes = RouteTable()


def _by(service_id: str) -> str:
    """Who changes `service_id`: a platform administrator or its department's."""
    admin = require_service_admin(service_id)
    return f"admin:{admin.name}"


@routes.put("/admin/departments/<department_id>")
def admin_put_department(department_id: str):
    """Create or rename a department: `{"name": {"zh-CN": …, "en": …}}`."""
    require_admin()
    body = json_body()
    department, created = save_department(planfuse(), department_id, body)
    audit_event(
        "department.save",
        f"department:{department_id}",
        {"created": created, "name": body.get("name")},
    )
    return json_response(department.describe(), 201 if created else 200)


def stop(service_id: str, body: dict, by: str) -> dict:
    """Stop `service_id` (`body`: `reason`, `restart_at`) and audit it; the admin API's and
    the console's, each after its department check."""
    stopped = control.stop_service(planfuse(), service_id, body, by=by)
    audit_event(
        "service.stop",
        f"service:{service_id}",
        {"reason": body.get("reason"), "restart_at": body.get("restart_at")},
    )
    return stopped


def start(service_id: str, by: str) -> dict:
    """Start a stopped `service_id` and audit it."""
    started = control.start_service(planfuse(), service_id, by=by)
    audit_event("service.start", f"service:{service_id}")
    return started


def grant(service_id: str, app_id: str, body: Any, by: str) -> dict:
    """Set one app's access and limits for `service_id` and audit what changed."""
    granted = access.set_grant(planfuse(), service_id, app_id, body, by=by)
    if "allowed" in body:
        audit_event(
            "service.grant",
            f"service:{service_id}",
            {"app": app_id, "allowed": body.get("allowed")},
        )
    changed = {name: body[name] for name in limits.LIMIT_FIELDS if name in body}
    if changed:
        audit_event("service.limit", f"service:{service_id}", {"app": app_id, **changed})
    return granted


def configure(service_id: str, body: Any, by: str) -> dict:
    """Change `service_id`'s configuration and audit the names changed (only the names:
    a configuration value may be a credential)."""
    changed = config.set_service_config(planfuse(), service_id, body, by=by)
    values = body.get("values")
    audit_event(
        "service.configure",
        f"service:{service_id}",
        {
            "changed": sorted(values) if isinstance(values, dict) else [],
            "note": body.get("note"),
        },
    )
    return changed


@routes.post("/admin/services/<service_id>/stop")
def admin_stop_service(service_id: str):
    """Stop a service: `{"reason": …, "restart_at": ISO date-time or null}`."""
    by = _by(service_id)
    return json_response(stop(service_id, json_body(optional=True), by))


@routes.post("/admin/services/<service_id>/start")
def admin_start_service(service_id: str):
    """Start a stopped service."""
    return json_response(start(service_id, _by(service_id)))


@routes.get("/admin/services/<service_id>/grants")
def admin_service_grants(service_id: str):
    """Every host app with whether it may call the service."""
    require_service_admin(service_id)
    grants = access.service_grants(planfuse(), service_id)
    return json_response({"service_id": service_id, "grants": grants}, headers=NO_STORE)


@routes.put("/admin/services/<service_id>/grants/<app_id>")
def admin_put_grant(service_id: str, app_id: str):
    """Grant (`{"allowed": true}`), refuse (`false`) or reset (`null`) one app's access;
    `rate_per_minute` and `quota_per_day` set its limits (null: none)."""
    by = _by(service_id)
    return json_response(grant(service_id, app_id, json_body(), by))


@routes.get("/admin/services/<service_id>/config")
def admin_service_config(service_id: str):
    """The service's configuration items with their values and defaults."""
    require_service_admin(service_id)
    items = config.service_config(planfuse(), service_id)
    return json_response({"service_id": service_id, "config": items}, headers=NO_STORE)


@routes.put("/admin/services/<service_id>/config")
def admin_put_service_config(service_id: str):
    """Change configuration: `{"values": {name: value or null}, "note": …}`."""
    by = _by(service_id)
    return json_response(configure(service_id, json_body(), by))


@routes.get("/admin/services/<service_id>/config/history")
def admin_service_config_history(service_id: str):
    """Every change of the service's configuration, newest first."""
    require_service_admin(service_id)
    history = config.config_history(planfuse(), service_id)
    return json_response({"service_id": service_id, "history": history}, headers=NO_STORE)


@routes.get("/admin/services/<service_id>/usage")
def admin_service_usage(service_id: str):
    """Calls and errors per host app and day over the last `days` days (default 7)."""
    require_service_admin(service_id)
    ctx = planfuse()
    control.catalogued_service(service_id, ctx)
    raw = request.args.get("days", "7")
    days = int(raw) if raw.isdigit() else -1
    apps = {app.id: app.name for app in list_host_apps(ctx)}
    return json_response(limits.service_usage(ctx, service_id, days, apps), headers=NO_STORE)
