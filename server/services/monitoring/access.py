"""Grants (授权): which host apps may call which catalogued services.

Without a decision of an administrator a host app may call every data and function
service (its backend's Basic credentials reach them all, as its widgets' sessions do) and
the application service of every widget it may embed. An administrator grants or refuses
one service to one app (`service_grants`); the decision applies to the app's backend and
to its widget sessions alike, in every server process within `service_state_cache_s`.
Beside the grant an administrator may set the app's rate limit and daily quota for the
service (planfuse.services.monitoring.limits).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from planfuse.auth.apps import AppRecord, find_host_app, get_host_app, list_host_apps
from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, InvalidInput
from planfuse.services.monitoring.catalogue import SERVICES, SERVICES_BY_ID
from planfuse.services.monitoring.control import catalogued_service, framework_state
from planfuse.services.monitoring.limits import LIMIT_FIELDS, app_limit, parse_limits, set_limits
from planfuse.services.monitoring.runtime import find_service, runtime_services
from planfuse.services.monitoring.spec import ServiceSpec
from planfuse.storage.models import ServiceGrant
from planfuse.storage.models.base import utcnow


def default_grant(app: AppRecord, service: ServiceSpec) -> bool:
    """What an app may use without an administrator's decision (a department's remote
    service: nothing until granted)."""
    if not service.granted_by_default:
        return False
    if service.kind == "application":
        return service.widget is not None and app.allows_widget(service.widget)
    return True


def is_granted(ctx: PlanFuse, app_id: str, service_id: str) -> bool:
    """Whether host app `app_id` may call `service_id` (platform services: always)."""
    service = find_service(ctx, service_id)
    if service is None or not service.can_stop:
        return True
    explicit = framework_state(ctx).snapshot().grants.get((app_id, service_id))
    if explicit is not None:
        return explicit
    if not service.granted_by_default:
        return False
    if service.kind != "application":
        return True
    app = find_host_app(ctx, app_id)
    return app is not None and default_grant(app, service)


def require_granted(ctx: PlanFuse, app_id: str, service_id: str) -> None:
    """Forbidden (`service_not_granted`) when the app may not call the service."""
    if not is_granted(ctx, app_id, service_id):
        service = find_service(ctx, service_id) or SERVICES_BY_ID[service_id]
        raise Forbidden(
            f"host app {app_id!r} is not granted the service {service.name_en!r} "
            f"({service.name_zh}); an administrator grants it in the service catalogue",
            code="service_not_granted",
            title="Service not granted",
        )


def granted_service_ids(ctx: PlanFuse, app_id: str) -> set[str]:
    """The catalogued services `app_id` may call (none for an unknown or disabled app)."""
    app = find_host_app(ctx, app_id)
    if app is None or app.disabled:
        return set()
    grants = framework_state(ctx).snapshot().grants
    services = (*SERVICES, *runtime_services(ctx).values())
    return {
        s.id for s in services if s.can_stop and grants.get((app.id, s.id), default_grant(app, s))
    }


def set_grant(ctx: PlanFuse, service_id: str, app_id: str, body: Any, *, by: str) -> dict[str, Any]:
    """Grant (``{"allowed": true}``), refuse (``false``) or return to the default (``null``)."""
    service = catalogued_service(service_id, ctx)
    if not service.can_stop:
        raise InvalidInput(
            f"service {service_id!r} is part of the platform; every app may use it",
            field="service_id",
        )
    app = get_host_app(ctx, app_id)
    if not isinstance(body, dict) or not ({"allowed", *LIMIT_FIELDS} & set(body)):
        raise InvalidInput(
            'send {"allowed": true}, false, or null for the default (and optionally '
            '"rate_per_minute" and "quota_per_day", a number or null)',
            field="allowed",
        )
    limits = parse_limits(body)
    if "allowed" not in body:
        set_limits(ctx, service_id, app.id, limits, by=by)
        return _grant_entry(ctx, app, service)
    allowed = body["allowed"]
    if allowed is not None and not isinstance(allowed, bool):
        raise InvalidInput("`allowed` must be true, false or null", field="allowed")
    set_limits(ctx, service_id, app.id, limits, by=by)
    with ctx.db.write_session() as session:
        # Replaced, not read and changed: the transaction writes first (on SQLite a read
        # followed by a write fails when another process wrote in between).
        session.execute(
            delete(ServiceGrant).where(
                ServiceGrant.app_id == app.id, ServiceGrant.service_id == service_id
            )
        )
        if allowed is not None:
            session.add(
                ServiceGrant(
                    app_id=app.id,
                    service_id=service_id,
                    allowed=allowed,
                    changed_by=by,
                    changed_at=utcnow(),
                )
            )
    framework_state(ctx).invalidate()
    return _grant_entry(ctx, app, service)


def _grant_entry(ctx: PlanFuse, app: AppRecord, service: ServiceSpec) -> dict[str, Any]:
    explicit = framework_state(ctx).snapshot().grants.get((app.id, service.id))
    limit = app_limit(ctx, app.id, service.id)
    return {
        "app_id": app.id,
        "app_name": app.name,
        "service_id": service.id,
        "granted": explicit if explicit is not None else default_grant(app, service),
        "explicit": explicit is not None,
        "disabled": app.disabled,
        "rate_per_minute": limit.rate_per_minute,
        "quota_per_day": limit.quota_per_day,
    }


def service_grants(ctx: PlanFuse, service_id: str) -> list[dict[str, Any]]:
    """Every host app with whether it may call `service_id` and whether an administrator
    decided so (``explicit``)."""
    service = catalogued_service(service_id, ctx)
    return [_grant_entry(ctx, app, service) for app in list_host_apps(ctx)]
