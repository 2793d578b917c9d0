"""Chains published by administrators (服务串联发布), every version of each, append-only;
per-app rate limits and quotas per service, their counters, and usage per app and day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class PublishedChain(Base):
    """One published version of a chain: its document as published. A change publishes a
    new row with the next version; rows are never updated nor deleted."""

    __tablename__ = "published_chains"
    __table_args__ = (UniqueConstraint("chain_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    dept: Mapped[str] = mapped_column(String(32))
    document: Mapped[Any] = mapped_column(JSONType)
    published_by: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceAppLimit(Base):
    """An administrator's rate limit and daily quota for one host app calling one service
    (no row, or null: unlimited). Kept beside the grants (planfuse.services.monitoring.
    limits)."""

    __tablename__ = "service_app_limits"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quota_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceCallCount(Base):
    """Calls of one app to one service in one window (a minute or a day), counted across
    every server process when no Redis is configured; rows expire."""

    __tablename__ = "service_call_counts"

    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "m<minutes since the epoch>" or "d<YYYYMMDD>" (a day of service_usage_timezone).
    window: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_epoch_s: Mapped[int] = mapped_column(Integer, index=True)


class ServiceUsage(Base):
    """Calls and error answers of one host app to one service on one day (of
    `service_usage_timezone`), added to by every server process."""

    __tablename__ = "service_usage"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
