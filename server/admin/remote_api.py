"""The admin API of departments' remote services (部门自有服务): register, list, change,
remove and check one (`/api/v1/admin/remote-services…`, an admin token). The console's
catalogue page registers them through its cookie-and-CSRF twins
(planfuse.admin.catalogue_console). The credential sent to the remote is never answered
nor audited."""

from __future__ import annotations

from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin, require_department
from planfuse.http.context import planfuse
from planfuse.http.outbound import fetch
from planfuse.http.parsing import json_body
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.remote import health, registry
from planfuse.services.remote.health import health_checker

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


@routes.post("/admin/remote-services")
def admin_register_remote_service():
    """Register a department's service (201)."""
    admin = require_admin(department_ok=True)
    body = json_body()
    if isinstance(body, dict):
        require_department(admin, body.get("dept"), "service")
    ctx = planfuse()
    entry = registry.register(ctx, body, by=f"admin:{admin.name}")
    audit_event("service.register", f"service:{entry.id}", audit_detail(body))
    # This process checks it now and on schedule (every `planfuse serve` worker does).
    health_checker(ctx, fetch).wake()
    return json_response(
        registry.describe(entry), 201, location=f"admin/remote-services/{entry.id}"
    )


@routes.get("/admin/remote-services/<service_id>")
def admin_remote_service(service_id: str):
    entry = _own_entry(service_id)
    return json_response(registry.describe(entry), headers=NO_STORE)


def _own_entry(service_id: str):
    """The registered service, if the admin may manage it (a platform administrator, or
    its department's)."""
    admin = require_admin(department_ok=True)
    entry = registry.get_entry(planfuse(), service_id)
    require_department(admin, entry.dept, "service")
    return entry


@routes.patch("/admin/remote-services/<service_id>")
def admin_update_remote_service(service_id: str):
    """Change the fields sent (`auth`: absent unchanged, null removed)."""
    _own_entry(service_id)
    body = json_body()
    if isinstance(body, dict) and "dept" in body:
        require_department(require_admin(department_ok=True), body.get("dept"), "service")
    ctx = planfuse()
    entry = registry.update(ctx, service_id, body)
    audit_event("service.update", f"service:{service_id}", audit_detail(body))
    health_checker(ctx, fetch).wake()
    return json_response(registry.describe(entry))


@routes.delete("/admin/remote-services/<service_id>")
def admin_remove_remote_service(service_id: str):
    _own_entry(service_id)
    registry.remove(planfuse(), service_id)
    audit_event("service.remove", f"service:{service_id}")
    return "", 204


@routes.post("/admin/remote-services/<service_id>/check")
def admin_check_remote_service(service_id: str):
    """Check the service's health now (as the schedule would) and store the outcome."""
    _own_entry(service_id)
    ctx = planfuse()
    health.check_now(ctx, service_id, fetch)
    return json_response(registry.describe(registry.get_entry(ctx, service_id)))
