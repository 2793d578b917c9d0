"""Background jobs: long work (conflict detection, …) run in a server process while any
process answers for its state.

The row is the whole truth: state, progress, stage, the cancel flag the worker checks
between chunks, and the heartbeat by which a job whose process died is recognised (see
`planfuse.services.jobs`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # What the job does, e.g. "conflicts.detect"; the runner looks up its function by it.
    kind: Mapped[str] = mapped_column(String(64))
    # queued | running | done | failed | cancelled
    state: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The problem document (RFC 9457) of a failed job.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Set while the job is queued or running, NULL afterwards. Unique, so two processes
    # cannot both start e.g. a two-plan detection (NULLs never collide).
    active_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Visible to every app (conflict detection), not only to the one that started it.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_app: Mapped[str] = mapped_column(String(64), default="")
    created_by_user: Mapped[str | None] = mapped_column(String(200))
    # host:pid of the process running it.
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_jobs_kind_created", "kind", "created_at"),)
