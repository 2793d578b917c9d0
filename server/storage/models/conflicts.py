"""Conflict patches (差异图斑) between plans and their coordination history.

A patch is found by a detection job and kept across re-detections while it still exists
(matched by geometry, see `planfuse.services.conflicts.matching`); a patch that vanished
is marked obsolete, never deleted. Its history is append-only: the migration installs
database triggers that refuse UPDATE and DELETE on `conflict_history`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class Conflict(Base):
    __tablename__ = "conflicts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    # two_plans | three_lines | plan_vs_controls
    analysis: Mapped[str] = mapped_column(String(32))
    # "01".."04" for two_plans; a slug for the other analyses.
    type: Mapped[str] = mapped_column(String(48))
    area_m2: Mapped[float] = mapped_column(Float)
    # 2·area/perimeter in metres: a sliver's width.
    thickness_m: Mapped[float] = mapped_column(Float)
    sliver: Mapped[bool] = mapped_column(Boolean, default=False)
    # area | thinness | area+thinness (why a sliver is one)
    sliver_reason: Mapped[str | None] = mapped_column(String(16))
    district: Mapped[str | None] = mapped_column(String(12))
    district_name: Mapped[str | None] = mapped_column(String(100))
    # pending | coordinating | adjusted | kept
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # adjusted: which plan (layer kind) is changed; kept: why the difference stays.
    plan_changed: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    # False once a re-detection no longer finds the patch (kept for its history).
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    # The two source features: [{layer, version, fid, kind, code, ...}, ...].
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # {layer id: version} of every layer the detection read.
    layers: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    # EPSG:4490 WKB, with its bounding box for map queries.
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    first_job: Mapped[str | None] = mapped_column(String(32))
    last_job: Mapped[str | None] = mapped_column(String(32))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_conflicts_list", "analysis", "current", "sliver", "area_m2"),
        Index("ix_conflicts_district", "district", "analysis"),
    )


class ConflictEvent(Base):
    """One entry of a patch's history: detection, geometry update, status change, note,
    disappearance. Written once, never changed."""

    __tablename__ = "conflict_history"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    conflict_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("conflicts.id"), index=True
    )
    # detected | updated | status | note | obsolete | reappeared
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    district_opinion: Mapped[str | None] = mapped_column(Text)
    municipal_opinion: Mapped[str | None] = mapped_column(Text)
    # ISO date (YYYY-MM-DD) from which the decision takes effect.
    effective_date: Mapped[str | None] = mapped_column(String(10))
    plan_changed: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    # What changed in a detection event (area before/after, sources, job).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    app_id: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[str | None] = mapped_column(String(200))
    user_name: Mapped[str | None] = mapped_column(String(200))
    dept: Mapped[str | None] = mapped_column(String(200))
    job_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
