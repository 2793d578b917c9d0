"""Compliance review (项目合规审查): rulesets (versioned), registered projects and the
stored, signed reports of every check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class ComplianceRuleset(Base):
    """One version of a ruleset. Editing a ruleset adds a version; versions never change,
    so a report naming (id, version) can always be re-read and re-run."""

    __tablename__ = "compliance_rulesets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplianceProject(Base):
    """A project red line registered by a host backend; its id can be locked in an embed
    token so the widget checks exactly this project."""

    __tablename__ = "compliance_projects"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    # The host's own reference (e.g. its application number), for its lookups.
    external_id: Mapped[str | None] = mapped_column(String(200))
    # EPSG:4490 WKB; the geometry as submitted is kept in `source_geojson` with its CRS.
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    source_crs: Mapped[str] = mapped_column(String(64))
    source_geojson: Mapped[dict[str, Any]] = mapped_column(JSONType)
    area_m2: Mapped[float] = mapped_column(Float)
    land_use: Mapped[str] = mapped_column(String(8))
    project_type: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ComplianceReport(Base):
    """One check: who, when, the input, the ruleset and data versions, the result and its
    signature. `result` is the report document exactly as served (orjson bytes)."""

    __tablename__ = "compliance_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str | None] = mapped_column(String(40))
    user: Mapped[str | None] = mapped_column(String(200))
    via: Mapped[str | None] = mapped_column(String(16))
    project_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    source_crs: Mapped[str] = mapped_column(String(64))
    land_use: Mapped[str] = mapped_column(String(8))
    project_type: Mapped[str] = mapped_column(String(16))
    ruleset_id: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[int] = mapped_column(Integer)
    data_versions: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    verdict: Mapped[str] = mapped_column(String(20))
    project_area_m2: Mapped[float] = mapped_column(Float)
    result: Mapped[bytes] = mapped_column(LargeBinary)
    jws: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_compliance_reports_app_created", "app_id", "created_at"),
        Index("ix_compliance_reports_app_project", "app_id", "project_id"),
    )
