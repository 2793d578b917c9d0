"""Siting plans (选址方案): a saved siting search with its result, per host app and user.

The result is kept as the exact JSON text the search returned, so a re-run on unchanged
data can be compared byte for byte (PostgreSQL's JSONB would reorder keys), and the
difference to the previous run is kept beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow

#: Longest plan name accepted (characters).
PLAN_NAME_MAX = 200


class SitingPlan(Base):
    __tablename__ = "siting_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_id: Mapped[str] = mapped_column(String(40))
    # The host's user id (`sub`); "" for plans saved by the host's backend (HTTP Basic).
    user_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(PLAN_NAME_MAX))
    # The canonical search request (scope, conditions, weights, limit, output_crs).
    query: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[str] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer, default=0)
    data_versions: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    # What the last re-run changed (None before the first re-run).
    last_diff: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    runs: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_siting_plans_owner", "app_id", "user_id", "id"),)
