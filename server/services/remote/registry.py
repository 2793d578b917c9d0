"""Registering, changing and removing a department's remote service (the admin API and the
console call these).

``{"id": "eco_redline", "name": {"zh-CN": …, "en": …}, "description": {…} (optional),
"dept": "ecology_environment", "kind": "ogc_features", "base_url": "https://…",
"openapi_url": null, "auth": null | {"type": "basic", "username", "password"} |
{"type": "bearer", "token"} | {"type": "header", "name", "value"}}``.

The URLs are checked as they will be called (planfuse.services.remote.network): http(s)
only, no credentials in them, and — unless `remote_services_allow_private` — no host that
resolves to a loopback, private, link-local or reserved address.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.chains.published import published_specs
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.control import framework_state
from planfuse.services.monitoring.departments import list_departments
from planfuse.services.monitoring.spec import SERVICE_ID
from planfuse.services.remote import network
from planfuse.services.remote.records import (
    AUTH_KINDS,
    REMOTE_KINDS,
    RemoteEntry,
    entry_of,
    remote_specs,
    remote_state,
    seal_auth,
)
from planfuse.storage.models import (
    RemoteService,
    ServiceConfigChange,
    ServiceConfigValue,
    ServiceGrant,
    ServiceState,
)
from planfuse.storage.models.base import utcnow

FIELDS = {"id", "name", "description", "dept", "kind", "base_url", "openapi_url", "auth"}
MAX_NAME = 200
MAX_DESCRIPTION = 1000
MAX_SECRET = 4000
HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")
#: Headers a credential may not be sent as (they are the proxy's or the connection's).
RESERVED_HEADERS = {
    "host",
    "content-length",
    "content-type",
    "connection",
    "transfer-encoding",
    "cookie",
    "accept-encoding",
}


def _text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(f"`{field}` must be a non-empty string", field=field)
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"`{field}` is longer than {limit} characters", field=field)
    return value


def _names(value: Any, field: str, limit: int, *, required: bool) -> tuple[str, str]:
    if value is None and not required:
        return "", ""
    if not isinstance(value, dict):
        raise InvalidInput(f'`{field}` must be {{"zh-CN": "…", "en": "…"}}', field=field)
    return (
        _text(value.get("zh-CN"), f"{field}.zh-CN", limit, required=required),
        _text(value.get("en"), f"{field}.en", limit, required=required),
    )


def _check_id(ctx: PlanFuse, value: Any) -> str:
    if not isinstance(value, str) or not SERVICE_ID.match(value):
        raise InvalidInput(
            f"service id {value!r} must be lower-case letters, digits and _ (2–32 "
            "characters, starting with a letter), e.g. eco_redline",
            field="id",
        )
    if value in SERVICES_BY_ID:
        raise Conflict(
            f"service id {value!r} is one of PlanFuse's own services; choose another",
            code="service_id_taken",
        )
    if value in published_specs(ctx):
        raise Conflict(
            f"service id {value!r} is a published chain's; choose another",
            code="service_id_taken",
        )
    return value


def _check_dept(ctx: PlanFuse, value: Any) -> str:
    known = [d.id for d in list_departments(ctx)]
    if value not in known:
        raise InvalidInput(
            f"department {value!r} is unknown; expected one of {', '.join(known)}",
            field="dept",
            code="unknown_department",
        )
    return value


def _check_kind(value: Any) -> str:
    if value not in REMOTE_KINDS:
        raise InvalidInput(
            f"kind {value!r} is unknown; expected one of {', '.join(REMOTE_KINDS)}",
            field="kind",
        )
    return value


def _check_auth(value: Any) -> dict[str, str] | None:
    """The credential to store, or None for none."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in AUTH_KINDS:
        raise InvalidInput(f"`auth.type` must be one of {', '.join(AUTH_KINDS)}", field="auth.type")
    kind = value["type"]
    needed = {
        "none": (),
        "basic": ("username", "password"),
        "bearer": ("token",),
        "header": ("name", "value"),
    }[kind]
    unknown = sorted(set(value) - {"type", *needed})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=f"auth.{unknown[0]}")
    if kind == "none":
        return None
    auth = {"type": kind}
    for name in needed:
        item = value.get(name)
        if not isinstance(item, str) or not item or len(item) > MAX_SECRET:
            raise InvalidInput(
                f"`auth.{name}` must be a non-empty string of at most {MAX_SECRET} characters",
                field=f"auth.{name}",
            )
        if any(c in item for c in "\r\n\0"):
            raise InvalidInput(f"`auth.{name}` holds a line break", field=f"auth.{name}")
        auth[name] = item
    if kind == "basic" and ":" in auth["username"]:
        raise InvalidInput("`auth.username` cannot hold ':'", field="auth.username")
    if kind == "header" and (
        not HEADER_NAME.match(auth["name"]) or auth["name"].lower() in RESERVED_HEADERS
    ):
        raise InvalidInput(
            f"`auth.name` {auth['name']!r} is not a header PlanFuse may send "
            "(letters, digits and -; not Host, Cookie, Content-Type, …)",
            field="auth.name",
        )
    return auth


def _urls(ctx: PlanFuse, body: dict[str, Any], row: RemoteService | None) -> tuple[str, str | None]:
    allow = bool(ctx.settings.remote_services_allow_private)
    base = body.get("base_url", row.base_url if row else None)
    base_url = network.check_registered_url(base, "base_url", allow)
    openapi = body.get("openapi_url", row.openapi_url if row else None)
    openapi_url = network.check_registered_url(openapi, "openapi_url", allow) if openapi else None
    return base_url, openapi_url


