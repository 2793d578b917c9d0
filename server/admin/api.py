"""The admin API for host apps: the same operations as `planfuse apps …`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from planfuse.api import api_bp
from planfuse.api.auth import require_admin
from planfuse.api.common import NO_STORE, json_body, json_response
from planfuse.app import planfuse
from planfuse.auth import apps as service
from planfuse.errors import bad_request
from planfuse.web.metrics import current_service_report


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
    return service.create_host_app(
        planfuse(), name, _str_list(body, "origins") or [], _str_list(body, "widgets") or []
    )


def update_from_body(app_id: str, body: dict[str, Any]) -> service.AppRecord:
    """Change what `body` names of `name`, `origins`, `widgets`, `disabled`."""
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise bad_request("disabled must be true or false", field="disabled")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise bad_request("name must be a string", field="name")
    return service.update_host_app(
        planfuse(),
        app_id,
        name=name,
        origins=_str_list(body, "origins"),
        widgets=_str_list(body, "widgets"),
        disabled=disabled,
    )


def rotate_from_body(app_id: str, body: dict[str, Any]) -> tuple[str, str]:
    """`{"grace_s": n}` (optional) → the new secret's (kid, secret)."""
    grace = body.get("grace_s")
    if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
        raise bad_request("grace_s must be a whole number of seconds", field="grace_s")
    return service.rotate_secret(planfuse(), app_id, grace)


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
    return service.revoke_tokens(planfuse(), app_id, instant)


def add_key_from_body(app_id: str, body: dict[str, Any]) -> str:
    """`{"jwk": {...}, "alg"?, "kid"?}` → the registered key's kid."""
    return service.add_public_key(
        planfuse(), app_id, body.get("jwk"), body.get("alg"), body.get("kid")
    )


@api_bp.get("/admin/apps")
def admin_list_apps():
    require_admin()
    return json_response({"apps": [a.describe() for a in service.list_host_apps(planfuse())]})


def app_created(body: dict[str, Any]):
    """Register an app from a JSON body; the 201 answer is the one that shows its secret."""
    record, secret = create_from_body(body)
    return json_response(
        {"app_id": record.id, "secret": secret, "app": record.describe()}, 201, NO_STORE
    )


@api_bp.post("/admin/apps")
def admin_create_app():
    require_admin()
    return app_created(json_body(optional=True))


@api_bp.get("/admin/apps/<app_id>")
def admin_get_app(app_id: str):
    require_admin()
    return json_response(service.get_host_app(planfuse(), app_id).describe())


@api_bp.patch("/admin/apps/<app_id>")
def admin_update_app(app_id: str):
    require_admin()
    return json_response(update_from_body(app_id, json_body(optional=True)).describe())


@api_bp.post("/admin/apps/<app_id>/rotate")
def admin_rotate_secret(app_id: str):
    require_admin()
    kid, secret = rotate_from_body(app_id, json_body(optional=True))
    return json_response({"app_id": app_id, "kid": kid, "secret": secret}, headers=NO_STORE)


@api_bp.post("/admin/apps/<app_id>/disable")
def admin_disable_app(app_id: str):
    require_admin()
    return json_response(service.update_host_app(planfuse(), app_id, disabled=True).describe())


@api_bp.post("/admin/apps/<app_id>/enable")
def admin_enable_app(app_id: str):
    require_admin()
    return json_response(service.update_host_app(planfuse(), app_id, disabled=False).describe())


@api_bp.post("/admin/apps/<app_id>/revoke")
def admin_revoke_tokens(app_id: str):
    require_admin()
    return json_response({"revoked_before": revoke_from_body(app_id, json_body(optional=True))})


@api_bp.post("/admin/apps/<app_id>/keys")
def admin_add_key(app_id: str):
    require_admin()
    kid = add_key_from_body(app_id, json_body(optional=True))
    return json_response({"app_id": app_id, "kid": kid}, 201)


@api_bp.delete("/admin/apps/<app_id>/keys/<kid>")
def admin_remove_key(app_id: str, kid: str):
    require_admin()
    service.remove_key(planfuse(), app_id, kid)
    return "", 204


@api_bp.get("/admin/services")
def admin_services():
    require_admin()
    return json_response(current_service_report(), headers=NO_STORE)
