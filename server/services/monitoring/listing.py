"""The catalogue as departments and host apps read it (`GET /api/v1/catalogue`): every
data, function and application service with its department and a live status, filtered by
kind, department, status and keyword, limited to what the reader may see.

Status (服务状态):

* ``running`` 运行中 — serving, with at most :data:`~planfuse.services.monitoring.status.
  HIGH_SERVER_ERROR_RATE` of its responses 5xx over the last 15 minutes;
* ``degraded`` 异常 — more 5xx than that over the last 15 minutes, or (a department's
  remote service) its last health check found it down or slow;
* ``stopped`` 已停止 — stopped by an administrator.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.monitoring.access import granted_service_ids
from planfuse.services.monitoring.catalogue import SERVICES
from planfuse.services.monitoring.control import Stopped, framework_state
from planfuse.services.monitoring.departments import DepartmentInfo, list_departments
from planfuse.services.monitoring.runtime import find_service, runtime_services
from planfuse.services.monitoring.spec import CATALOGUE_KINDS, KIND_NAMES, ServiceSpec
from planfuse.services.monitoring.status import HIGH_SERVER_ERROR_RATE, WINDOWS
from planfuse.services.remote.records import RemoteEntry, remote_entries
from planfuse.storage.models.metrics import service_metrics_table
from planfuse.widgets.registry import widget_registry

STATUSES: dict[str, tuple[str, str]] = {
    "running": ("运行中", "Running"),
    "degraded": ("异常", "Degraded"),
    "stopped": ("已停止", "Stopped"),
}
STATUS_MINUTES = WINDOWS["15m"]
MAX_QUERY_LENGTH = 100


@dataclass(frozen=True)
class Reader:
    """Who reads the catalogue: an administrator (every service) or a host app (what it
    is granted)."""

    admin: bool
    app_id: str | None = None

    @classmethod
    def administrator(cls) -> Reader:
        return cls(admin=True)

    @classmethod
    def host_app(cls, app_id: str) -> Reader:
        return cls(admin=False, app_id=app_id)


def catalogued_services() -> list[ServiceSpec]:
    """The services declared in code a department can pick (data, function and
    application), in order; those registered at run time follow them in listings."""
    return [s for s in SERVICES if s.kind in CATALOGUE_KINDS]


def visible_services(ctx: PlanFuse, reader: Reader) -> list[ServiceSpec]:
    services = catalogued_services() + list(runtime_services(ctx).values())
    if reader.admin:
        return services
    granted = granted_service_ids(ctx, reader.app_id or "")
    return [s for s in services if s.id in granted]


def recent_figures(ctx: PlanFuse, now: float | None = None) -> dict[str, dict[str, Any]]:
    """Per service: requests, 5xx and their share over the last 15 minutes."""
    now = time.time() if now is None else now
    table = service_metrics_table
    query = (
        select(
            table.c.service,
            func.sum(table.c.requests).label("requests"),
            func.sum(table.c.server_errors).label("server_errors"),
        )
        .where(table.c.minute > int(now // 60) - STATUS_MINUTES)
        .group_by(table.c.service)
    )
    figures: dict[str, dict[str, Any]] = {}
    with ctx.db.engine.connect() as conn:
        for service, requests, errors in conn.execute(query):
            requests, errors = int(requests or 0), int(errors or 0)
            figures[service] = {
                "requests_15m": requests,
                "server_errors_15m": errors,
                "server_error_rate_15m": round(errors / requests, 4) if requests else 0,
            }
    return figures


def service_status(
    figures: dict[str, Any] | None, stopped: bool = False, unhealthy: bool = False
) -> str:
    """`stopped`, `degraded` (over the 5xx threshold in the last 15 minutes, or a remote
    service whose health check failed) or `running`."""
    if stopped:
        return "stopped"
    if unhealthy:
        return "degraded"
    if (
        figures
        and figures["requests_15m"]
        and figures["server_error_rate_15m"] > HIGH_SERVER_ERROR_RATE
    ):
        return "degraded"
    return "running"


def _check_filters(
    kind: str | None, dept: str | None, status: str | None, q: str | None, depts: Iterable[str]
) -> None:
    if kind and kind not in CATALOGUE_KINDS:
        raise InvalidInput(
            f"kind {kind!r} is unknown; expected one of {', '.join(CATALOGUE_KINDS)}",
            field="kind",
        )
    if status and status not in STATUSES:
        raise InvalidInput(
            f"status {status!r} is unknown; expected one of {', '.join(STATUSES)}",
            field="status",
        )
    known = sorted(depts)
    if dept and dept not in known:
        raise InvalidInput(
            f"department {dept!r} is unknown; expected one of {', '.join(known)}", field="dept"
        )
    if q and len(q) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"`q` is longer than {MAX_QUERY_LENGTH} characters", field="q")


def _matches_keyword(entry: dict[str, Any], q: str) -> bool:
    needle = q.casefold()
    texts = [
        entry["id"],
        *entry["name"].values(),
        *entry["description"].values(),
        *entry["dept_name"].values(),
        entry["interface"],
        *(e["path"] for e in entry["endpoints"]),
    ]
    return any(needle in str(text).casefold() for text in texts)


def _entry(
    service: ServiceSpec,
    departments: dict[str, DepartmentInfo],
    figures: dict[str, dict[str, Any]],
    stopped: dict[str, Stopped],
    remote: dict[str, RemoteEntry] | None = None,
    admin: bool = False,
) -> dict[str, Any]:
    dept = departments.get(service.dept)
    own = figures.get(service.id)
    stop = stopped.get(service.id)
    far = (remote or {}).get(service.id)
    status = service_status(own, stop is not None, far is not None and far.degraded)
    return {
        **service.describe(),
        "kind_name": dict(zip(("zh-CN", "en"), KIND_NAMES[service.kind], strict=True)),
        "dept_name": (
            {"zh-CN": dept.name_zh, "en": dept.name_en}
            if dept
            else {"zh-CN": service.dept, "en": service.dept}
        ),
        "status": status,
        "status_name": dict(zip(("zh-CN", "en"), STATUSES[status], strict=True)),
        "stopped": stop.describe() if stop else None,
        "figures": own or {"requests_15m": 0, "server_errors_15m": 0, "server_error_rate_15m": 0},
        "remote": far.describe(admin=admin) if far is not None else None,
    }


def list_catalogue(
    ctx: PlanFuse,
    reader: Reader,
    *,
    kind: str | None = None,
    dept: str | None = None,
    status: str | None = None,
    q: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """``{"services": [...], "total", "departments"}``: the services `reader` may see,
    filtered (every filter optional; `q` matches ids, names, descriptions, departments
    and paths, case-insensitively)."""
    departments = {d.id: d for d in list_departments(ctx)}
    q = (q or "").strip() or None
    _check_filters(kind, dept, status, q, departments)
    figures = recent_figures(ctx, now)
    stopped = _stopped(ctx)
    remote = remote_entries(ctx)
    entries = []
    for service in visible_services(ctx, reader):
        if kind and service.kind != kind:
            continue
        if dept and service.dept != dept:
            continue
        entry = _entry(service, departments, figures, stopped, remote, reader.admin)
        if status and entry["status"] != status:
            continue
        if q and not _matches_keyword(entry, q):
            continue
        entries.append(entry)
    return {
        "services": entries,
        "total": len(entries),
        "departments": [d.describe() for d in departments.values()],
    }


def catalogue_entry(
    ctx: PlanFuse, reader: Reader, service_id: str, now: float | None = None
) -> tuple[ServiceSpec, dict[str, Any]]:
    """One service the reader may see, with its status; NotFound otherwise (the same
    answer for a service that exists but is not granted: nothing to probe)."""
    service = find_service(ctx, service_id)
    if service is None or service not in visible_services(ctx, reader):
        raise NotFound(
            "service",
            service_id,
            code="unknown_service",
            hint="GET /api/v1/catalogue lists the services you may use",
        )
    departments = {d.id: d for d in list_departments(ctx)}
    remote = remote_entries(ctx)
    figures = recent_figures(ctx, now)
    return service, _entry(service, departments, figures, _stopped(ctx), remote, reader.admin)


def _stopped(ctx: PlanFuse) -> dict[str, Stopped]:
    snapshot = framework_state(ctx).snapshot()
    return {
        service_id: state
        for service_id in snapshot.stopped
        if (state := snapshot.stopped_now(service_id)) is not None
    }


#: What the widget manifest and the embed console show of a widget's catalogue entry.
WIDGET_SERVICE_FIELDS = (
    "id",
    "name",
    "description",
    "dept",
    "dept_name",
    "version",
    "status",
    "status_name",
)


def widget_services(ctx: PlanFuse) -> dict[str, dict[str, Any]]:
    """Each catalogued widget's application-service entry, by widget name: its names,
    department and live status, as `/embed/manifest.json` and the embed console show them
    (a widget outside the catalogue has none)."""
    departments = {d.id: d for d in list_departments(ctx)}
    figures = recent_figures(ctx)
    stopped = _stopped(ctx)
    found: dict[str, dict[str, Any]] = {}
    for service in catalogued_services():
        if service.kind != "application" or not service.widget:
            continue
        entry = _entry(service, departments, figures, stopped)
        found[service.widget] = {name: entry[name] for name in WIDGET_SERVICE_FIELDS}
    return found


def with_widget_services(manifest: dict[str, Any], services: dict[str, dict[str, Any]]) -> dict:
    """The widget manifest with each widget's catalogue entry as `service` (None when the
    widget is not catalogued), catalogued widgets first in catalogue order."""
    widgets = manifest.get("widgets", {})
    order = [name for name in services if name in widgets]
    order += [name for name in widgets if name not in services]
    return {
        **manifest,
        "widgets": {name: {**widgets[name], "service": services.get(name)} for name in order},
    }


def widget_manifest(ctx: PlanFuse) -> dict[str, Any]:
    """`/embed/manifest.json`: the registered widgets' manifest read through the catalogue
    (each widget's `service`, catalogued widgets in catalogue order)."""
    return with_widget_services(widget_registry(ctx).manifest(), widget_services(ctx))
