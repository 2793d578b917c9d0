"""Who changes a conflict: the host app and its user. Conflicts are shared by every app, so
every change (a detection, a status, a note) records its actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the host app and its user (from the caller)."""

    app_id: str
    user: str | None = None
    name: str | None = None
    dept: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"app": self.app_id, "user": self.user, "name": self.name, "dept": self.dept}
