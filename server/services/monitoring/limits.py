"""Per-app rate limits and daily quotas per service (限流与配额), and usage per app,
service and day (调用量).

An administrator may give one host app, for one service, a rate limit (`rate_per_minute`:
calls in a clock minute) and a quota (`quota_per_day`: calls in a day of
`service_usage_timezone`, reset at its midnight); without one, the app is unlimited there
(the instance-wide limits of planfuse.web.ratelimit still apply). They are checked where
the grant is (`planfuse.http.caller.require_caller`), and counted across every server
process: in Redis when `redis_url` is set (INCR on a key per window, expiring with it),
else in the database (`service_call_counts`, one upserted row per window). A call over a
limit is not counted and answers 429 `rate_limited` or `quota_exceeded`, naming the
service, the limit and when it resets, with `Retry-After`.

Usage — every call an app's credentials made to a service and how many were answered
with an error (status ≥ 400) — is counted in each process's memory and added to
`service_usage` (one row per day, service and app) at most every
`service_metrics_flush_s` seconds, as the service metrics are.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, RateLimited
from planfuse.services.monitoring.buffer import BufferedCounts
from planfuse.services.monitoring.runtime import find_service
from planfuse.storage.models import ServiceAppLimit, ServiceCallCount, ServiceUsage
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.service_limits")

LIMIT_FIELDS = ("rate_per_minute", "quota_per_day")
MAX_LIMIT = 100_000_000
MAX_USAGE_DAYS = 90
#: Old counter rows are deleted at most this often per process.
PRUNE_INTERVAL_S = 3600.0
REDIS_PREFIX = "planfuse-service-limits"


@dataclass(frozen=True)
class AppLimit:
    rate_per_minute: int | None = None
    quota_per_day: int | None = None


# --- the administrators' limits, cached per process -------------------------------------


class LimitTable:
    """One process's copy of `service_app_limits`, re-read at most every
    `service_state_cache_s` seconds (the process that changes it: at once)."""

    def __init__(self, ctx: PlanFuse, *, clock=time.monotonic):
        self._ctx = ctx
        self._ttl_s = float(ctx.settings.service_state_cache_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[tuple[str, str], AppLimit] | None = None
        self._read_at = 0.0

    def limits(self) -> dict[tuple[str, str], AppLimit]:
        """(app id, service id) → its limits."""
        limits = self._limits
        if limits is not None and self._clock() - self._read_at < self._ttl_s:
            return limits
        with self._lock:
            if self._limits is None or self._clock() - self._read_at >= self._ttl_s:
                with self._ctx.db.session() as session:
                    self._limits = {
                        (row.app_id, row.service_id): AppLimit(
                            row.rate_per_minute, row.quota_per_day
                        )
                        for row in session.scalars(select(ServiceAppLimit))
                    }
                self._read_at = self._clock()
            return self._limits

    def invalidate(self) -> None:
        with self._lock:
            self._limits = None


def limit_table(ctx: PlanFuse) -> LimitTable:
    return ctx.shared("service_app_limits", lambda: LimitTable(ctx))


def app_limit(ctx: PlanFuse, app_id: str, service_id: str) -> AppLimit:
    return limit_table(ctx).limits().get((app_id, service_id), AppLimit())


def parse_limits(body: dict[str, Any]) -> dict[str, int | None]:
    """The limit fields present in a grant's body: a whole number ≥ 1, or null (none)."""
    found: dict[str, int | None] = {}
    for name in LIMIT_FIELDS:
        if name not in body:
            continue
        value = body[name]
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT
        ):
            raise InvalidInput(
                f"`{name}` must be a whole number from 1 to {MAX_LIMIT}, or null for no limit",
                field=name,
            )
        found[name] = value
    return found


def set_limits(
    ctx: PlanFuse, service_id: str, app_id: str, values: dict[str, int | None], *, by: str
) -> None:
    """Store the limit fields given (the others stay as they are); a row with neither limit
    is removed."""
    if not values:
        return
    with ctx.db.write_session() as session:
        row = session.get(ServiceAppLimit, (app_id, service_id)) or ServiceAppLimit(
            app_id=app_id, service_id=service_id
        )
        for name, value in values.items():
            setattr(row, name, value)
        row.changed_by, row.changed_at = by, utcnow()
        if row.rate_per_minute is None and row.quota_per_day is None:
            if row in session:
                session.delete(row)
        else:
            session.add(row)
    limit_table(ctx).invalidate()


# --- days and windows -------------------------------------------------------------------


def usage_zone(ctx: PlanFuse) -> ZoneInfo:
    return ZoneInfo(str(ctx.settings.service_usage_timezone))


def local_day(ctx: PlanFuse, epoch_s: float) -> datetime:
    """Midnight (in `service_usage_timezone`) of the day `epoch_s` falls in."""
    local = datetime.fromtimestamp(epoch_s, usage_zone(ctx))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Window:
    field: str  # rate_per_minute or quota_per_day
    key: str
    limit: int
    resets_at: datetime
    ttl_s: int


