"""Starting and stopping services (服务启停), and the per-process view of what the
administrators decided: which services are stopped, the grants, the configuration.

Decisions are rows in the database (`service_states`, `service_grants`,
`service_config`), so they hold for every server process and host. Each process keeps a
:class:`Snapshot` of them and re-reads it at most every `service_state_cache_s` seconds
(three small queries); the process that makes a change drops its snapshot at once. A
stopped service answers every request with a `service_stopped` problem (503, with
`Retry-After` when a restart time is set); at that time it runs again by itself.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound, Unavailable
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.runtime import find_service
from planfuse.services.monitoring.spec import ServiceSpec
from planfuse.storage.models import ServiceConfigValue, ServiceGrant, ServiceState
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.service_states")

SHARED_KEY = "service_framework_state"
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Stopped:
    """Why and until when a service is stopped."""

    reason: str
    restart_at: datetime | None
    changed_by: str
    changed_at: datetime

    def describe(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "restart_at": iso_time(self.restart_at),
            "changed_by": self.changed_by,
            "changed_at": iso_time(self.changed_at),
        }


@dataclass(frozen=True)
class Snapshot:
    """What the administrators decided, as one process last read it."""

    stopped: dict[str, Stopped] = field(default_factory=dict)
    grants: dict[tuple[str, str], bool] = field(default_factory=dict)
    config: dict[tuple[str, str], Any] = field(default_factory=dict)

    def stopped_now(self, service_id: str, now: datetime | None = None) -> Stopped | None:
        """The service's stop, unless its restart time has come."""
        state = self.stopped.get(service_id)
        if state is None:
            return None
        if state.restart_at is not None and state.restart_at <= (now or utcnow()):
            return None
        return state


