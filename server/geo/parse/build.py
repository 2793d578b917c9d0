"""Checked shapes → shapely geometries, with validity checked (or repaired with make_valid
when asked) and each invalidity located at its feature, part, ring and vertex.
"""

from __future__ import annotations

import math
import re

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.geo.errors import (
    ProblemCollector,
)
from planfuse.geo.parse.shapes import POLYGONAL_TYPES, REPAIR_HINT, ParsedFeature, Shape

# --- building and validity ---------------------------------------------------------------


def _build_one(shape: Shape) -> BaseGeometry:
    parts = shape.parts
    if shape.gtype == "Point":
        return shapely.points(parts[0][0][0])
    if shape.gtype == "MultiPoint":
        return shapely.multipoints(np.vstack([p[0] for p in parts]))
    if shape.gtype == "LineString":
        return shapely.linestrings(parts[0][0])
    if shape.gtype == "MultiLineString":
        return shapely.multilinestrings([shapely.linestrings(p[0]) for p in parts])
    polygons = [shapely.Polygon(rings[0], rings[1:]) for rings in parts]
    if shape.gtype == "Polygon":
        return polygons[0]
    return shapely.MultiPolygon(polygons)


_REASON_POINT = re.compile(r"^(.*?)\s*\[\s*([-+0-9.eE]+|nan)\s+([-+0-9.eE]+|nan)(?:\s+\S+)?\s*\]$")


def build_features(
    shapes: list[Shape], repair: bool, problems: ProblemCollector
) -> list[ParsedFeature]:
    """Build the shapes' geometries, check validity (repairing if asked); problems are
    added to ``problems`` and the caller raises."""
    geoms = np.empty(len(shapes), dtype=object)
    for i, shape in enumerate(shapes):
        geoms[i] = _build_one(shape)
    valid = shapely.is_valid(geoms) if len(geoms) else np.empty(0, dtype=bool)
    features = []
    for i, shape in enumerate(shapes):
        feature = checked_feature(shape, geoms[i], bool(valid[i]), repair, problems)
        if feature is not None:
            features.append(feature)
    return features


def checked_feature(
    shape: Shape, geom: BaseGeometry, valid: bool, repair: bool, problems: ProblemCollector
) -> ParsedFeature | None:
    """The feature of a built shape; an invalid geometry is repaired (if asked) or
    reported to ``problems`` (then None)."""
    repaired = False
    notes = list(shape.notes)
    if not valid:
        reason = shapely.is_valid_reason(geom)
        if repair:
            fixed = repair_geometry(geom, shape.polygonal)
            if fixed is None:
                problems.add(
                    f"the geometry is invalid ({reason}) and repairing it leaves nothing "
                    "of its type",
                    feature=shape.index,
                )
                return None
            geom = fixed
            repaired = True
            notes.append(f"repaired with make_valid: {reason}")
        else:
            _report_invalid(shape, geom, reason, problems)
            return None
    return ParsedFeature(
        geometry=geom,
        properties=shape.properties,
        index=shape.index,
        repaired=repaired,
        feature_id=shape.feature_id,
        notes=notes,
    )


def repair_geometry(geom: BaseGeometry, polygonal: bool) -> BaseGeometry | None:
    if polygonal:
        # "structure" rebuilds areas from the rings (the result PostGIS recommends for
        # polygons) and drops collapsed parts, so a polygon stays a polygon.
        fixed = shapely.make_valid(geom, method="structure", keep_collapsed=False)
        fixed = polygonal_part(fixed)
    else:
        fixed = shapely.make_valid(geom)
    if fixed is None or fixed.is_empty:
        return None
    return fixed


def polygonal_part(geom: BaseGeometry) -> BaseGeometry | None:
    """The polygons of ``geom`` as a Polygon or MultiPolygon (None if there are none)."""
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type in POLYGONAL_TYPES:
        return geom
    parts = [
        g for g in shapely.get_parts(geom, return_index=False) if g.geom_type in POLYGONAL_TYPES
    ]
    polys = []
    for g in parts:
        polys.extend(shapely.get_parts(g) if g.geom_type == "MultiPolygon" else [g])
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def _report_invalid(shape: Shape, geom: BaseGeometry, reason: str, problems: ProblemCollector):
    m = _REASON_POINT.match(reason or "")
    if not m:
        problems.add(f"the geometry is invalid: {reason}; {REPAIR_HINT}", feature=shape.index)
        return
    text, xs, ys = m.group(1), m.group(2), m.group(3)
    try:
        x, y = float(xs), float(ys)
    except ValueError:
        x = y = float("nan")
    if not (math.isfinite(x) and math.isfinite(y)):
        problems.add(f"the geometry is invalid: {text}; {REPAIR_HINT}", feature=shape.index)
        return
    part, ring, vertex = _nearest_vertex(shape, x, y)
    line = None
    if shape.lines is not None and (part, ring) in shape.lines:
        line = shape.lines[(part, ring)][vertex]
    problems.add(
        f"{text} at ({x:.10g}, {y:.10g}), near vertex {vertex}; {REPAIR_HINT}",
        feature=shape.index,
        part=part if shape.multi else None,
        ring=ring if shape.polygonal else None,
        vertex=vertex,
        line=line,
    )


def _nearest_vertex(shape: Shape, x: float, y: float) -> tuple[int, int, int]:
    """(part, ring, vertex) of the segment start nearest to (x, y)."""
    best = (math.inf, 0, 0, 0)
    for p, rings in enumerate(shape.parts):
        for r, arr in enumerate(rings):
            if len(arr) == 1:
                d = np.hypot(arr[:, 0] - x, arr[:, 1] - y)
            else:
                a = arr[:-1]
                ab = arr[1:] - a
                denom = (ab**2).sum(axis=1)
                along = ((np.array([x, y]) - a) * ab).sum(axis=1)
                t = np.clip(
                    np.divide(along, denom, out=np.zeros_like(along), where=denom > 0), 0, 1
                )
                proj = a + ab * t[:, None]
                d = np.hypot(proj[:, 0] - x, proj[:, 1] - y)
            v = int(np.argmin(d))
            if d[v] < best[0]:
                best = (float(d[v]), p, r, v)
    return best[1], best[2], best[3]
