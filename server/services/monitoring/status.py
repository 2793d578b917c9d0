"""The service catalogue with live figures (服务监控): per service its requests, error
rates and latency percentiles over the last 15 minutes, hour and day, a per-minute
request series for the last hour, and the readiness of the services' dependencies.

Read from the `service_metrics` table every server process adds to
(`planfuse.services.monitoring.metrics`), so the figures cover the whole deployment.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from planfuse.context import PlanFuse
from planfuse.services.monitoring.catalogue import SERVICES
from planfuse.services.monitoring.metrics import percentile_ms
from planfuse.services.monitoring.runtime import runtime_services
from planfuse.storage.models import CURRENT_VERSION, Layer, LayerVersion
from planfuse.storage.models.metrics import (
    COUNTER_COLUMNS,
    LATENCY_BUCKET_COLUMNS,
    service_metrics_table,
)

#: The windows reported, by name, in minutes (the current, unfinished minute included).
WINDOWS: dict[str, int] = {"15m": 15, "1h": 60, "24h": 24 * 60}
#: The window a service's status is judged on.
STATUS_WINDOW = "15m"
#: A service whose share of 5xx responses in the status window exceeds this is flagged.
HIGH_SERVER_ERROR_RATE = 0.01
SPARKLINE_MINUTES = 60


class CacheLike(Protocol):
    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...
    def get(self, key: str) -> Any: ...


def _iso_epoch(seconds: float) -> str | None:
    if not seconds:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _window_figures(sums: dict[str, int], minutes: int) -> dict[str, Any]:
    requests = sums.get("requests", 0)
    buckets = [sums.get(name, 0) for name in LATENCY_BUCKET_COLUMNS]
    p50, p95 = percentile_ms(buckets, 0.50), percentile_ms(buckets, 0.95)
    return {
        "minutes": minutes,
        "requests": requests,
        "requests_per_minute": round(requests / minutes, 3),
        "client_errors": sums.get("client_errors", 0),
        "server_errors": sums.get("server_errors", 0),
        "client_error_rate": round(sums.get("client_errors", 0) / requests, 4) if requests else 0,
        "server_error_rate": round(sums.get("server_errors", 0) / requests, 4) if requests else 0,
        "p50_ms": round(p50, 2) if p50 is not None else None,
        "p95_ms": round(p95, 2) if p95 is not None else None,
    }


def service_state(window: dict[str, Any]) -> str:
    """`high_error_rate`, `idle` (no request in the window) or `ok`."""
    if window["requests"] and window["server_error_rate"] > HIGH_SERVER_ERROR_RATE:
        return "high_error_rate"
    return "ok" if window["requests"] else "idle"


def _read_metrics(ctx: PlanFuse, now_minute: int) -> tuple[dict, dict, dict]:
    table = service_metrics_table
    sums: dict[str, dict[str, dict[str, int]]] = {name: {} for name in WINDOWS}
    series: dict[str, dict[int, int]] = {}
    with ctx.db.engine.connect() as conn:
        for name, minutes in WINDOWS.items():
            query = (
                select(table.c.service, *(func.sum(table.c[c]).label(c) for c in COUNTER_COLUMNS))
                .where(table.c.minute > now_minute - minutes)
                .group_by(table.c.service)
            )
            for row in conn.execute(query).mappings():
                sums[name][row["service"]] = {c: int(row[c] or 0) for c in COUNTER_COLUMNS}
        query = select(table.c.service, table.c.minute, table.c.requests).where(
            table.c.minute > now_minute - SPARKLINE_MINUTES
        )
        for service, minute, requests in conn.execute(query):
            series.setdefault(service, {})[minute] = requests
        query = select(table.c.service, func.max(table.c.last_request_epoch_s)).group_by(
            table.c.service
        )
        last = {service: value for service, value in conn.execute(query)}
    return sums, series, last


def dependency_status(ctx: PlanFuse, cache: CacheLike | None) -> list[dict[str, Any]]:
    """Readiness of each dependency (what /readyz reports): the database, the shared cache
    and, with a broker configured, the job queue. `ready` False names what is down in
    `detail`."""
    entries = []
    try:
        ctx.db.ping()
        database = (True, None)
    except SQLAlchemyError as exc:
        database = (False, _reason(exc))
    entries.append(
        {
            "name": "database",
            "label": {"zh-CN": "数据库", "en": "Database"},
            "backend": ctx.db.dialect,
            "ready": database[0],
            "detail": database[1],
        }
    )
    if cache is not None:
        probe = getattr(cache, "probe", None)
        if callable(probe):
            ready, detail = probe()
        else:
            try:
                cache.set("service-status-probe", "1", timeout=60)
                ready, detail = cache.get("service-status-probe") == "1", None
                if not ready:
                    detail = "a value written could not be read back"
            except Exception as exc:  # any backend error means "not ready", never a 500
                ready, detail = False, type(exc).__name__
        entries.append(
            {
                "name": "cache",
                "label": {"zh-CN": "缓存", "en": "Cache"},
                "backend": "redis" if ctx.settings.redis_url else "in-process",
                "ready": ready,
                "detail": detail,
            }
        )
    if ctx.settings.broker_url:
        from planfuse.services.job_queue import broker_reachable

        ready, detail = broker_reachable(ctx)
        entries.append(
            {
                "name": "job_queue",
                "label": {"zh-CN": "作业队列", "en": "Job queue"},
                "backend": ctx.settings.broker_url.partition(":")[0],
                "ready": ready,
                "detail": detail,
            }
        )
    return entries


def _reason(exc: BaseException) -> str:
    """The exception's class and the first line of what the driver said (no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def layer_freshness(ctx: PlanFuse) -> dict[str, Any]:
    """The layer catalogue: layers with a current version, their features, last update."""
    query = select(
        func.count(Layer.id), func.sum(LayerVersion.feature_count), func.max(Layer.updated_at)
    ).join(LayerVersion, CURRENT_VERSION)
    with ctx.db.session() as session:
        count, features, updated = session.execute(query).one()
    if updated is not None and updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)  # SQLite drops the zone; stored as UTC
    return {
        "layers": int(count or 0),
        "features": int(features or 0),
        "last_updated": updated.isoformat(timespec="seconds") if updated else None,
    }


