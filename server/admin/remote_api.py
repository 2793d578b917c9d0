"""The admin API of departments' remote services (部门自有服务): register, list, change,
remove and check one (`/api/v1/admin/remote-services…`, an admin token). The console's
catalogue page does the same through its cookie-and-CSRF twins
(planfuse.admin.catalogue_console), which call the functions here. The credential sent to
the remote is never answered nor audited."""

from __future__ import annotations

from typing import Any

from planfuse.http.audit import audit_event
from planfuse.http.caller import (
    require_admin,
    require_body_department,
    require_remote_department,
)
from planfuse.http.context import planfuse
from planfuse.http.outbound import fetch
from planfuse.http.parsing import json_body
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.admin_tokens import Admin
from planfuse.services.remote import health, registry
from planfuse.services.remote.health import health_checker
from planfuse.services.remote.records import RemoteEntry

routes = RouteTable()


def audit_detail(body: dict) -> dict:
    """What the audit log keeps of a registration: never the credential, only its kind."""
    detail = {k: body[k] for k in ("kind", "dept", "base_url", "openapi_url") if k in body}
    if "auth" in body:
        auth = body["auth"]
        detail["auth"] = auth.get("type") if isinstance(auth, dict) else None
    return detail


@routes.get("/admin/remote-services")
def admin_remote_services():
    """Every registered remote service, with its health (a department administrator's:
    their department's)."""
    admin = require_admin(department_ok=True)
    entries = [
        registry.describe(e)
        for e in registry.list_entries(planfuse())
        if admin.dept is None or e.dept == admin.dept
    ]
    return json_response({"services": entries, "total": len(entries)}, headers=NO_STORE)


def register_remote(admin: Admin, body: Any) -> RemoteEntry:
    """Register `body` as a department's remote service by `admin` (a department
    administrator: under their own department only); the admin API's and the console's."""
    require_body_department(admin, body, required=True)
    ctx = planfuse()
    entry = registry.register(ctx, body, by=f"admin:{admin.name}")
    audit_event("service.register", f"service:{entry.id}", audit_detail(body))
    # This process checks it now and on schedule (every `planfuse serve` worker does).
    health_checker(ctx, fetch).wake()
    return entry


def change_remote(admin: Admin, service_id: str, body: Any) -> RemoteEntry:
    """Change the fields `body` sends of a remote service `admin` may manage (never into
    another department)."""
    require_remote_department(admin, service_id)
    require_body_department(admin, body, required=False)
    ctx = planfuse()
    entry = registry.update(ctx, service_id, body)
    audit_event("service.update", f"service:{service_id}", audit_detail(body))
    health_checker(ctx, fetch).wake()
    return entry


def check_remote(admin: Admin, service_id: str) -> RemoteEntry:
    """Check the health of a remote service `admin` may manage now (as the schedule
    would) and store the outcome."""
    require_remote_department(admin, service_id)
    ctx = planfuse()
    health.check_now(ctx, service_id, fetch)
    return registry.get_entry(ctx, service_id)


def remove_remote(admin: Admin, service_id: str) -> None:
    """Remove a remote service `admin` may manage from the catalogue."""
    require_remote_department(admin, service_id)
    registry.remove(planfuse(), service_id)
    audit_event("service.remove", f"service:{service_id}")


@routes.post("/admin/remote-services")
def admin_register_remote_service():
    """Register a department's service (201)."""
    entry = register_remote(require_admin(department_ok=True), json_body())
    return json_response(
        registry.describe(entry), 201, location=f"admin/remote-services/{entry.id}"
    )


@routes.get("/admin/remote-services/<service_id>")
def admin_remote_service(service_id: str):
    entry = require_remote_department(require_admin(department_ok=True), service_id)
    return json_response(registry.describe(entry), headers=NO_STORE)


@routes.patch("/admin/remote-services/<service_id>")
def admin_update_remote_service(service_id: str):
    """Change the fields sent (`auth`: absent unchanged, null removed)."""
    admin = require_admin(department_ok=True)
    # Another department's service is refused before its body is read.
    require_remote_department(admin, service_id)
    entry = change_remote(admin, service_id, json_body())
    return json_response(registry.describe(entry))


@routes.delete("/admin/remote-services/<service_id>")
def admin_remove_remote_service(service_id: str):
    remove_remote(require_admin(department_ok=True), service_id)
    return "", 204


@routes.post("/admin/remote-services/<service_id>/check")
def admin_check_remote_service(service_id: str):
    """Check the service's health now (as the schedule would) and store the outcome."""
    entry = check_remote(require_admin(department_ok=True), service_id)
    return json_response(registry.describe(entry))
