"""The project reserve (项目储备库): projects proposed by departments before they are
approved and funded, per host app and user, with their latest pre-study (预研预控)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow

#: Longest project name accepted (characters).
PROJECT_NAME_MAX = 300


class ReserveProject(Base):
    __tablename__ = "reserve_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(40))
    # The host's user id (`sub`) who proposed it; a host backend (HTTP Basic) names it.
    user_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(PROJECT_NAME_MAX))
    # A compliance project type: urban, linear, major, other.
    project_type: Mapped[str] = mapped_column(String(16))
    # The proposing department's id (e.g. natural_resources).
    dept: Mapped[str] = mapped_column(String(64))
    # The district's adcode; its yearly quota of new construction land is charged.
    district: Mapped[str] = mapped_column(String(12))
    land_use: Mapped[str] = mapped_column(String(8))
    area_m2: Mapped[float] = mapped_column(Float)
    # The red line in EPSG:4490 WKB and as submitted (GeoJSON in `source_crs`); None
    # while the project has no red line yet.
    geom: Mapped[bytes | None] = mapped_column(LargeBinary)
    source_crs: Mapped[str | None] = mapped_column(String(64))
    source_geojson: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    red_line_area_m2: Mapped[float | None] = mapped_column(Float)
    # Planned funds by year in 万元: {"2026": 500.0, …}.
    funds: Mapped[dict[str, float]] = mapped_column(JSONType, default=dict)
    priority: Mapped[int] = mapped_column(Integer)
    # Ids of projects (same app) that must start no later than this one's start year.
    depends_on: Mapped[list[int]] = mapped_column(JSONType, default=list)
    earliest_year: Mapped[int | None] = mapped_column(Integer)
    latest_year: Mapped[int | None] = mapped_column(Integer)
    # The latest pre-study: outcome (landable, needs_adjustment, not_landable) and result.
    pre_study_status: Mapped[str | None] = mapped_column(String(20))
    pre_study: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pre_study_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_reserve_projects_owner", "app_id", "user_id", "id"),)