def _changed(ctx: PlanFuse) -> None:
    remote_state(ctx).invalidate()
    framework_state(ctx).invalidate()  # a removal drops the service's grants and stop
    from planfuse.services.remote.health import wake_checker

    wake_checker(ctx)


def register(ctx: PlanFuse, body: Any, *, by: str) -> RemoteEntry:
    """Register a remote service (Conflict when the id is taken)."""
    if not isinstance(body, dict):
        raise InvalidInput(
            'send {"id", "name": {"zh-CN", "en"}, "dept", "kind", "base_url", …}', field="body"
        )
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    service_id = _check_id(ctx, body.get("id"))
    name_zh, name_en = _names(body.get("name"), "name", MAX_NAME, required=True)
    desc_zh, desc_en = _names(
        body.get("description"), "description", MAX_DESCRIPTION, required=False
    )
    dept = _check_dept(ctx, body.get("dept"))
    kind = _check_kind(body.get("kind"))
    if "base_url" not in body:
        raise InvalidInput("`base_url` is required", field="base_url")
    base_url, openapi_url = _urls(ctx, body, None)
    auth = _check_auth(body.get("auth"))
    taken = Conflict(
        f"a remote service {service_id!r} is registered already; change it with PATCH",
        code="service_id_taken",
    )
    if service_id in remote_specs(ctx):
        raise taken
    try:
        entry = _insert(
            ctx,
            service_id,
            by,
            fields=dict(
                name_zh=name_zh,
                name_en=name_en,
                description_zh=desc_zh,
                description_en=desc_en,
                dept=dept,
                kind=kind,
                base_url=base_url,
                openapi_url=openapi_url,
                auth_kind=auth["type"] if auth else "none",
                auth_sealed=seal_auth(ctx, service_id, auth) if auth else None,
            ),
        )
    except IntegrityError:
        raise taken from None
    _changed(ctx)
    return entry


def _insert(ctx: PlanFuse, service_id: str, by: str, fields: dict[str, Any]) -> RemoteEntry:
    # Written without reading first: the insert itself finds an id taken meanwhile.
    with ctx.db.session() as session:
        row = RemoteService(
            id=service_id,
            **fields,
            health_status="unknown",
            health_due_at=utcnow(),
            created_by=by,
        )
        session.add(row)
        session.flush()
        return entry_of(row)


def update(ctx: PlanFuse, service_id: str, body: Any) -> RemoteEntry:
    """Change the fields given (`auth` absent: unchanged; null: none); ids never change."""
    if not isinstance(body, dict):
        raise InvalidInput("send the fields to change as a JSON object", field="body")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    if body.get("id", service_id) != service_id:
        raise InvalidInput("`id` differs from the id in the path; ids never change", field="id")
    with ctx.db.write_session() as session:
        # Write first, then read (on SQLite a read followed by a write fails when another
        # process — a health check — wrote in between).
        session.execute(
            sql_update(RemoteService)
            .where(RemoteService.id == service_id)
            .values(updated_at=utcnow())
        )
        row = _row(session, service_id)
        if "name" in body:
            row.name_zh, row.name_en = _names(body["name"], "name", MAX_NAME, required=True)
        if "description" in body:
            row.description_zh, row.description_en = _names(
                body["description"], "description", MAX_DESCRIPTION, required=False
            )
        if "dept" in body:
            row.dept = _check_dept(ctx, body["dept"])
        if "kind" in body:
            row.kind = _check_kind(body["kind"])
        if "base_url" in body or "openapi_url" in body:
            row.base_url, row.openapi_url = _urls(ctx, body, row)
        if "auth" in body:
            auth = _check_auth(body["auth"])
            row.auth_kind = auth["type"] if auth else "none"
            row.auth_sealed = seal_auth(ctx, service_id, auth) if auth else None
        # Whatever changed, its health is checked again now.
        row.health_status, row.health_due_at = "unknown", utcnow()
        row.health_latency_ms = row.health_http_status = row.health_error = None
        session.flush()
        entry = entry_of(row)
    _changed(ctx)
    return entry


def remove(ctx: PlanFuse, service_id: str) -> None:
    """Remove a registration with its grants, stop and configuration (its past metrics
    stay, as every service's do)."""
    with ctx.db.session() as session:
        removed = session.execute(delete(RemoteService).where(RemoteService.id == service_id))
        if removed.rowcount != 1:
            _row(session, service_id)  # NotFound
        for model in (ServiceGrant, ServiceState, ServiceConfigValue, ServiceConfigChange):
            session.execute(delete(model).where(model.service_id == service_id))
    _changed(ctx)


def _row(session, service_id: str) -> RemoteService:
    row = session.get(RemoteService, service_id)
    if row is None:
        raise NotFound(
            "remote service",
            service_id,
            code="unknown_service",
            hint="GET /api/v1/admin/remote-services lists them",
        )
    return row


def get_entry(ctx: PlanFuse, service_id: str) -> RemoteEntry:
    with ctx.db.session() as session:
        return entry_of(_row(session, service_id))


def list_entries(ctx: PlanFuse) -> list[RemoteEntry]:
    from planfuse.services.remote.records import read_entries

    with ctx.db.session() as session:
        return list(read_entries(session).values())


def describe(entry: RemoteEntry) -> dict[str, Any]:
    """A registration as the admin API shows it (the credential's kind, never its value)."""
    return {**entry.spec.describe(), "remote": entry.describe(admin=True)}
