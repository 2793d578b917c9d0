"""Live service metrics: requests, errors and latency per service and minute.

Each server process counts its requests in memory (`MetricsRecorder.record`, a few
hundred nanoseconds under a lock) and adds them to the `service_metrics` table at most
every `service_metrics_flush_s` seconds, so the figures of every gunicorn worker and host
add up in the database. The flush runs on a request's way out, never on a thread of its
own; a flush that fails is logged and its counts kept for the next one. Rows older than
`service_metrics_retention_days` are deleted at most once an hour per process.

What is recorded is only the service id, the status class and the latency: never a path,
a query string, a header or a token.
"""

from __future__ import annotations

import logging
import math
import time
from bisect import bisect_left
from collections.abc import Sequence

from sqlalchemy import delete, func

from planfuse.context import PlanFuse
from planfuse.services.monitoring.buffer import BufferedCounts
from planfuse.storage.models.metrics import (
    COUNTER_COLUMNS,
    LATENCY_BOUNDS_MS,
    LATENCY_BUCKET_COLUMNS,
    service_metrics_table,
)

log = logging.getLogger("planfuse.service_metrics")

EXTRA_KEY = "service_metrics"
#: Old rows are deleted at most this often per process.
PRUNE_INTERVAL_S = 3600.0
#: A process keeps at most this many unflushed (minute, service) rows while the database
#: is unreachable; older minutes are dropped first.
MAX_PENDING_ROWS = 20_000
_BUCKETS = len(LATENCY_BUCKET_COLUMNS)
# Positions in a pending row: requests, 4xx, 5xx, the latency buckets, last request time.
_REQUESTS, _CLIENT, _SERVER, _FIRST_BUCKET = 0, 1, 2, 3
_LAST = _FIRST_BUCKET + _BUCKETS


def latency_bucket(duration_ms: float) -> int:
    """The histogram bucket of a latency: the first whose upper bound it does not exceed."""
    return bisect_left(LATENCY_BOUNDS_MS, duration_ms)


def percentile_ms(buckets: Sequence[int], q: float) -> float | None:
    """Estimate the `q`-quantile (0 < q ≤ 1) latency in ms from histogram counts.

    Finds the bucket holding the ⌈q·n⌉-th request and interpolates geometrically between
    its bounds (the buckets are log-spaced); the first bucket is taken to start at half its
    bound, and the open last bucket reports its lower bound. None when there is no request.
    """
    total = sum(buckets)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index >= len(LATENCY_BOUNDS_MS):
                return LATENCY_BOUNDS_MS[-1]
            upper = LATENCY_BOUNDS_MS[index]
            lower = LATENCY_BOUNDS_MS[index - 1] if index else upper / 2
            fraction = (rank - seen) / count
            return lower * (upper / lower) ** fraction
        seen += count
    raise AssertionError("unreachable: the ranks add up to the total")


class MetricsRecorder(BufferedCounts):
    """One process's unflushed counts for one database. Create with `metrics_recorder`."""

    what = "service metrics"

    def __init__(self, ctx: PlanFuse, *, clock=time.time):
        super().__init__(ctx.settings.service_metrics_flush_s, clock, log)
        self._db = ctx.db
        self._retention_min = int(ctx.settings.service_metrics_retention_days * 24 * 60)

    def record(self, service: str, status: int, duration_ms: float) -> bool:
        """Count one finished request. True when a flush is due (call `flush_if_due` once
        the response is on its way)."""
        now = self._clock()
        key = (int(now) // 60, service)
        bucket = _FIRST_BUCKET + latency_bucket(duration_ms)
        with self._lock:
            row = self._pending.get(key)
            if row is None:
                row = self._pending[key] = [0] * _LAST + [0.0]
            row[_REQUESTS] += 1
            if status >= 500:
                row[_SERVER] += 1
            elif status >= 400:
                row[_CLIENT] += 1
            row[bucket] += 1
            row[_LAST] = now
        return now >= self._next_flush

    def pending(self) -> dict[tuple[int, str], list[float]]:
        """A copy of the unflushed rows (for tests and diagnostics)."""
        with self._lock:
            return {key: list(row) for key, row in self._pending.items()}

    def close(self) -> None:
        """Write what is left (the process is stopping)."""
        self.flush()

    def _write(self, rows: dict[tuple[int, str], list[float]], now: float) -> None:
        prune = now >= self._next_prune
        if not rows and not prune:
            return
        table = service_metrics_table
        with self._db.engine.begin() as conn:
            if rows:
                # Sorted keys: two processes upserting the same rows lock them in the same
                # order (no deadlock on PostgreSQL).
                params = [
                    {
                        "minute": minute,
                        "service": service,
                        **dict(zip(COUNTER_COLUMNS, map(int, row[:_LAST]), strict=True)),
                        "last_request_epoch_s": row[_LAST],
                    }
                    for (minute, service), row in sorted(rows.items())
                ]
                conn.execute(_upsert(self._db.dialect), params)
            if prune:
                cutoff = int(now // 60) - self._retention_min
                conn.execute(delete(table).where(table.c.minute < cutoff))
        if prune:
            self._next_prune = now + PRUNE_INTERVAL_S

    def _restore(self, rows: dict[tuple[int, str], list[float]]) -> None:
        with self._lock:
            for key, row in rows.items():
                current = self._pending.get(key)
                if current is None:
                    self._pending[key] = row
                    continue
                for i in range(_LAST):
                    current[i] += row[i]
                current[_LAST] = max(current[_LAST], row[_LAST])
            if len(self._pending) > MAX_PENDING_ROWS:
                for key in sorted(self._pending)[: len(self._pending) - MAX_PENDING_ROWS]:
                    del self._pending[key]


def _upsert(dialect: str):
    """INSERT … ON CONFLICT (minute, service) DO UPDATE adding every counter."""
    table = service_metrics_table
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        latest = func.greatest
    else:
        from sqlalchemy.dialects.sqlite import insert

        latest = func.max  # SQLite's two-argument max() is a scalar function
    stmt = insert(table)
    added = {name: table.c[name] + stmt.excluded[name] for name in COUNTER_COLUMNS}
    added["last_request_epoch_s"] = latest(
        table.c.last_request_epoch_s, stmt.excluded.last_request_epoch_s
    )
    return stmt.on_conflict_do_update(index_elements=["minute", "service"], set_=added)


def metrics_recorder(ctx: PlanFuse) -> MetricsRecorder:
    """This process's recorder for ``ctx`` (created on first use; flushed on close)."""
    return ctx.shared(EXTRA_KEY, lambda: MetricsRecorder(ctx))