def _windows(ctx: PlanFuse, limit: AppLimit, now: float) -> list[Window]:
    windows = []
    if limit.rate_per_minute is not None:
        minute = int(now // 60)
        resets = datetime.fromtimestamp((minute + 1) * 60, UTC)
        windows.append(Window("rate_per_minute", f"m{minute}", limit.rate_per_minute, resets, 120))
    if limit.quota_per_day is not None:
        midnight = local_day(ctx, now)
        # The next midnight, whatever the length of the day (daylight saving time).
        resets = (midnight + timedelta(hours=36)).replace(hour=0).astimezone(UTC)
        windows.append(
            Window(
                "quota_per_day",
                f"d{midnight:%Y%m%d}",
                limit.quota_per_day,
                resets,
                int((resets.timestamp() - now) + 3600),
            )
        )
    return windows


# --- counting across processes ----------------------------------------------------------


class DatabaseCounter:
    """Window counts in `service_call_counts`: one upsert per window, answering the count."""

    def __init__(self, ctx: PlanFuse):
        self._ctx = ctx
        self._next_prune = 0.0

    def add(self, service_id: str, app_id: str, windows: list[Window], step: int) -> list[int]:
        db = self._ctx.db
        if db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = ServiceCallCount.__table__
        now = time.time()
        counts = []
        with db.engine.begin() as conn:
            for window in sorted(windows, key=lambda w: w.key):
                stmt = insert(table).values(
                    service_id=service_id,
                    app_id=app_id,
                    window=window.key,
                    count=step,
                    expires_epoch_s=int(now + window.ttl_s),
                )
                stmt = stmt.on_conflict_do_update(
                    index_elements=["service_id", "app_id", "window"],
                    set_={"count": table.c.count + step},
                ).returning(table.c.count)
                counts.append((window.key, int(conn.execute(stmt).scalar_one())))
            if now >= self._next_prune:
                conn.execute(delete(table).where(table.c.expires_epoch_s < int(now)))
                self._next_prune = now + PRUNE_INTERVAL_S
        found = dict(counts)
        return [found[w.key] for w in windows]


class RedisCounter:
    """Window counts in Redis (INCRBY and EXPIRE in one transaction per window set)."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def add(self, service_id: str, app_id: str, windows: list[Window], step: int) -> list[int]:
        pipe = self.client.pipeline(transaction=True)
        for window in windows:
            key = f"{REDIS_PREFIX}:{service_id}:{app_id}:{window.key}"
            pipe.incrby(key, step)
            pipe.expire(key, window.ttl_s)
        answers = pipe.execute()
        return [int(answers[i * 2]) for i in range(len(windows))]


class Counters:
    """Redis when configured (falling back to the database while it cannot be reached),
    else the database."""

    def __init__(self, ctx: PlanFuse):
        self.database = DatabaseCounter(ctx)
        self.redis = RedisCounter(ctx.settings.redis_url) if ctx.settings.redis_url else None

    def add(self, service_id: str, app_id: str, windows: list[Window], step: int) -> list[int]:
        if self.redis is not None:
            try:
                return self.redis.add(service_id, app_id, windows, step)
            except Exception as exc:  # redis errors have no common base worth importing
                log.error(
                    "service limits: Redis could not be reached (%s); counting in the database",
                    type(exc).__name__,
                )
        return self.database.add(service_id, app_id, windows, step)


def counters(ctx: PlanFuse) -> Counters:
    return ctx.shared("service_limit_counters", lambda: Counters(ctx))


def enforce_limits(ctx: PlanFuse, app_id: str, service_id: str, now: float | None = None) -> None:
    """Count one call of `app_id` to `service_id` against its limits; RateLimited (429
    `rate_limited` or `quota_exceeded`) when it would exceed one — such a call is not
    counted."""
    limit = app_limit(ctx, app_id, service_id)
    if limit.rate_per_minute is None and limit.quota_per_day is None:
        return
    now = time.time() if now is None else now
    windows = _windows(ctx, limit, now)
    tally = counters(ctx)
    counts = tally.add(service_id, app_id, windows, 1)
    over = next((w for w, count in zip(windows, counts, strict=True) if count > w.limit), None)
    if over is None:
        return
    tally.add(service_id, app_id, windows, -1)
    raise _refusal(ctx, app_id, service_id, over, now)


def _refusal(ctx: PlanFuse, app_id: str, service_id: str, window: Window, now: float):
    service = find_service(ctx, service_id)
    zh, en = (service.name_zh, service.name_en) if service else (service_id, service_id)
    retry_after = max(1, math.ceil(window.resets_at.timestamp() - now))
    if window.field == "rate_per_minute":
        resets = window.resets_at.isoformat(timespec="seconds")
        message = (
            f"服务「{zh}」限流：每分钟最多调用 {window.limit} 次 · host app {app_id!r} may call "
            f"the service {en!r} at most {window.limit} times a minute; the limit resets at "
            f"{resets}"
        )
        code, title = "rate_limited", "Too many requests"
    else:
        resets = window.resets_at.astimezone(usage_zone(ctx)).isoformat(timespec="seconds")
        message = (
            f"服务「{zh}」今日配额已用完：每天最多调用 {window.limit} 次 · host app {app_id!r} "
            f"has used its quota of {window.limit} calls a day of the service {en!r}; it "
            f"resets at {resets}"
        )
        code, title = "quota_exceeded", "Quota exceeded"
    error = RateLimited(message, retry_after_s=retry_after, code=code, title=title)
    error.errors = [
        {
            "field": window.field,
            "service": service_id,
            "limit": window.limit,
            "reset_at": resets,
            "message": message,
        }
    ]
    return error


# --- usage per app, service and day ------------------------------------------------------


class UsageRecorder(BufferedCounts):
    """One process's unflushed calls and errors per (day, service, app)."""

    what = "service usage"

    def __init__(self, ctx: PlanFuse, *, clock=time.time):
        super().__init__(ctx.settings.service_metrics_flush_s, clock, log)
        self._ctx = ctx
        self._retention_days = float(ctx.settings.service_usage_retention_days)
        self._zone = usage_zone(ctx)

    def record(self, service_id: str, app_id: str, status: int) -> bool:
        """Count one call; True when a flush is due."""
        now = self._clock()
        day = datetime.fromtimestamp(now, self._zone).strftime("%Y-%m-%d")
        with self._lock:
            row = self._pending.setdefault((day, service_id, app_id), [0, 0])
            row[0] += 1
            if status >= 400:
                row[1] += 1
        return now >= self._next_flush

    def _restore(self, rows: dict[tuple[str, str, str], list[int]]) -> None:
        with self._lock:
            for key, (calls, errors) in rows.items():
                row = self._pending.setdefault(key, [0, 0])
                row[0] += calls
                row[1] += errors

    def _write(self, rows: dict[tuple[str, str, str], list[int]], now: float) -> None:
        prune = now >= self._next_prune
        if not rows and not prune:
            return
        db = self._ctx.db
        if db.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        table = ServiceUsage.__table__
        with db.engine.begin() as conn:
            if rows:
                stmt = insert(table)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["day", "service_id", "app_id"],
                    set_={
                        "calls": table.c.calls + stmt.excluded.calls,
                        "errors": table.c.errors + stmt.excluded.errors,
                    },
                )
                conn.execute(
                    stmt,
                    [
                        {"day": d, "service_id": s, "app_id": a, "calls": c, "errors": e}
                        for (d, s, a), (c, e) in sorted(rows.items())
                    ],
                )
            if prune:
                cutoff = datetime.fromtimestamp(now - self._retention_days * 86400, self._zone)
                conn.execute(delete(table).where(table.c.day < cutoff.strftime("%Y-%m-%d")))
        if prune:
            self._next_prune = now + PRUNE_INTERVAL_S


