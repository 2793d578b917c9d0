"""GeoJSON (RFC 7946) → checked shapes: structure, nesting depth, numbers and vertex counts
checked iteratively before anything is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from planfuse.geo.errors import (
    GeometryInputError,
    InputProblem,
    shown,
)
from planfuse.geo.parse.coordinates import check_coordinates
from planfuse.geo.parse.shapes import (
    COORDINATE_DEPTH,
    GEOMETRY_TYPES,
    ParseContext,
    Shape,
    count_positions,
)

# --- GeoJSON -----------------------------------------------------------------------------

_NON_FINITE_LITERAL = re.compile(r"-?(?:NaN|Infinity)\b")


def load_json(text: str):
    """Strict JSON (orjson): NaN/Infinity literals and nesting deeper than 1024 are errors."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        pos = getattr(exc, "pos", 0) or 0
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f" at line {line}, column {col}" if line is not None else ""
        reason = str(exc).split(":", 1)[0]
        if _NON_FINITE_LITERAL.match(text, pos):
            message = (
                f"NaN and Infinity are not valid JSON numbers{where}; coordinates must be "
                "finite numbers"
            )
        elif "depth" in reason or "recursion" in reason.lower():
            message = f"the JSON is nested too deeply{where}"
        elif "infinity" in reason.lower():
            message = f"a number is too large to be finite{where}"
        else:
            message = f"invalid JSON{where}: {reason}"
        raise GeometryInputError(None, [InputProblem(message, line=line)]) from None


def geojson_shapes(obj, ctx: ParseContext) -> list[Shape]:
    # All vertices are counted from the arrays' lengths first, so a 300,000-vertex
    # collection is refused before a single position is checked or converted.
    ctx.check_total(count_positions(obj))
    if not isinstance(obj, Mapping):
        found = "an array" if isinstance(obj, list) else type(obj).__name__
        ctx.add(
            f"expected a GeoJSON object (geometry, Feature or FeatureCollection); found {found}"
        )
        return []
    gtype = obj.get("type")
    if gtype == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            ctx.add("a FeatureCollection needs a 'features' array", field="features")
            return []
        shapes = []
        for i, feature in enumerate(features):
            shape = feature_shape(feature, i, ctx)
            if shape is not None:
                shapes.append(shape)
        return shapes
    if gtype == "Feature":
        shape = feature_shape(obj, 0, ctx)
        return [shape] if shape is not None else []
    shape = _geometry_shape(obj, 0, {}, None, ctx)
    return [shape] if shape is not None else []


def feature_shape(feature, index: int, ctx: ParseContext) -> Shape | None:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        ctx.add("expected a GeoJSON Feature object", feature=index)
        return None
    props = feature.get("properties")
    if props is None:
        props = {}
    elif not isinstance(props, Mapping):
        ctx.add("'properties' must be an object or null", feature=index, field="properties")
        return None
    fid = feature.get("id")
    if fid is not None and (isinstance(fid, bool) or not isinstance(fid, str | int | float)):
        ctx.add("'id' must be a string or a number", feature=index, field="id")
        return None
    geometry = feature.get("geometry")
    if geometry is None:
        ctx.add("the feature has no geometry (null)", feature=index, field="geometry")
        return None
    return _geometry_shape(geometry, index, dict(props), fid, ctx)


def _geometry_shape(geom, index: int, props: dict, fid, ctx: ParseContext) -> Shape | None:
    if not isinstance(geom, Mapping):
        ctx.add("a geometry must be an object", feature=index, field="geometry")
        return None
    gtype = geom.get("type")
    if gtype == "GeometryCollection":
        ctx.add(
            "GeometryCollection is not supported; send a FeatureCollection with one feature "
            "per geometry, or a Multi* geometry",
            feature=index,
            field="type",
        )
        return None
    if not isinstance(gtype, str) or gtype not in COORDINATE_DEPTH:
        quoted = shown(str(gtype)) if gtype is not None else "missing"
        hint = ""
        if isinstance(gtype, str) and gtype.lower() in {t.lower() for t in COORDINATE_DEPTH}:
            hint = " (GeoJSON type names are case-sensitive)"
        ctx.add(
            f"geometry type '{quoted}' is not a GeoJSON geometry type{hint}; expected one of "
            + ", ".join(GEOMETRY_TYPES),
            feature=index,
            field="type",
        )
        return None
    if ctx.allowed is not None and gtype not in ctx.allowed:
        ctx.add(
            f"geometry type {gtype} is not allowed here; expected "
            + " or ".join(t for t in GEOMETRY_TYPES if t in ctx.allowed),
            feature=index,
            field="type",
        )
        return None
    if "coordinates" not in geom:
        ctx.add(f"the {gtype} has no 'coordinates'", feature=index, field="coordinates")
        return None
    parts = check_coordinates(gtype, geom["coordinates"], index, ctx)
    if parts is None:
        return None
    return Shape(gtype, parts, index, props, fid)
