"""Feature queries of the data services (OGC API – Features, WFS, ArcGIS REST), on SQLite
and PostgreSQL alike (no PostGIS).

A bbox query runs in three steps, none of which reads every geometry of a large layer:

1. **Prefilter on the bbox columns.** A feature can intersect the query box only if its
   bbox does. `minx <= qmaxx` alone bounds an index range scan poorly (half the layer lies
   left of any box), so the range is also bounded below by `qminx − W`, W the widest
   feature of the layer version, and `miny` likewise by the tallest (versions never change,
   so both are computed once). The covering index on (layer_id, version, minx, miny, maxx,
   maxy, fid) (migration 0007) answers this without touching the table.
2. **Inside the box without geometry.** A feature whose bbox lies inside the query polygon
   intersects it whatever its shape: those are counted in SQL.
3. **Exact test on the frame only.** Only features whose bbox crosses the query boundary are
   read and tested with shapely (`intersects`, prepared query polygon).

`numberMatched` is the SQL count of step 2 plus the matches of step 3; a page is read in
fid order from the same conditions (see `_page_order` for how the plan is chosen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import (
    ColumnElement,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    false,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from planfuse.context import PlanFuse
from planfuse.storage.models import Feature


def _session(ctx: PlanFuse, session: Session | None) -> AbstractContextManager[Session]:
    """The caller's session, or a new one committed at the end."""
    return nullcontext(session) if session is not None else ctx.db.session()


@dataclass(frozen=True)
class BBoxQuery:
    """A spatial filter in storage coordinates (EPSG:4490 lon/lat degrees).

    `polygon` is the exact query geometry; `outer` its bounds; `inner` an axis-aligned
    rectangle inside it (equal to `outer` for a plain lon/lat bbox), or None: a feature
    whose bbox lies in `inner` intersects the query whatever its shape. With
    `envelopes_only`, a feature matches when its bbox meets `outer`, whatever the shapes
    (ArcGIS's esriSpatialRelEnvelopeIntersects).
    """

    polygon: shapely.Geometry
    outer: tuple[float, float, float, float]
    inner: tuple[float, float, float, float] | None
    envelopes_only: bool = False

    def meets(self, geom: shapely.Geometry) -> bool:
        """Whether one stored geometry matches this filter."""
        if self.envelopes_only:
            return bool(shapely.intersects(shapely.box(*self.outer), shapely.envelope(geom)))
        return bool(shapely.intersects(self.polygon, geom))

    @classmethod
    def from_geometry(
        cls, polygon: shapely.Geometry, inner: tuple[float, float, float, float] | None
    ) -> BBoxQuery:
        """`inner` must lie inside `polygon` (see `planfuse.services.features.crs.storage_box`)."""
        outer = tuple(float(v) for v in polygon.bounds)
        if polygon.area == 0:
            # A point or an axis-parallel line is its own bounds; a slanted line has no
            # rectangle inside it.
            flat = outer[0] == outer[2] or outer[1] == outer[3]
            return cls(polygon, outer, outer if flat else None)
        return cls(polygon, outer, inner)


@dataclass
class FeatureRow:
    fid: int
    geom: bytes
    properties: dict[str, Any]
    district: str | None


def _properties(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes):  # some drivers hand JSON back as text
        return orjson.loads(value)
    return dict(value or {})


def max_feature_size(
    ctx: PlanFuse, layer_id: str, version: int, session: Session | None = None
) -> tuple[float, float]:
    """The widest and the tallest feature bbox of a layer version, in degrees (memoised:
    versions are immutable once written)."""
    sizes: dict[tuple[str, int], tuple[float, float]] = ctx.extras.setdefault("ogc_max_size", {})
    key = (layer_id, version)
    if key not in sizes:
        with _session(ctx, session) as session:
            width, height = session.execute(
                select(
                    func.max(Feature.maxx - Feature.minx), func.max(Feature.maxy - Feature.miny)
                ).where(Feature.layer_id == layer_id, Feature.version == version)
            ).one()
        sizes[key] = (float(width or 0.0), float(height or 0.0))
    return sizes[key]