def usage_recorder(ctx: PlanFuse) -> UsageRecorder:
    return ctx.shared("service_usage", lambda: UsageRecorder(ctx))


def service_usage(
    ctx: PlanFuse, service_id: str, days: int, apps: dict[str, str], now: float | None = None
) -> dict[str, Any]:
    """Calls and errors per app and day over the last `days` days (today included, oldest
    first) of `service_usage_timezone`; `apps` names the host apps (id → name)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_USAGE_DAYS:
        raise InvalidInput(
            f"`days` must be a whole number from 1 to {MAX_USAGE_DAYS}", field="days"
        )
    usage_recorder(ctx).flush()
    now = time.time() if now is None else now
    today = local_day(ctx, now)
    names = [(today - timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days - 1, -1, -1)]
    table = ServiceUsage.__table__
    query = select(table.c.app_id, table.c.day, table.c.calls, table.c.errors).where(
        table.c.service_id == service_id, table.c.day >= names[0]
    )
    per_app: dict[str, dict[str, tuple[int, int]]] = {}
    with ctx.db.engine.connect() as conn:
        for app_id, day, calls, errors in conn.execute(query):
            per_app.setdefault(app_id, {})[day] = (int(calls), int(errors))
    limits = limit_table(ctx).limits()
    entries = []
    for app_id in sorted(set(per_app) | {a for a, s in limits if s == service_id}):
        own = per_app.get(app_id, {})
        limit = limits.get((app_id, service_id), AppLimit())
        series = [
            {"day": day, "calls": own.get(day, (0, 0))[0], "errors": own.get(day, (0, 0))[1]}
            for day in names
        ]
        entries.append(
            {
                "app_id": app_id,
                "app_name": apps.get(app_id, app_id),
                "calls": sum(d["calls"] for d in series),
                "errors": sum(d["errors"] for d in series),
                "rate_per_minute": limit.rate_per_minute,
                "quota_per_day": limit.quota_per_day,
                "days": series,
            }
        )
    return {
        "service_id": service_id,
        "timezone": str(ctx.settings.service_usage_timezone),
        "days": names,
        "calls": sum(e["calls"] for e in entries),
        "errors": sum(e["errors"] for e in entries),
        "apps": entries,
    }
