"""The admin API for host apps: the same operations as `planfuse apps …`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from planfuse.admin.service_monitor import current_service_report
from planfuse.auth import apps as service
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.problems import bad_request
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable

routes = RouteTable()


def _str_list(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a list of strings", field=name)
    return value


# The body readers below are shared with the console's app page (planfuse.admin.apps): both
# adapters check a request the same way, then call the same service function.


def create_from_body(body: dict[str, Any]) -> tuple[service.AppRecord, str | None]:
    """`{"name", "origins": [...], "widgets": [...]}` → the new app and its secret."""
    name = body.get("name")
    if not isinstance(name, str):
        raise bad_request("name is required", field="name")
    record, secret = service.create_host_app(
        planfuse(), name, _str_list(body, "origins") or [], _str_list(body, "widgets") or []
    )
    audit_event("app.create", f"app:{record.id}", app_summary(record))
    return record, secret


def app_summary(record: service.AppRecord) -> dict[str, Any]:
    """What the audit log keeps of an app after a change."""
    return {
        "name": record.name,
        "origins": list(record.origins),
        "widgets": list(record.widgets),
        "disabled": record.disabled,
    }


def update_from_body(app_id: str, body: dict[str, Any]) -> service.AppRecord:
    """Change what `body` names of `name`, `origins`, `widgets`, `disabled`."""
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise bad_request("disabled must be true or false", field="disabled")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise bad_request("name must be a string", field="name")
    record = service.update_host_app(
        planfuse(),
        app_id,
        name=name,
        origins=_str_list(body, "origins"),
        widgets=_str_list(body, "widgets"),
        disabled=disabled,
    )
    changed = sorted(k for k in ("name", "origins", "widgets") if body.get(k) is not None)
    if changed:
        audit_event("app.update", f"app:{app_id}", {"changed": changed, **app_summary(record)})
    if disabled is not None:
        audit_event("app.disable" if disabled else "app.enable", f"app:{app_id}")
    return record


def rotate_from_body(app_id: str, body: dict[str, Any]) -> tuple[str, str]:
    """`{"grace_s": n}` (optional) → the new secret's (kid, secret)."""
    grace = body.get("grace_s")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        raise bad_request("grace_s must be a whole number of seconds", field="grace_s")
    kid, secret = service.rotate_secret(planfuse(), app_id, grace)
    audit_event("key.rotate", f"app:{app_id}", {"kid": kid, "grace_s": grace})
    return kid, secret


def revoke_from_body(app_id: str, body: dict[str, Any]) -> datetime:
    """`{"before": ISO 8601 time}` (optional, default now) → the revoke instant."""
    before = body.get("before")
    instant = None
    if before is not None:
        try:
            instant = datetime.fromisoformat(before)
        except (TypeError, ValueError):
            raise bad_request("before must be an ISO 8601 time", field="before") from None
        if instant.tzinfo is None:
            raise bad_request("before needs a time zone, e.g. 2026-01-01T00:00:00Z", field="before")
    revoked = service.revoke_tokens(planfuse(), app_id, instant)
    audit_event("app.revoke_tokens", f"app:{app_id}", {"revoked_before": revoked})
    return revoked


def add_key_from_body(app_id: str, body: dict[str, Any]) -> str:
    """`{"jwk": {...}, "alg"?, "kid"?}` → the registered key's kid."""
    kid = service.add_public_key(
        planfuse(), app_id, body.get("jwk"), body.get("alg"), body.get("kid")
    )
    audit_event("key.add", f"app:{app_id}", {"kid": kid, "alg": body.get("alg")})
    return kid


def remove_key(app_id: str, kid: str) -> None:
    """Remove public key `kid` of the app."""
    service.remove_key(planfuse(), app_id, kid)
    audit_event("key.remove", f"app:{app_id}", {"kid": kid})


@routes.get("/admin/apps")
def admin_list_apps():
    require_admin()
    return json_response({"apps": [a.describe() for a in service.list_host_apps(planfuse())]})


def app_created(body: dict[str, Any]):
    """Register an app from a JSON body; the 201 answer is the one that shows its secret."""
    record, secret = create_from_body(body)
    return json_response(
        {"app_id": record.id, "secret": secret, "app": record.describe()}, 201, NO_STORE
    )


@routes.post("/admin/apps")
def admin_create_app():
    require_admin()
    return app_created(json_body(optional=True))


@routes.get("/admin/apps/<app_id>")
def admin_get_app(app_id: str):
    require_admin()
    return json_response(service.get_host_app(planfuse(), app_id).describe())


@routes.patch("/admin/apps/<app_id>")
def admin_update_app(app_id: str):
    require_admin()
    return json_response(update_from_body(app_id, json_body(optional=True)).describe())


@routes.post("/admin/apps/<app_id>/rotate")
def admin_rotate_secret(app_id: str):
    require_admin()
    kid, secret = rotate_from_body(app_id, json_body(optional=True))
    return json_response({"app_id": app_id, "kid": kid, "secret": secret}, headers=NO_STORE)


@routes.post("/admin/apps/<app_id>/disable")
def admin_disable_app(app_id: str):
    require_admin()
    return json_response(update_from_body(app_id, {"disabled": True}).describe())


@routes.post("/admin/apps/<app_id>/enable")
def admin_enable_app(app_id: str):
    require_admin()
    return json_response(update_from_body(app_id, {"disabled": False}).describe())


@routes.post("/admin/apps/<app_id>/revoke")
def admin_revoke_tokens(app_id: str):
    require_admin()
    return json_response({"revoked_before": revoke_from_body(app_id, json_body(optional=True))})


@routes.post("/admin/apps/<app_id>/keys")
def admin_add_key(app_id: str):
    require_admin()
    kid = add_key_from_body(app_id, json_body(optional=True))
    return json_response({"app_id": app_id, "kid": kid}, 201)


@routes.delete("/admin/apps/<app_id>/keys/<kid>")
def admin_remove_key(app_id: str, kid: str):
    require_admin()
    remove_key(app_id, kid)
    return "", 204


@routes.get("/admin/services")
def admin_services():
    require_admin()
    return json_response(current_service_report(), headers=NO_STORE)
