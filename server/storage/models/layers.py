"""Layers, their versions and their features.

A layer (e.g. `basic_farmland`) is re-imported as a new version; old versions stay
readable. Geometry is stored once, in EPSG:4490 (CGCS2000), as WKB, with its bounding box
in plain columns so a bbox prefilter runs in SQL on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from planfuse.storage.models.base import Base, JSONType, UTCDateTime, utcnow


class Layer(Base):
    __tablename__ = "layers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str] = mapped_column(String(200), default="")
    current_version: Mapped[int] = mapped_column(Integer, default=0)
    # Restricted layers are served by the data services only to callers with a token.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LayerVersion(Base):
    __tablename__ = "layer_versions"

    layer_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("layers.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_crs: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(500), default="")
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    geometry_type: Mapped[str] = mapped_column(String(32), default="")
    minx: Mapped[float | None] = mapped_column(Float)
    miny: Mapped[float | None] = mapped_column(Float)
    maxx: Mapped[float | None] = mapped_column(Float)
    maxy: Mapped[float | None] = mapped_column(Float)
    total_area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    field_map: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    fields: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # The date the version describes (现状时点), e.g. 2025-12-31 for the annual land
    # survey of 2025: set for land-use status layers, whose value of a year is measured
    # on the version current at the end of that year.
    as_of: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def bbox(self) -> list[float] | None:
        if self.minx is None:
            return None
        return [self.minx, self.miny, self.maxx, self.maxy]


#: Join condition of a layer with its current version (`select(...).join(LayerVersion, …)`).
CURRENT_VERSION = (LayerVersion.layer_id == Layer.id) & (
    LayerVersion.version == Layer.current_version
)


class Feature(Base):
    __tablename__ = "features"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    layer_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    # Position of the feature in its layer version, 1..N: the OGC API feature id.
    fid: Mapped[int] = mapped_column(Integer)
    geom: Mapped[bytes] = mapped_column(LargeBinary)
    minx: Mapped[float] = mapped_column(Float)
    miny: Mapped[float] = mapped_column(Float)
    maxx: Mapped[float] = mapped_column(Float)
    maxy: Mapped[float] = mapped_column(Float)
    area_m2: Mapped[float] = mapped_column(Float, default=0.0)
    length_m: Mapped[float] = mapped_column(Float, default=0.0)
    district: Mapped[str | None] = mapped_column(String(12))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    source_id: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(
            ["layer_id", "version"],
            ["layer_versions.layer_id", "layer_versions.version"],
            ondelete="CASCADE",
            name="fk_features_layer_version",
        ),
        Index("ux_features_layer_version_fid", "layer_id", "version", "fid", unique=True),
        # Covering index of the data services' bbox queries (planfuse.services.features.store):
        # range scans on minx and miny, the other bounds and the fid read from the index alone.
        Index(
            "ix_features_layer_version_bbox_cover",
            "layer_id",
            "version",
            "minx",
            "miny",
            "maxx",
            "maxy",
            "fid",
        ),
        Index("ix_features_layer_version_district", "layer_id", "version", "district"),
    )


class LayerDerived(Base):
    """State derived from one layer version that takes long to build (a self-overlap mask,
    a dissolved layer, …): built once by whichever process needs it first, stored here,
    and loaded by every other process and host. A layer version never changes, so neither
    does what is derived from it; a new import is a new version with its own rows."""

    __tablename__ = "layer_derived"

    layer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What it is, e.g. "overlap_mask" or "dissolve:class:3f2a…" (planfuse.services.layers.derived).
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    build_s: Mapped[float] = mapped_column(Float, default=0.0)
    built_by: Mapped[str] = mapped_column(String(200), default="")
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["layer_id", "version"],
            ["layer_versions.layer_id", "layer_versions.version"],
            ondelete="CASCADE",
            name="fk_layer_derived_layer_version",
        ),
    )
