"""The state one PlanFuse instance holds: settings, database, geometry context, caches.

Built by `create_app` (stored in `app.extensions["planfuse"]`) and by CLI commands that
need no web app. Services receive it explicitly; nothing here knows about Flask.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from planfuse.geo.measure import WorkProjection, work_projection
from planfuse.settings import Settings, load_settings
from planfuse.storage import Database

T = TypeVar("T")


@dataclass
class PlanFuse:
    """One instance's collaborators. Create with `build_context`."""

    settings: Settings
    db: Database
    # The equal-area working CRS in which every area (m²) and distance (m) is computed.
    work: WorkProjection
    # How a failure is shown to clients — the problem body a failed background job records.
    # The composition roots pass planfuse.http.problems.problem_dict (`create_app`, the CLI);
    # the context itself knows nothing of HTTP.
    describe_failure: Callable[[BaseException], dict[str, Any]] | None = None
    # Per-area state registered by blueprints and services (layer index caches, job runner,
    # widget registry, ...), keyed by a short name; see `shared`.
    extras: dict[str, Any] = field(default_factory=dict)
    _extras_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """The state under `key` in `extras`, made by `factory()` on first use — once, even
        when threads ask at the same moment (a job runner or metrics recorder must not exist
        twice)."""
        value = self.extras.get(key)
        if value is None:
            with self._extras_lock:
                value = self.extras.get(key)
                if value is None:
                    value = self.extras[key] = factory()
        return value

    def close(self) -> None:
        for extra in self.extras.values():
            close = getattr(extra, "close", None)
            if callable(close):
                close()
        self.db.dispose()


def build_context(
    settings: Settings | None = None,
    *,
    describe_failure: Callable[[BaseException], dict[str, Any]] | None = None,
) -> PlanFuse:
    """Create the database handle and shared state; connects lazily.

    `describe_failure`: how failures are shown to clients (see `PlanFuse.describe_failure`);
    a context that runs background jobs needs it.
    """
    settings = settings or load_settings()
    db = Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    # The migration that encrypts secrets at rest needs the server key's settings.
    db.migration_attributes["settings"] = settings
    return PlanFuse(
        settings=settings,
        db=db,
        work=work_projection(settings.area_crs),
        describe_failure=describe_failure,
    )
