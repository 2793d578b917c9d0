"""Publishing a monitoring year's warnings (预警推送) to the host apps that subscribe.

`publish_year` measures every indicator for the year and pushes a `monitoring.warning`
webhook event for each district or city value that is `warning`, `exceeded` or
`below_target`, and one `monitoring.change` event per district with the year's change
pieces that land on basic farmland, an ecological red line or outside the urban
boundary (ids, types and areas; the geometry is at `GET /api/v1/monitoring/changes`).
"""

from __future__ import annotations

from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.services.plan_monitoring.status import ALERT_STATUSES
from planfuse.services.plan_monitoring.values import indicator_values
from planfuse.services.plan_monitoring.years import require_year, status_years
from planfuse.services.webhooks.delivery import emit


def year_warnings(ctx: PlanFuse, year: int) -> list[dict[str, Any]]:
    """Every indicator value of `year` (districts and city) in an alert status."""
    require_year(ctx, year)
    out = []
    for indicator in list_indicators(ctx):
        for by in ("city", "district"):
            body = indicator_values(ctx, indicator["id"], year, by=by)
            for row in body["values"]:
                if row["status"] in ALERT_STATUSES:
                    out.append({"indicator": body["indicator"], "year": year, **row})
    return out


def publish_year(ctx: PlanFuse, year: int, *, wake: bool = True) -> dict[str, Any]:
    """Queue the year's warnings and warning changes for the subscribers; what was queued
    (counts, deliveries). `wake`: send them from this process now (a command leaves them to
    the server's dispatchers)."""
    warnings = year_warnings(ctx, year)
    deliveries = 0
    for warning in warnings:
        deliveries += len(emit(ctx, "monitoring.warning", warning, wake=wake))
    changes: dict[str, list[dict[str, Any]]] = {}
    if [y for y in status_years(ctx) if y < year]:
        found = list_changes(ctx, year, warnings_only=True, limit=5000, geometry=False)
        for change in found["changes"]:
            changes.setdefault(change["district"] or "", []).append(change)
    for district, pieces in sorted(changes.items()):
        deliveries += len(
            emit(
                ctx,
                "monitoring.change",
                {
                    "year": year,
                    "district": district or None,
                    "changes": pieces,
                    "area_m2": round(sum(p["area_m2"] for p in pieces), 2),
                },
                wake=wake,
            )
        )
    return {
        "year": year,
        "warnings": len(warnings),
        "change_districts": len(changes),
        "changes": sum(len(p) for p in changes.values()),
        "deliveries": deliveries,
    }


def check_publish_year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("year is a monitoring year such as 2025", field="year")
    return value
