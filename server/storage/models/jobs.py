"""Background jobs: long work (conflict detection, …) run in a server process while any
process answers for its state.

The row is the whole truth: state, progress, stage, the cancel flag the worker checks
between chunks, and the heartbeat by which a job whose process died is recognised (see
`planfuse.services.jobs`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String
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
    # A partitioned job: how many partitions it has and how many have stored their result
    # (the one that completes the count starts the merge).
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_done: Mapped[int] = mapped_column(Integer, default=0)
    # Where it runs: "process" (a thread of the server process that accepted it) or
    # "queue" (tasks on `planfuse worker` processes through the broker).
    backend: Mapped[str] = mapped_column(String(16), default="process")

    __table_args__ = (Index("ix_jobs_kind_created", "kind", "created_at"),)


class JobPart(Base):
    """One partition of a partitioned job (a detection split into spatial partitions that
    run as separate tasks on every worker at once).

    Idempotent by construction: (job, part) is the key, the result is written once with
    a compare-and-set on `state`, so a partition that runs twice (its first worker was
    killed before acknowledging it, and the queue gave it to another) stores one result.
    """

    __tablename__ = "job_parts"

    job_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    # queued | running | done
    state: Mapped[str] = mapped_column(String(16), default="queued")
    # host:pid of the process that last ran it; how many times it was started.
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The partition's answer (see planfuse.services.conflicts.partitions), once done.
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    seconds: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