def iso_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite drops the zone; stored as UTC
    return value.isoformat(timespec="seconds")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class FrameworkState:
    """One process's cached :class:`Snapshot` for one database (see :func:`framework_state`)."""

    def __init__(self, ctx: PlanFuse, *, clock=time.monotonic):
        self._ctx = ctx
        self._ttl_s = float(ctx.settings.service_state_cache_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0

    def snapshot(self) -> Snapshot:
        """The decisions, read again when older than `service_state_cache_s`."""
        now = self._clock()
        snapshot = self._snapshot
        if snapshot is not None and now - self._read_at < self._ttl_s:
            return snapshot
        with self._lock:
            if self._snapshot is not None and self._clock() - self._read_at < self._ttl_s:
                return self._snapshot
            try:
                self._snapshot = self._read()
            except SQLAlchemyError as exc:
                # The database is down: the last decisions hold (none, in a process that
                # never read them) and the probes, not every request, report the outage.
                log.error(
                    "service states could not be read (%s); keeping the last ones",
                    type(exc).__name__,
                )
                self._snapshot = self._snapshot or Snapshot()
            self._read_at = self._clock()
            return self._snapshot

    def invalidate(self) -> None:
        """Forget the snapshot (this process changed something)."""
        with self._lock:
            self._snapshot = None

    def _read(self) -> Snapshot:
        with self._ctx.db.session() as session:
            stopped = {
                row.service_id: Stopped(
                    row.reason,
                    _aware(row.restart_at),
                    row.changed_by,
                    _aware(row.changed_at),
                )
                for row in session.scalars(select(ServiceState).where(ServiceState.stopped))
            }
            grants = {
                (row.app_id, row.service_id): bool(row.allowed)
                for row in session.scalars(select(ServiceGrant))
            }
            config = {
                (row.service_id, row.name): row.value
                for row in session.scalars(select(ServiceConfigValue))
            }
        return Snapshot(stopped, grants, config)


def framework_state(ctx: PlanFuse) -> FrameworkState:
    """This process's cached decisions for `ctx`."""
    return ctx.shared(SHARED_KEY, lambda: FrameworkState(ctx))


def catalogued_service(service_id: str, ctx: PlanFuse | None = None) -> ServiceSpec:
    """A declared service (or, given `ctx`, one registered at run time: a published
    chain), or NotFound naming where to look."""
    service = SERVICES_BY_ID.get(service_id)
    if service is None and ctx is not None:
        service = find_service(ctx, service_id)
    if service is None:
        raise NotFound(
            "service",
            service_id,
            code="unknown_service",
            hint="GET /api/v1/catalogue lists the services",
        )
    return service


def stopped_service(ctx: PlanFuse, service_id: str) -> Stopped | None:
    """Why `service_id` is stopped, or None when it runs."""
    return framework_state(ctx).snapshot().stopped_now(service_id)


def require_running(ctx: PlanFuse, service_id: str) -> None:
    """Raise the `service_stopped` problem (503) when `service_id` is stopped."""
    service = find_service(ctx, service_id)
    if service is None or not service.can_stop:
        return  # the platform (probes, admin, catalogue) always runs
    state = stopped_service(ctx, service_id)
    if state is None:
        return
    zh, en = service.name_zh, service.name_en
    retry_after = None
    when = ""
    if state.restart_at is not None:
        retry_after = max(1, math.ceil((state.restart_at - utcnow()).total_seconds()))
        when = f"; it is expected back at {iso_time(state.restart_at)}"
    reason = f" ({state.reason})" if state.reason else ""
    raise Unavailable(
        f"服务「{zh}」已暂停使用，请稍后再试 · The service {en!r} is stopped by an "
        f"administrator{reason}{when}",
        code="service_stopped",
        retry_after_s=retry_after,
        title="Service stopped",
    )


def _check_restart_at(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidInput("`restart_at` must be an ISO 8601 date-time", field="restart_at")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"`restart_at` {value!r} is not an ISO 8601 date-time, e.g. 2026-12-07T18:00:00+08:00",
            field="restart_at",
        ) from None
    if when.tzinfo is None:
        raise InvalidInput("`restart_at` needs a time zone (e.g. +08:00 or Z)", field="restart_at")
    if when <= utcnow():
        raise InvalidInput("`restart_at` is in the past", field="restart_at")
    return when.astimezone(UTC)


def stop_service(ctx: PlanFuse, service_id: str, body: Any, *, by: str) -> dict[str, Any]:
    """Stop a catalogued service: ``{"reason": …, "restart_at": ISO date-time or null}``."""
    service = catalogued_service(service_id, ctx)
    if not service.can_stop:
        raise InvalidInput(
            f"service {service_id!r} is part of the platform ({service.kind}) and cannot be "
            "stopped",
            field="service_id",
            code="service_not_stoppable",
        )
    body = body or {}
    if not isinstance(body, dict):
        raise InvalidInput('send {"reason": "…", "restart_at": null}', field="body")
    unknown = sorted(set(body) - {"reason", "restart_at"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    reason = body.get("reason") or ""
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(
            f"`reason` must be text of at most {MAX_REASON_LENGTH} characters", field="reason"
        )
    restart_at = _check_restart_at(body.get("restart_at"))
    with ctx.db.write_session() as session:
        row = session.get(ServiceState, service_id) or ServiceState(service_id=service_id)
        row.stopped, row.reason, row.restart_at = True, reason.strip(), restart_at
        row.changed_by, row.changed_at = by, utcnow()
        session.add(row)
    framework_state(ctx).invalidate()
    return service_state(ctx, service_id)


def start_service(ctx: PlanFuse, service_id: str, *, by: str) -> dict[str, Any]:
    """Start a stopped service again (a running one stays running)."""
    catalogued_service(service_id, ctx)
    with ctx.db.write_session() as session:
        row = session.get(ServiceState, service_id)
        if row is not None:
            row.stopped, row.restart_at = False, None
            row.changed_by, row.changed_at = by, utcnow()
    framework_state(ctx).invalidate()
    return service_state(ctx, service_id)


def service_state(ctx: PlanFuse, service_id: str) -> dict[str, Any]:
    """``{"service_id", "running", "stopped": {reason, restart_at, …} | null}``."""
    state = stopped_service(ctx, service_id)
    return {
        "service_id": service_id,
        "running": state is None,
        "stopped": state.describe() if state else None,
    }
