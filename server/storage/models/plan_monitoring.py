"""Plan-implementation monitoring (规划实施监测): the binding indicators, versioned, and the
signed annual evaluation reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class MonitoringIndicator(Base):
    """One version of an indicator document (约束性指标). Loading an indicator adds a
    version; versions never change, so a value or a report can name what it measured."""

    __tablename__ = "monitoring_indicators"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MonitoringReport(Base):
    """An annual evaluation report (年度评估报告) of a district or the city: the document
    exactly as served (orjson bytes) and its ES256 signature, visible to the app that
    made it."""

    __tablename__ = "monitoring_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    app_id: Mapped[str | None] = mapped_column(String(40), index=True)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    year: Mapped[int] = mapped_column(Integer)
    area: Mapped[str] = mapped_column(String(12))
    result: Mapped[bytes] = mapped_column(LargeBinary)
    jws: Mapped[str] = mapped_column(Text)
    kid: Mapped[str] = mapped_column(String(64))
