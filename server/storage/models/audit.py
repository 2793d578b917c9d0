"""The audit log (审计日志): who did what to apps, keys, layers, rulesets, conflicts and
services, when and from where. Append-only: the migration adds triggers that refuse
UPDATE and DELETE on both SQLite and PostgreSQL (`planfuse.services.audit` only inserts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_action", "action"),
        Index("ix_audit_events_target", "target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who: kind (admin, app, user, cli, system), an id (admin token or sign-in id, app id,
    # "app_id/user") and a display name.
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(240))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    # What: "<thing>.<verb>", e.g. app.create, key.add, layer.import, conflict.status.
    action: Mapped[str] = mapped_column(String(64))
    # To what: "<kind>:<id>", e.g. app:app_3f…, layer:basic_farmland, conflict:42.
    target: Mapped[str] = mapped_column(String(240))
    # From where: the client address of an HTTP request, "cli", or "system".
    origin: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
