"""The service framework's records: publishing departments (发布部门), services stopped,
grants per app and service, per-service configuration with its history, and the traces of
chain runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class Department(Base):
    """A department that publishes services (and owns data): 规划和自然资源局, 生态环境局, …"""

    __tablename__ = "departments"

    # Stable id, lower-case words joined by underscores: natural_resources.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ServiceState(Base):
    """A service an administrator stopped (no row: running). Every server process reads
    this table at most every `service_state_cache_s` seconds."""

    __tablename__ = "service_states"

    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(500), default="")
    # When the administrator expects to start it again (sent as Retry-After), if known.
    restart_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceGrant(Base):
    """An administrator's decision that a host app may (or may not) call a service; without
    a row the default applies (planfuse.services.monitoring.access)."""

    __tablename__ = "service_grants"

    app_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceConfigValue(Base):
    """A service's configuration value set by an administrator (no row: the default)."""

    __tablename__ = "service_config"

    service_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServiceConfigChange(Base):
    """Every change of a service's configuration, append-only: who, when, from what to what."""

    __tablename__ = "service_config_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # JSON null for "the default" (before the first change, after a reset).
    old_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSONType, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    changed_by: Mapped[str] = mapped_column(String(200), default="")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChainRun(Base):
    """One run of a chain (服务串联): every step's input, output, status, time and error."""

    __tablename__ = "chain_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    chain_id: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer)
    app_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    failed_step: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration_ms: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inputs: Mapped[Any] = mapped_column(JSONType)
    outputs: Mapped[Any] = mapped_column(JSONType, nullable=True)
    trace: Mapped[Any] = mapped_column(JSONType)


class RemoteService(Base):
    """A department's own service registered in the catalogue (逻辑集中，不改变数据所有权):
    PlanFuse checks its health and proxies it; the data stays where it is.

    ``auth_sealed`` is the credential PlanFuse sends to the remote, sealed under a key
    derived from the server key (planfuse.services.remote.records); it is never echoed.
    The health columns are the last check's outcome, written by whichever server process
    made it (planfuse.services.remote.health)."""

    __tablename__ = "remote_services"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    description_zh: Mapped[str] = mapped_column(String(1000), default="")
    description_en: Mapped[str] = mapped_column(String(1000), default="")
    dept: Mapped[str] = mapped_column(String(32), index=True)
    # ogc_features | wfs | wms | arcgis_feature | arcgis_map | json_api
    kind: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str] = mapped_column(String(2000))
    openapi_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # none | basic | bearer | header; the secret itself only sealed.
    auth_kind: Mapped[str] = mapped_column(String(16), default="none")
    auth_header: Mapped[str | None] = mapped_column(String(100), nullable=True)
    auth_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    health_status: Mapped[str] = mapped_column(String(16), default="unknown")
    health_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    health_http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    health_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A process claims a check by moving this forward (compare-and-set), so one of several
    # processes checks each service per interval.
    health_due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