def service_report(
    ctx: PlanFuse, *, cache: CacheLike | None = None, now: float | None = None
) -> dict[str, Any]:
    """The catalogue with every service's figures, the dependencies and the layer data.

    When the database cannot be read, the figures are empty and `metrics_error` says why.
    """
    now = time.time() if now is None else now
    now_minute = int(now // 60)
    dependencies = dependency_status(ctx, cache)
    metrics_error = layers = None
    sums: dict = {name: {} for name in WINDOWS}
    series: dict = {}
    last: dict = {}
    try:
        sums, series, last = _read_metrics(ctx, now_minute)
        layers = layer_freshness(ctx)
    except SQLAlchemyError as exc:
        metrics_error = f"the service metrics could not be read ({type(exc).__name__})"
    services = []
    for service in (*SERVICES, *runtime_services(ctx).values()):
        windows = {
            name: _window_figures(sums[name].get(service.id, {}), minutes)
            for name, minutes in WINDOWS.items()
        }
        per_minute = series.get(service.id, {})
        first = now_minute - SPARKLINE_MINUTES + 1
        sparkline = [per_minute.get(first + i, 0) for i in range(SPARKLINE_MINUTES)]
        services.append(
            {
                **service.describe(),
                "status": service_state(windows[STATUS_WINDOW]),
                "last_request_at": _iso_epoch(last.get(service.id) or 0),
                "windows": windows,
                "requests_per_minute_1h": sparkline,
            }
        )
    return {
        "generated_at": _iso_epoch(now),
        "status_window": STATUS_WINDOW,
        "high_server_error_rate": HIGH_SERVER_ERROR_RATE,
        "metrics_error": metrics_error,
        "services": services,
        "dependencies": dependencies,
        "layers": layers,
    }
