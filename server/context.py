"""The state one PlanFuse instance holds: settings, database, geometry context, caches.

Built by `create_app` (stored in `app.extensions["planfuse"]`) and by CLI commands that
need no web app. Services receive it explicitly; nothing here knows about Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planfuse.settings import Settings, load_settings
from planfuse.storage import Database


@dataclass
class PlanFuse:
    """One instance's collaborators. Create with `build_context`."""

    settings: Settings
    db: Database
    # Per-area state registered by blueprints and services (index caches, job runner,
    # widget registry, ...), keyed by a short name.
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for extra in self.extras.values():
            close = getattr(extra, "close", None)
            if callable(close):
                close()
        self.db.dispose()


def build_context(settings: Settings | None = None) -> PlanFuse:
    """Create the database handle and shared state; connects lazily."""
    settings = settings or load_settings()
    db = Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    return PlanFuse(settings=settings, db=db)