def _filter_clauses(filters: Mapping[str, Sequence[str]]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for name, values in filters.items():
        if name == "district":
            clauses.append(Feature.district.in_(list(values)))
            continue
        # Values are compared as text on both databases (numbers too: "5" finds 5); the
        # name and every value are bound parameters.
        extracted = cast(Feature.properties[name].as_string(), Text)
        clauses.append(extracted.in_(list(values)))
    return clauses


def _crosses_box(
    box: tuple[float, float, float, float], size: tuple[float, float]
) -> ColumnElement[bool]:
    qminx, qminy, qmaxx, qmaxy = box
    width, height = size
    return and_(
        # Redundant with the next conditions, but these two bound the index range scans.
        Feature.minx >= qminx - width,
        Feature.miny >= qminy - height,
        Feature.minx <= qmaxx,
        Feature.maxx >= qminx,
        Feature.miny <= qmaxy,
        Feature.maxy >= qminy,
    )


def _inside_box(box: tuple[float, float, float, float] | None) -> ColumnElement[bool]:
    if box is None:
        return false()
    iminx, iminy, imaxx, imaxy = box
    return and_(
        Feature.minx >= iminx,
        Feature.maxx <= imaxx,
        Feature.miny >= iminy,
        Feature.maxy <= imaxy,
    )


def _fid_in(dialect: str, fids: Sequence[int]) -> ColumnElement[bool]:
    """`fid IN (…)` as ONE bound parameter, whatever the list's length."""
    if not fids:
        return false()
    if dialect == "postgresql":
        return Feature.fid == func.any(bindparam("fids", list(fids), type_=ARRAY(Integer)))
    # SQLite: json_each over one JSON text parameter.
    table = func.json_each(bindparam("fids", orjson.dumps(list(fids)).decode())).table_valued(
        "value"
    )
    values = select(table.c.value)
    return Feature.fid.in_(values)


def query_features(
    ctx: PlanFuse,
    layer_id: str,
    version: int,
    feature_count: int,
    *,
    filters: Mapping[str, Sequence[str]],
    bbox: BBoxQuery | None,
    offset: int,
    limit: int,
    session: Session | None = None,
    fid_min: int = 1,
    fid_max: int | None = None,
) -> tuple[int, list[FeatureRow]]:
    """(numberMatched, the page of features in fid order) for a layer version; in
    `session` when given (one transaction for the whole request), else in a new one.
    `fid_min`/`fid_max` keep only features whose id lies in that range (ArcGIS clients
    page by OBJECTID ranges)."""
    base = [Feature.layer_id == layer_id, Feature.version == version]
    base += _filter_clauses(filters)
    last = feature_count if fid_max is None else min(fid_max, feature_count)
    ranged = fid_min > 1 or last < feature_count
    if ranged and (bbox is not None or filters):
        base += [Feature.fid >= fid_min, Feature.fid <= last]
    dialect = ctx.db.dialect
    columns = (Feature.fid, Feature.geom, Feature.properties, Feature.district)
    with _session(ctx, session) as session:
        if bbox is None and not filters:
            # fid runs 1..N without gaps: a page is a key range.
            first = max(fid_min, 1)
            matched = max(0, last - first + 1)
            start = first - 1 + offset
            page_stmt = (
                select(*columns)
                .where(*base, Feature.fid > start, Feature.fid <= min(start + limit, last))
                .order_by(Feature.fid)
            )
        elif bbox is None:
            matched = session.scalar(select(func.count()).select_from(Feature).where(*base)) or 0
            page_stmt = select(*columns).where(*base).order_by(Feature.fid)
            page_stmt = page_stmt.offset(offset).limit(limit)
        else:
            size = max_feature_size(ctx, layer_id, version, session)
            candidates = _crosses_box(bbox.outer, size)
            # Matching envelopes only: every feature whose bbox meets the box is a hit.
            inside = true() if bbox.envelopes_only else _inside_box(bbox.inner)
            # Candidates counted up to one past the page (bounded cost for a large box).
            probe = (
                select(Feature.fid).where(*base, candidates).limit(offset + limit + 1).subquery()
            )
            found = session.scalar(select(func.count()).select_from(probe))
            if (found or 0) <= offset + limit:
                # Every match is on this page (a map, a small box): one read of the
                # candidates, tested here as below.
                return _all_matches(session, base, candidates, bbox, offset, limit)
            frame = session.execute(
                select(Feature.fid, Feature.geom).where(*base, candidates, ~inside)
            ).all()
            hits, misses = _exact(bbox.polygon, frame)
            inside_count = session.scalar(
                select(func.count()).select_from(Feature).where(*base, candidates, inside)
            )
            matched = int(inside_count or 0) + len(hits)
            if len(hits) <= len(misses):
                where = [*base, candidates, or_(inside, _fid_in(dialect, hits))]
            else:
                where = [*base, candidates, ~_fid_in(dialect, misses)]
            page_stmt = (
                select(*columns)
                .where(*where)
                .order_by(_page_order(matched, offset, limit, feature_count))
            )
            page_stmt = page_stmt.offset(offset).limit(limit)
        if offset >= matched:
            return matched, []
        rows = session.execute(page_stmt).all()
    return matched, [FeatureRow(int(r[0]), bytes(r[1]), _properties(r[2]), r[3]) for r in rows]


def _all_matches(
    session: Session,
    base: list[ColumnElement[bool]],
    candidates: ColumnElement[bool],
    bbox: BBoxQuery,
    offset: int,
    limit: int,
) -> tuple[int, list[FeatureRow]]:
    """(numberMatched, the page) when all of a bbox query's candidates fit in the page: the
    candidates read once in fid order, kept when their bbox lies in `bbox.inner` or their
    geometry intersects the query polygon (all of them when matching envelopes only) — the
    same rows as the three-step path."""
    rows = session.execute(
        select(
            Feature.fid,
            Feature.geom,
            cast(Feature.properties, Text),
            Feature.district,
            Feature.minx,
            Feature.miny,
            Feature.maxx,
            Feature.maxy,
        )
        .where(*base, candidates)
        .order_by(Feature.fid)
    ).all()
    if not rows:
        return 0, []
    if bbox.envelopes_only:  # every candidate's bbox meets the box
        keep = np.ones(len(rows), dtype=bool)
    elif bbox.inner is None:
        keep = np.zeros(len(rows), dtype=bool)
    else:
        iminx, iminy, imaxx, imaxy = bbox.inner
        bounds = np.array([r[4:8] for r in rows], dtype=np.float64)
        keep = (
            (bounds[:, 0] >= iminx)
            & (bounds[:, 2] <= imaxx)
            & (bounds[:, 1] >= iminy)
            & (bounds[:, 3] <= imaxy)
        )
    rest = np.flatnonzero(~keep)
    if len(rest):
        shapely.prepare(bbox.polygon)
        geoms = shapely.from_wkb([bytes(rows[i][1]) for i in rest])
        keep[rest] = shapely.intersects(bbox.polygon, geoms)
    kept = [rows[i] for i in np.flatnonzero(keep)]
    page = kept[offset : offset + limit]
    return len(kept), [FeatureRow(int(r[0]), bytes(r[1]), _properties(r[2]), r[3]) for r in page]


def _exact(polygon: shapely.Geometry, rows: Sequence[Any]) -> tuple[list[int], list[int]]:
    """Split (fid, wkb) rows into those whose geometry intersects `polygon` and the rest."""
    if not rows:
        return [], []
    fids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    geoms = shapely.from_wkb([bytes(r[1]) for r in rows])
    shapely.prepare(polygon)
    hit = shapely.intersects(polygon, geoms)
    return fids[hit].tolist(), fids[~hit].tolist()


def _page_order(matched: int, offset: int, limit: int, feature_count: int) -> ColumnElement:
    """`fid`, or `fid + 0` to keep the database from walking the fid index.

    Walking the layer in fid order finds the page after about (offset + limit) / share rows,
    where share = matched / feature_count; reading the bbox matches and sorting them costs
    about `matched` rows. With few matches (a small box in a large layer) the fid walk is
    the slow plan — a 1 km box in 1,000,000 parcels would read most of the layer — so the
    sort key is wrapped in an expression no index provides, and both SQLite and PostgreSQL
    then take the bbox index and sort.
    """
    if (offset + limit) * feature_count < matched * matched:
        return Feature.fid
    return Feature.fid + 0


def get_feature(
    ctx: PlanFuse, layer_id: str, version: int, fid: int, session: Session | None = None
) -> FeatureRow | None:
    with _session(ctx, session) as session:
        row = session.execute(
            select(Feature.fid, Feature.geom, Feature.properties, Feature.district).where(
                Feature.layer_id == layer_id, Feature.version == version, Feature.fid == fid
            )
        ).first()
    if row is None:
        return None
    return FeatureRow(int(row[0]), bytes(row[1]), _properties(row[2]), row[3])
