"""Limits on concurrent heavy requests (compliance checks, red-line parsing, siting).

A heavy request holds a server thread for the length of its geometry work. Each server
process lets at most `heavy_requests_max` run at once, so some of its threads always stay
free for light requests and the health probes; within that, one host app runs at most
`heavy_requests_per_app` and one user at most `heavy_requests_per_user`, so one client
cannot take every slot. A request over a limit is refused at once — never queued behind
the work it would wait for: `RateLimited` (429) for an app's or user's own limit,
`Unavailable` (503) when the process is full; both say when to retry.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from planfuse.context import PlanFuse
from planfuse.errors import RateLimited, Unavailable

#: Seconds a refused client is told to wait: about one heavy request's length.
RETRY_AFTER_S = 2


class HeavyRequestLimits:
    """Counts of the heavy requests running in this process: all, per app, per user."""

    def __init__(self, total: int, per_app: int, per_user: int) -> None:
        self.total = max(1, int(total))
        self.per_app = max(1, int(per_app))
        self.per_user = max(1, int(per_user))
        self._lock = threading.Lock()
        self._running = 0
        self._apps: Counter[str] = Counter()
        self._users: Counter[tuple[str, str]] = Counter()

    @property
    def running(self) -> int:
        return self._running

    def acquire(self, app_id: str, user: str | None) -> None:
        """Take a slot for (app, user) or raise RateLimited / Unavailable."""
        with self._lock:
            if user is not None and self._users[(app_id, user)] >= self.per_user:
                raise RateLimited(
                    f"user {user!r} already has {self.per_user} heavy request(s) running "
                    "(checks, red-line parsing, siting); wait for them to finish",
                    retry_after_s=RETRY_AFTER_S,
                    code="too_many_heavy_requests",
                )
            if self._apps[app_id] >= self.per_app:
                raise RateLimited(
                    f"app {app_id!r} already has {self.per_app} heavy requests running "
                    "(setting heavy_requests_per_app); retry when one has finished",
                    retry_after_s=RETRY_AFTER_S,
                    code="too_many_heavy_requests",
                )
            if self._running >= self.total:
                raise Unavailable(
                    f"the server is running its maximum of {self.total} heavy requests; "
                    "retry in a few seconds",
                    retry_after_s=RETRY_AFTER_S,
                    code="server_busy",
                )
            self._running += 1
            self._apps[app_id] += 1
            if user is not None:
                self._users[(app_id, user)] += 1

    def release(self, app_id: str, user: str | None) -> None:
        with self._lock:
            self._running -= 1
            self._apps[app_id] -= 1
            if self._apps[app_id] <= 0:
                del self._apps[app_id]
            if user is not None:
                self._users[(app_id, user)] -= 1
                if self._users[(app_id, user)] <= 0:
                    del self._users[(app_id, user)]


def heavy_request_limits(ctx: PlanFuse) -> HeavyRequestLimits:
    """This server process's limits (created on first use)."""
    settings = ctx.settings
    return ctx.shared(
        "heavy_request_limits",
        lambda: HeavyRequestLimits(
            settings.heavy_requests_max,
            settings.heavy_requests_per_app,
            settings.heavy_requests_per_user,
        ),
    )


@contextmanager
def heavy_request(ctx: PlanFuse, app_id: str, user: str | None) -> Iterator[None]:
    """Run the block as one heavy request of (app, user), within the limits."""
    limits = heavy_request_limits(ctx)
    limits.acquire(app_id, user)
    try:
        yield
    finally:
        limits.release(app_id, user)
