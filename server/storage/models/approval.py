"""Coordinated approval (协同审批): a case the approval portal opens for a project, the
departments asked for their opinion, and the case's history.

The evidence every department judges (the signed compliance report, the conflicts touching
the red line) is frozen in the case row when it opens. The history — every opinion and
every revision of it, the opening, the closing — is append-only: the migration installs
database triggers that refuse UPDATE and DELETE on `approval_events`, as on
`conflict_history`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class ApprovalCase(Base):
    """One 协同审批件: opened by a host app (the portal) for one of its projects."""

    __tablename__ = "approval_cases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The opening host app (the approval portal): it sees, closes and withdraws the case.
    app_id: Mapped[str] = mapped_column(String(40))
    # registered (a compliance project of the app) | reserve (a reserve project)
    project_kind: Mapped[str] = mapped_column(String(16), default="registered")
    project_id: Mapped[str] = mapped_column(String(40))
    project_name: Mapped[str] = mapped_column(String(300), default="")
    # open | closed_approved | closed_rejected | withdrawn
    state: Mapped[str] = mapped_column(String(20), default="open")
    # The case's deadline (YYYY-MM-DD, in the approval time zone).
    due: Mapped[str] = mapped_column(String(10))
    # The outcome rule in force for this case (data, copied at opening).
    outcome_rule: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The frozen evidence document (JSON bytes) and its SHA-256.
    evidence: Mapped[bytes] = mapped_column(LargeBinary)
    evidence_sha256: Mapped[str] = mapped_column(String(64))
    compliance_report_id: Mapped[str | None] = mapped_column(String(40))
    verdict: Mapped[str | None] = mapped_column(String(20))
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)
    area_m2: Mapped[float] = mapped_column(Float)
    # EPSG:4490 bounding box of the red line, for the map.
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    opened_by: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the outcome rule gave, and whether the portal overrode it (with its reason).
    rule_outcome: Mapped[str | None] = mapped_column(String(20))
    close_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_approval_cases_app_opened", "app_id", "opened_at"),
        Index("ix_approval_cases_project", "app_id", "project_id"),
    )


class ApprovalDepartment(Base):
    """A department asked on a case: the name its users' tokens carry as `dept`, the host
    app it works from, its deadline and its current opinion (the latest revision)."""

    __tablename__ = "approval_departments"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(String(40), ForeignKey("approval_cases.id"))
    position: Mapped[int] = mapped_column(Integer)
    dept: Mapped[str] = mapped_column(String(100))
    app_id: Mapped[str] = mapped_column(String(40), index=True)
    # 办理时限: working days from opening, and the date they end on (YYYY-MM-DD).
    days: Mapped[int | None] = mapped_column(Integer)
    due: Mapped[str] = mapped_column(String(10))
    # agree | agree_with_conditions | disagree; None while pending.
    opinion: Mapped[str | None] = mapped_column(String(24))
    revisions: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    reasons: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    user: Mapped[str | None] = mapped_column(String(200))
    user_name: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("case_id", "dept", name="uq_approval_departments_case_dept"),
        Index("ix_approval_departments_case", "case_id", "position"),
    )


class ApprovalEvent(Base):
    """One entry of a case's history: opened, opinion (each revision), closed, withdrawn,
    overdue. Written once, never changed."""

    __tablename__ = "approval_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(String(40), ForeignKey("approval_cases.id"))
    # opened | opinion | closed | withdrawn | overdue
    action: Mapped[str] = mapped_column(String(16))
    dept: Mapped[str | None] = mapped_column(String(100))
    # For an opinion: its revision number within the department (1, 2, …).
    revision: Mapped[int | None] = mapped_column(Integer)
    opinion: Mapped[str | None] = mapped_column(String(24))
    conditions: Mapped[list[str] | None] = mapped_column(JSONType)
    reasons: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    # For closed / withdrawn: the state reached and the reason given.
    state: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    app_id: Mapped[str] = mapped_column(String(40))
    user: Mapped[str | None] = mapped_column(String(200))
    user_name: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # One revision number per department: two racing submissions cannot both be n.
        UniqueConstraint("case_id", "dept", "revision", name="uq_approval_events_revision"),
        Index("ix_approval_events_case", "case_id", "id"),
    )


class ApprovalAttachment(Base):
    """A file a department attaches to its opinion (PDF, image, zipped shapefile), checked
    for what it says it is and capped in size when uploaded. Never changed afterwards."""

    __tablename__ = "approval_attachments"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(40), ForeignKey("approval_cases.id"))
    dept: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    # pdf | png | jpeg | shapefile_zip
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    app_id: Mapped[str] = mapped_column(String(40))
    user: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_approval_attachments_case", "case_id", "dept"),)
