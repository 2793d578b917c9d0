"""Untrusted geometry input → validated shapely geometries.

Three input formats:

* **GeoJSON** (RFC 7946): a geometry, a Feature or a FeatureCollection. GeometryCollection
  is refused (send a FeatureCollection or a Multi* geometry instead).
* **WKT**: one or more geometries (Point … MultiPolygon), separated by whitespace or ``;``.
* **界址点坐标** (boundary-point coordinate lists, as surveyors deliver them): one point per
  line, ``point_no, x, y`` or ``point_no, ring_no, x, y`` — see :func:`parse_boundary_points`.

Everything wrong is collected (up to :data:`planfuse.geo.errors.MAX_PROBLEMS`) into one
:class:`GeometryInputError` whose problems name the feature, part, ring, vertex or line.
Structure, nesting depth, numbers and the vertex count are all checked iteratively
*before* any geometry is built, so hostile input (100,000-deep arrays, NaN, millions of
vertices) is refused cheaply and without recursion.

Geometries come back in the SOURCE CRS; :func:`validate_in_crs` checks them against a CRS
and :func:`to_storage` reprojects them to EPSG:4490.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.geo import crs as crs_mod
from planfuse.geo.crs import CRSInfo
from planfuse.geo.errors import (
    CoordinateRangeError,
    GeometryInputError,
    InputProblem,
    ProblemCollector,
)

# The deepest GeoJSON coordinate array: MultiPolygon → polygons → rings → positions → numbers.
MAX_NESTING_DEPTH = 4
DEFAULT_MAX_VERTICES = 250_000

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
POLYGONAL_TYPES = frozenset({"Polygon", "MultiPolygon"})
# Nesting depth of the coordinates of each geometry type.
_DEPTH = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}
_EXAMPLE = {
    "Point": "[x, y]",
    "MultiPoint": "[[x, y], ...]",
    "LineString": "[[x, y], ...]",
    "MultiLineString": "[[[x, y], ...], ...]",
    "Polygon": "[[[x, y], ...], ...]",
    "MultiPolygon": "[[[[x, y], ...], ...], ...]",
}
_REPAIR_HINT = "fix the boundary, or ask for repair to apply make_valid"


@dataclass
class ParsedFeature:
    """One input feature: its geometry (shapely, in the SOURCE CRS), its properties exactly
    as given, and its 0-based ``index`` in the input.

    ``repaired`` is True when ``repair=True`` changed an invalid geometry with make_valid;
    ``notes`` says what was done (repairs, axis swaps of 界址点 lists). ``feature_id`` is the
    GeoJSON Feature ``id`` if there was one.
    """

    geometry: BaseGeometry
    properties: dict
    index: int
    repaired: bool = False
    feature_id: str | int | float | None = None
    notes: list[str] = field(default_factory=list)


class _TooManyVertices(Exception):
    pass


@dataclass
class _Shape:
    """A checked geometry before it is built: parts → rings → (n, 2) float arrays.

    Point and LineString have one part with one "ring"; polygons list shell then holes.
    ``lines`` optionally maps (part, ring) to the 1-based text line of each vertex.
    """

    gtype: str
    parts: list[list[np.ndarray]]
    index: int
    properties: dict
    feature_id: str | int | float | None = None
    lines: dict[tuple[int, int], list[int]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def multi(self) -> bool:
        return self.gtype.startswith("Multi")

    @property
    def polygonal(self) -> bool:
        return self.gtype in POLYGONAL_TYPES


class _Context:
    def __init__(self, max_vertices: int, geometry_types: Collection[str] | None) -> None:
        self.max_vertices = max_vertices
        self.vertices = 0
        self.allowed = None if geometry_types is None else frozenset(geometry_types)
        self.problems = ProblemCollector()

    def count(self, n: int) -> None:
        self.vertices += n
        if self.vertices > self.max_vertices:
            raise _TooManyVertices

    def add(self, message: str, **where) -> None:
        self.problems.add(message, **where)


def parse_features(
    data: bytes | str | dict,
    *,
    fmt: str = "auto",
    max_vertices: int = DEFAULT_MAX_VERTICES,
    geometry_types: Collection[str] | None = None,
    repair: bool = False,
) -> list[ParsedFeature]:
    """Parse untrusted geometry input into validated features (geometries in the source CRS).

    ``data``: GeoJSON text/bytes or an already-decoded dict, WKT text, or a 界址点 list.
    ``fmt``: "auto" (detect), "geojson", "wkt" or "coordinates" (界址点).
    ``max_vertices``: refuse input with more vertices, counted before building anything.
    ``geometry_types``: GeoJSON type names allowed (e.g. {"Polygon", "MultiPolygon"}).
    ``repair``: apply shapely.make_valid to invalid geometries instead of refusing them
    (polygonal input keeps only its polygonal parts); such features get ``repaired=True``.

    Raises :class:`GeometryInputError` listing every problem found (feature, part, ring,
    vertex, line).
    """
    if fmt not in ("auto", "geojson", "wkt", "coordinates"):
        raise ValueError(f"fmt must be auto, geojson, wkt or coordinates, not {fmt!r}")
    if geometry_types is not None:
        unknown = set(geometry_types) - set(GEOMETRY_TYPES)
        if unknown:
            raise ValueError(f"unknown geometry types {sorted(unknown)}")
    ctx = _Context(max_vertices, geometry_types)
    try:
        if isinstance(data, Mapping):
            if fmt not in ("auto", "geojson"):
                raise ValueError("a dict can only be GeoJSON")
            shapes = _geojson_shapes(data, ctx)
        else:
            text = _decode(data)
            kind = fmt if fmt != "auto" else _detect(text)
            if kind == "geojson":
                shapes = _geojson_shapes(_load_json(text), ctx)
            elif kind == "wkt":
                shapes = _wkt_shapes(text, ctx)
            else:
                shapes = _boundary_point_shapes(text, ctx)
    except _TooManyVertices:
        raise GeometryInputError(
            None,
            [
                InputProblem(
                    f"the input has more than {max_vertices} vertices; split it into "
                    "smaller uploads or simplify it"
                )
            ],
        ) from None
    if not shapes and not ctx.problems:
        raise GeometryInputError(None, [InputProblem("the input contains no features")])
    # Validity is checked on every well-formed feature even when others are malformed, so
    # one error lists every bad feature (building is bounded: vertices were counted).
    features = _build(shapes, repair, ctx.problems)
    ctx.problems.problems.sort(key=_problem_order)
    ctx.problems.raise_if_any()
    return features


def _problem_order(p: InputProblem) -> tuple:
    return (
        -1 if p.feature is None else p.feature,
        -1 if p.line is None else p.line,
        -1 if p.part is None else p.part,
        -1 if p.ring is None else p.ring,
    )


# --- text decoding and format detection --------------------------------------------------


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise GeometryInputError(None, [InputProblem("input must be text, bytes or a dict")])
    raw = bytes(data)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Surveyors' coordinate lists are often saved as GBK/GB18030 by Chinese Windows tools.
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise GeometryInputError(
            None, [InputProblem(f"the input is not UTF-8 or GB18030 text (byte {exc.start})")]
        ) from None


_WKT_START = re.compile(
    r"\s*(?:SRID\s*=\s*\d+\s*;\s*)?(?:POINT|LINESTRING|POLYGON|MULTIPOINT|MULTILINESTRING"
    r"|MULTIPOLYGON|GEOMETRYCOLLECTION)\s*(?:ZM|Z|M)?\s*(?:\(|EMPTY\b)",
    re.IGNORECASE,
)


_JSON_ARRAY_START = re.compile(r'\[\s*[\[{"\-0-9\]tfn]')


def _detect(text: str) -> str:
    stripped = text.lstrip()
    # "[" also opens the 国土资源部 exchange format's "[属性描述]" section headers.
    if stripped[:1] == "{" or _JSON_ARRAY_START.match(stripped):
        return "geojson"
    if _WKT_START.match(stripped):
        return "wkt"
    return "coordinates"


# --- GeoJSON -----------------------------------------------------------------------------

_NON_FINITE_LITERAL = re.compile(r"-?(?:NaN|Infinity)\b")


def _load_json(text: str):
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


def _geojson_shapes(obj, ctx: _Context) -> list[_Shape]:
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
            shape = _feature_shape(feature, i, ctx)
            if shape is not None:
                shapes.append(shape)
        return shapes
    if gtype == "Feature":
        shape = _feature_shape(obj, 0, ctx)
        return [shape] if shape is not None else []
    shape = _geometry_shape(obj, 0, {}, None, ctx)
    return [shape] if shape is not None else []


def _feature_shape(feature, index: int, ctx: _Context) -> _Shape | None:
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


def _geometry_shape(geom, index: int, props: dict, fid, ctx: _Context) -> _Shape | None:
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
    if not isinstance(gtype, str) or gtype not in _DEPTH:
        shown = crs_mod._shown(str(gtype)) if gtype is not None else "missing"
        hint = ""
        if isinstance(gtype, str) and gtype.lower() in {t.lower() for t in _DEPTH}:
            hint = " (GeoJSON type names are case-sensitive)"
        ctx.add(
            f"geometry type '{shown}' is not a GeoJSON geometry type{hint}; expected one of "
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
    parts = _coordinates(gtype, geom["coordinates"], index, ctx)
    if parts is None:
        return None
    return _Shape(gtype, parts, index, props, fid)


def _nesting_depth(obj, limit: int) -> int:
    """Depth of nested lists along the first elements, counting at most to ``limit + 1``.

    Iterative, so a 100,000-deep array costs ``limit`` steps and no recursion.
    """
    depth = 0
    while isinstance(obj, list):
        depth += 1
        if depth > limit or not obj:
            break
        obj = obj[0]
    return depth


def _coordinates(gtype: str, coords, index: int, ctx: _Context) -> list[list[np.ndarray]] | None:
    """Check a GeoJSON ``coordinates`` value for ``gtype``; return parts → rings → arrays."""
    if not isinstance(coords, list):
        ctx.add(f"'coordinates' must be an array {_EXAMPLE[gtype]}", feature=index)
        return None
    if not coords:
        ctx.add(f"the {gtype} is empty", feature=index)
        return None
    expected = _DEPTH[gtype]
    depth = _nesting_depth(coords, MAX_NESTING_DEPTH)
    if depth > MAX_NESTING_DEPTH:
        ctx.add(
            f"coordinates are nested deeper than {MAX_NESTING_DEPTH} levels; a {gtype} "
            f"needs {expected}: {_EXAMPLE[gtype]}",
            feature=index,
        )
        return None
    if depth != expected and not (depth < expected and _has_empty_leaf(coords, depth)):
        ctx.add(
            f"coordinates of a {gtype} must be nested {expected} level(s) deep, "
            f"{_EXAMPLE[gtype]}; found {depth}",
            feature=index,
        )
        return None
    ok = True
    if gtype == "Point":
        arr = _positions([coords], index, None, None, ctx, single=True)
        return None if arr is None else [[arr]]
    if gtype in ("LineString", "MultiPoint"):
        arr = _positions(coords, index, None, None, ctx)
        if arr is None:
            return None
        if gtype == "MultiPoint":
            return [[arr[i : i + 1]] for i in range(len(arr))]
        if len(arr) < 2:
            ctx.add("a LineString needs at least 2 positions", feature=index)
            return None
        return [[arr]]
    if gtype == "MultiLineString":
        parts = []
        for p, line in enumerate(coords):
            arr = _positions(line, index, p, None, ctx)
            if arr is None:
                ok = False
            elif len(arr) < 2:
                ctx.add("a LineString needs at least 2 positions", feature=index, part=p)
                ok = False
            else:
                parts.append([arr])
        return parts if ok else None
    if gtype == "Polygon":
        rings = _rings(coords, index, None, ctx)
        return None if rings is None else [rings]
    parts = []
    for p, polygon in enumerate(coords):
        if not isinstance(polygon, list):
            ctx.add("a polygon must be an array of rings", feature=index, part=p)
            ok = False
            continue
        rings = _rings(polygon, index, p, ctx)
        if rings is None:
            ok = False
        else:
            parts.append(rings)
    return parts if ok else None


def _has_empty_leaf(coords, depth: int) -> bool:
    """True when the first-element chain ends in an empty list (depth was cut short)."""
    obj = coords
    for _ in range(depth - 1):
        obj = obj[0]
    return isinstance(obj, list) and not obj


def _rings(rings, index: int, part: int | None, ctx: _Context) -> list[np.ndarray] | None:
    if not rings:
        ctx.add("the polygon has no rings", feature=index, part=part)
        return None
    out = []
    ok = True
    for r, ring in enumerate(rings):
        arr = _positions(ring, index, part, r, ctx)
        if arr is None:
            ok = False
            continue
        n = len(arr)
        if n < 4:
            ctx.add(
                f"the ring has {n} position(s); a closed ring needs at least 4 (the first "
                "position repeated at the end)",
                feature=index,
                part=part,
                ring=r,
            )
            ok = False
            continue
        if not (arr[0, 0] == arr[-1, 0] and arr[0, 1] == arr[-1, 1]):
            ctx.add(
                f"the ring is not closed: it starts at ({arr[0, 0]:.10g}, {arr[0, 1]:.10g}) "
                f"and ends at ({arr[-1, 0]:.10g}, {arr[-1, 1]:.10g}); repeat the first "
                "position at the end",
                feature=index,
                part=part,
                ring=r,
                vertex=n - 1,
            )
            ok = False
            continue
        out.append(arr)
    return out if ok else None


def _is_number(v) -> bool:
    t = type(v)
    return t is float or t is int


def _ok_position(p) -> bool:
    # type() rather than isinstance(): bool is an int subclass and JSON true is no number.
    if type(p) is not list:
        return False
    n = len(p)
    if n == 2:
        return _is_number(p[0]) and _is_number(p[1])
    return n == 3 and _is_number(p[0]) and _is_number(p[1]) and _is_number(p[2])


def _positions(
    seq,
    index: int,
    part: int | None,
    ring: int | None,
    ctx: _Context,
    *,
    single: bool = False,
) -> np.ndarray | None:
    """Check a list of positions ([x, y] or [x, y, z] numbers); return an (n, 2) array.

    Fast path: one pass of type checks in Python, then numpy for finiteness. Only when
    that fails is each position examined to name the bad vertex.
    """
    where = {"feature": index, "part": part, "ring": ring}
    if not isinstance(seq, list):
        ctx.add("expected an array of positions [[x, y], ...]", **where)
        return None
    ctx.count(len(seq))
    if all(map(_ok_position, seq)):
        try:
            arr = np.array([p[:2] for p in seq], dtype=np.float64).reshape(-1, 2)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all():
            return arr
    # Slow path: name every bad vertex.
    bad = False
    for v, p in enumerate(seq):
        vertex = None if single else v
        if not isinstance(p, list):
            ctx.add("a position must be an array [x, y]", vertex=vertex, **where)
            bad = True
            continue
        if not 2 <= len(p) <= 3:
            ctx.add(
                f"a position must have 2 or 3 numbers [x, y(, z)]; found {len(p)}",
                vertex=vertex,
                **where,
            )
            bad = True
            continue
        for value in p:
            if isinstance(value, list):
                message = "a coordinate must be a number; found an array (nested too deeply)"
            elif not _is_number(value):
                found = "true/false" if isinstance(value, bool) else type(value).__name__
                if isinstance(value, str):
                    found = f"the string '{crs_mod._shown(value, 20)}'"
                elif value is None:
                    found = "null"
                message = f"a coordinate must be a number; found {found}"
            elif not _finite(value):
                message = (
                    f"coordinate {value} is not a finite number (NaN and Infinity are refused)"
                )
            else:
                continue
            ctx.add(message, vertex=vertex, **where)
            bad = True
            break
    if bad:
        return None
    return np.array([p[:2] for p in seq], dtype=np.float64).reshape(-1, 2)


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


# --- WKT ---------------------------------------------------------------------------------

_WKT_TOKEN = re.compile(
    r"\s*(?:(?P<word>[A-Za-z_]+)|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<punct>[(),;=])|(?P<other>\S))"
)
# Parenthesis depth of each WKT type's coordinates (MULTIPOLYGON (((x y, ...))) is 3).
_WKT_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
}
_WKT_MAX_PAREN_DEPTH = 3


class _WKTError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


class _Tokens:
    """Lazy WKT tokenizer with one token of lookahead (memory stays bounded by progress)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._peeked: tuple[str, str, int] | None = None

    def peek(self) -> tuple[str, str, int] | None:
        if self._peeked is None:
            m = _WKT_TOKEN.match(self.text, self.pos)
            if m is None:  # only whitespace is left
                return None
            kind = m.lastgroup
            self._peeked = (kind, m.group(kind), m.start(kind))
            self.pos = m.end()
        return self._peeked

    def next(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise _WKTError("unexpected end of WKT", len(self.text))
        self._peeked = None
        return token


def _wkt_shapes(text: str, ctx: _Context) -> list[_Shape]:
    """Parse one or more WKT geometries (separated by whitespace or ';')."""
    shapes: list[_Shape] = []
    tokens = _Tokens(text)
    index = 0
    while True:
        token = tokens.peek()
        if token is None:
            break
        if token[1] == ";":
            tokens.next()
            continue
        try:
            gtype, coords = _wkt_geometry(tokens, ctx)
        except _WKTError as exc:
            line = text.count("\n", 0, exc.pos) + 1
            col = exc.pos - (text.rfind("\n", 0, exc.pos) + 1) + 1
            ctx.add(f"invalid WKT at line {line}, column {col}: {exc.message}", feature=index)
            return shapes
        if ctx.allowed is not None and gtype not in ctx.allowed:
            ctx.add(
                f"geometry type {gtype} is not allowed here; expected "
                + " or ".join(t for t in GEOMETRY_TYPES if t in ctx.allowed),
                feature=index,
            )
        else:
            parts = _coordinates(gtype, coords, index, ctx)
            if parts is not None:
                shapes.append(_Shape(gtype, parts, index, {}))
        index += 1
    return shapes


def _wkt_geometry(tokens: _Tokens, ctx: _Context) -> tuple[str, list]:
    kind, value, pos = tokens.next()
    if kind != "word":
        raise _WKTError(f"expected a geometry type, found '{crs_mod._shown(value, 20)}'", pos)
    upper = value.upper()
    if upper == "SRID":
        raise _WKTError(
            "EWKT 'SRID=…;' prefixes are not accepted; pass the CRS separately (e.g. EPSG:4490)",
            pos,
        )
    if upper == "GEOMETRYCOLLECTION":
        raise _WKTError(
            "GEOMETRYCOLLECTION is not supported; send one geometry per feature or a MULTI* "
            "geometry",
            pos,
        )
    if upper not in _WKT_TYPES:
        raise _WKTError(f"unknown geometry type '{crs_mod._shown(value, 30)}'", pos)
    gtype = _WKT_TYPES[upper]
    dims = 2
    kind, value, pos = tokens.next()
    if kind == "word" and value.upper() == "Z":
        dims = 3
        kind, value, pos = tokens.next()
    elif kind == "word" and value.upper() in ("M", "ZM"):
        raise _WKTError(f"{value.upper()} coordinates are not supported; send x y or x y z", pos)
    if kind == "word" and value.upper() == "EMPTY":
        raise _WKTError(f"the {gtype} is empty", pos)
    if value != "(":
        raise _WKTError(f"expected '(' after {upper}", pos)
    # Iterative parse of nested parentheses into nested lists; the depth is bounded, and
    # positions are counted as they are read so huge input stops at max_vertices.
    root: list = [[]]
    stack: list[list] = [root, root[0]]
    position: list[float] | None = None
    while len(stack) > 1:
        kind, value, pos = tokens.next()
        if value == "(":
            if position is not None:
                raise _WKTError("expected ',' or ')' before '('", pos)
            if len(stack) > _WKT_MAX_PAREN_DEPTH:
                raise _WKTError(
                    f"parentheses are nested deeper than {_WKT_MAX_PAREN_DEPTH} levels", pos
                )
            child: list = []
            stack[-1].append(child)
            stack.append(child)
        elif kind == "num":
            if position is None:
                position = []
                stack[-1].append(position)
                ctx.count(1)
            if len(position) >= dims:
                raise _WKTError(f"a position has more than {dims} numbers (missing ',')", pos)
            number = float(value)
            if not math.isfinite(number):
                raise _WKTError(f"number {crs_mod._shown(value, 30)} is not finite", pos)
            position.append(number)
        elif value in (",", ")"):
            if position is not None and len(position) < 2:
                raise _WKTError("a position needs x and y", pos)
            position = None
            if value == ")":
                stack.pop()
        elif kind == "word":
            raise _WKTError(
                f"unexpected '{crs_mod._shown(value, 20)}' (coordinates must be finite numbers)",
                pos,
            )
        else:
            raise _WKTError(f"unexpected '{crs_mod._shown(value, 20)}'", pos)
    coords = root[0]
    # WKT wraps points in one more level than GeoJSON; MULTIPOINT allows both forms.
    if gtype == "Point":
        if len(coords) != 1 or not isinstance(coords[0], list):
            raise _WKTError("a POINT has exactly one position", pos)
        coords = coords[0]
    elif gtype == "MultiPoint":
        coords = [
            c[0] if len(c) == 1 and isinstance(c[0], list) and isinstance(c[0][0], float) else c
            for c in coords
        ]
    return gtype, coords


# --- 界址点坐标 (boundary-point lists) ------------------------------------------------------

_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"\d{1,6}")
# Attribute-line fields of the 国土资源部 coordinate exchange format ("…,@" lines).
_PARCEL_FIELDS = (
    "界址点数",
    "地块面积",
    "地块编号",
    "地块名称",
    "记录图形属性",
    "图幅号",
    "地块用途",
    "地类编码",
)


@dataclass
class _Point:
    name: str
    a: float
    b: float
    line: int


@dataclass
class _Ring:
    points: list[_Point]
    ring_no: str | None


@dataclass
class _Parcel:
    rings: list[_Ring] = field(default_factory=list)
    properties: dict = field(default_factory=dict)
    line: int = 0


def _split_fields(line: str) -> list[str]:
    line = line.replace("，", ",").replace("；", ",").replace(";", ",")
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return line.split()


def parse_boundary_points(text: str, *, max_vertices: int = DEFAULT_MAX_VERTICES) -> list:
    """Parse a 界址点坐标 list; same as ``parse_features(text, fmt="coordinates")``.

    Format: one point per line, ``point_no, x, y`` or ``point_no, ring_no, x, y``, the
    fields separated by commas (also the full-width ，), tabs or spaces. ``#`` starts a
    comment; one header line (e.g. ``点号,X,Y``) may precede the data. A blank line or a
    change of ``ring_no`` ends a ring. Every ring must close: surveyors repeat the first
    point (J1) at the end. A ring inside the previous outer ring is a hole of it; any other
    ring starts a new polygon part. The 国土资源部 exchange format is understood too:
    ``[属性描述]`` key=value lines are skipped, and each ``…,@`` attribute line starts a
    new parcel (feature) whose fields become its properties.

    Axis order: surveying coordinates (测量坐标系) list X = northing first, Y = easting
    second, so by default the pair is swapped into (easting, northing). The order is
    accepted as (easting, northing) only when the magnitudes make it unambiguous: in China a
    Gauss–Krüger northing has 7 digits, an easting 6 (or 8 with the zone prefix); for
    longitude/latitude the longitude is the larger number. Mixed orders are an error. Each
    feature's ``notes`` records the decision.
    """
    return parse_features(text, fmt="coordinates", max_vertices=max_vertices)


def _boundary_point_shapes(text: str, ctx: _Context) -> list[_Shape]:
    parcels: list[_Parcel] = []
    parcel: _Parcel | None = None
    ring: _Ring | None = None
    header_seen = False
    data_seen = False
    in_metadata = False

    def close_ring() -> None:
        nonlocal ring, parcel
        if ring is not None and ring.points:
            if parcel is None:
                parcel = _Parcel()
                parcels.append(parcel)
            parcel.rings.append(ring)
        ring = None

    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            close_ring()
            continue
        if line.startswith("[") and line.endswith("]"):
            close_ring()
            in_metadata = line == "[属性描述]"
            continue
        if in_metadata:
            continue
        fields = _split_fields(line)
        if fields[-1] == "@":
            close_ring()
            parcel = _Parcel(line=line_no)
            parcels.append(parcel)
            attrs = fields[:-1]
            for key, value in zip(_PARCEL_FIELDS, attrs, strict=False):
                if value != "":
                    parcel.properties[key] = value
            if len(attrs) > len(_PARCEL_FIELDS):
                parcel.properties["其他"] = attrs[len(_PARCEL_FIELDS) :]
            data_seen = True
            continue
        if (
            len(fields) in (3, 4)
            and _NUMBER.fullmatch(fields[-1])
            and _NUMBER.fullmatch(fields[-2])
        ):
            ring_no = fields[1] if len(fields) == 4 else None
            if ring_no is not None and not _INTEGER.fullmatch(ring_no):
                ctx.add(
                    f"ring number '{crs_mod._shown(ring_no, 20)}' is not an integer", line=line_no
                )
                continue
            a, b = float(fields[-2]), float(fields[-1])
            if not (math.isfinite(a) and math.isfinite(b)):
                ctx.add("coordinates must be finite numbers", line=line_no)
                continue
            if not fields[0]:
                ctx.add("the point number is missing", line=line_no)
                continue
            if ring is not None and ring_no != ring.ring_no:
                close_ring()
            if ring is None:
                ring = _Ring([], ring_no)
            ctx.count(1)
            ring.points.append(_Point(fields[0], a, b, line_no))
            data_seen = True
            continue
        if not data_seen and not header_seen and "=" not in line:
            header_seen = True
            continue
        if not data_seen and "=" in line:
            continue  # key=value metadata outside a [属性描述] section
        ctx.add(
            "expected 'point_no, x, y' or 'point_no, ring_no, x, y' with numeric x and y; "
            f"found {len(fields)} field(s): '{crs_mod._shown(line, 60)}'",
            line=line_no,
        )
    close_ring()
    parcels = [p for p in parcels if p.rings]
    if ctx.problems or not parcels:
        if not parcels and not ctx.problems:
            ctx.add("no boundary points found; expected lines 'point_no, x, y'")
        return []
    swap, note = _axis_order(parcels, ctx)
    if ctx.problems:
        return []
    shapes = []
    for index, parcel in enumerate(parcels):
        shape = _parcel_shape(parcel, index, swap, ctx)
        if shape is not None:
            shape.notes.append(note)
            shapes.append(shape)
    return shapes


def _looks_easting(v: float) -> bool:
    if 100_000 <= v < 1_000_000:
        return True
    return 13_000_000 <= v < 46_000_000 and 100_000 <= v % 1_000_000 < 900_000


def _looks_northing(v: float) -> bool:
    return 1_000_000 <= v < 10_000_000


def _axis_order(parcels: list[_Parcel], ctx: _Context) -> tuple[bool, str]:
    """Decide whether (a, b) is (northing, easting) — swap — or (easting, northing)."""
    first_en: _Point | None = None
    first_ne: _Point | None = None
    degrees = True
    for parcel in parcels:
        for ring in parcel.rings:
            for p in ring.points:
                if abs(p.a) > 180 or abs(p.b) > 180:
                    degrees = False
    for parcel in parcels:
        for ring in parcel.rings:
            for p in ring.points:
                if degrees:
                    en = p.a > p.b  # longitude > latitude everywhere in China
                    ne = p.a < p.b
                else:
                    en = _looks_easting(p.a) and _looks_northing(p.b)
                    ne = _looks_northing(p.a) and _looks_easting(p.b)
                if en and not ne and first_en is None:
                    first_en = p
                if ne and not en and first_ne is None:
                    first_ne = p
    if first_en is not None and first_ne is not None:
        ctx.add(
            f"the axis order is mixed: line {first_ne.line} lists X (northing) first but line "
            f"{first_en.line} lists the easting first; use one order for the whole list",
            line=first_en.line,
        )
        return False, ""
    if first_en is not None:
        what = "longitude, latitude" if degrees else "easting, northing"
        first = what.split(",")[0]
        return False, f"coordinates read as ({what}): the magnitudes show the first is the {first}"
    what = "latitude, longitude" if degrees else "X = northing, Y = easting"
    return True, f"coordinates read as ({what}) (surveying convention) and swapped to x, y"


def _parcel_shape(parcel: _Parcel, index: int, swap: bool, ctx: _Context) -> _Shape | None:
    ok = True
    arrays: list[tuple[np.ndarray, _Ring]] = []
    for r, ring in enumerate(parcel.rings):
        pts = ring.points
        first, last = pts[0], pts[-1]
        label = f"ring {ring.ring_no}" if ring.ring_no is not None else f"ring {r + 1}"
        span = f"lines {first.line}–{last.line}"
        if len(pts) < 4:
            ctx.add(
                f"{label} ({span}) has {len(pts)} point(s); a closed ring needs at least 4, "
                f"the first point ({first.name}) repeated at the end",
                feature=index,
                line=first.line,
            )
            ok = False
            continue
        if (first.a, first.b) != (last.a, last.b):
            if first.name == last.name:
                message = (
                    f"{label} ({span}) ends at {last.name} with coordinates that differ from "
                    f"its first point {first.name} (line {first.line})"
                )
            else:
                message = (
                    f"{label} ({span}) is not closed: it starts at {first.name} and ends at "
                    f"{last.name}; repeat {first.name} as the last point"
                )
            ctx.add(message, feature=index, line=last.line)
            ok = False
            continue
        coords = np.array([(p.b, p.a) if swap else (p.a, p.b) for p in pts], dtype=np.float64)
        arrays.append((coords, ring))
    if not ok:
        return None
    # Group rings: a ring inside the current part's shell is a hole, else a new part.
    parts: list[list[np.ndarray]] = []
    lines: dict[tuple[int, int], list[int]] = {}
    shell_polygon = None
    for coords, ring in arrays:
        candidate = shapely.Polygon(coords)
        if shell_polygon is not None and _covers(shell_polygon, candidate):
            parts[-1].append(coords)
        else:
            parts.append([coords])
            shell_polygon = candidate
            shapely.prepare(shell_polygon)
        lines[(len(parts) - 1, len(parts[-1]) - 1)] = [p.line for p in ring.points]
    gtype = "MultiPolygon" if len(parts) > 1 else "Polygon"
    return _Shape(gtype, parts, index, dict(parcel.properties), lines=lines)


def _covers(shell, ring_polygon) -> bool:
    try:
        return bool(shapely.covers(shell, ring_polygon))
    except shapely.errors.GEOSException:
        return False


# --- building and validity ---------------------------------------------------------------


def _build_one(shape: _Shape) -> BaseGeometry:
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


def _build(shapes: list[_Shape], repair: bool, problems: ProblemCollector) -> list[ParsedFeature]:
    """Build the shapes' geometries, check validity (repairing if asked); problems are
    added to ``problems`` and the caller raises."""
    geoms = np.empty(len(shapes), dtype=object)
    for i, shape in enumerate(shapes):
        geoms[i] = _build_one(shape)
    valid = shapely.is_valid(geoms) if len(geoms) else np.empty(0, dtype=bool)
    features = []
    for i, shape in enumerate(shapes):
        geom = geoms[i]
        repaired = False
        notes = list(shape.notes)
        if not valid[i]:
            reason = shapely.is_valid_reason(geom)
            if repair:
                fixed = _repair(geom, shape.polygonal)
                if fixed is None:
                    problems.add(
                        f"the geometry is invalid ({reason}) and repairing it leaves nothing "
                        "of its type",
                        feature=shape.index,
                    )
                    continue
                geom = fixed
                repaired = True
                notes.append(f"repaired with make_valid: {reason}")
            else:
                _report_invalid(shape, geom, reason, problems)
                continue
        features.append(
            ParsedFeature(
                geometry=geom,
                properties=shape.properties,
                index=shape.index,
                repaired=repaired,
                feature_id=shape.feature_id,
                notes=notes,
            )
        )
    return features


def _repair(geom: BaseGeometry, polygonal: bool) -> BaseGeometry | None:
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


def _report_invalid(shape: _Shape, geom: BaseGeometry, reason: str, problems: ProblemCollector):
    m = _REASON_POINT.match(reason or "")
    if not m:
        problems.add(f"the geometry is invalid: {reason}; {_REPAIR_HINT}", feature=shape.index)
        return
    text, xs, ys = m.group(1), m.group(2), m.group(3)
    try:
        x, y = float(xs), float(ys)
    except ValueError:
        x = y = float("nan")
    if not (math.isfinite(x) and math.isfinite(y)):
        problems.add(f"the geometry is invalid: {text}; {_REPAIR_HINT}", feature=shape.index)
        return
    part, ring, vertex = _nearest_vertex(shape, x, y)
    line = None
    if shape.lines is not None and (part, ring) in shape.lines:
        line = shape.lines[(part, ring)][vertex]
    problems.add(
        f"{text} at ({x:.10g}, {y:.10g}), near vertex {vertex}; {_REPAIR_HINT}",
        feature=shape.index,
        part=part if shape.multi else None,
        ring=ring if shape.polygonal else None,
        vertex=vertex,
        line=line,
    )


def _nearest_vertex(shape: _Shape, x: float, y: float) -> tuple[int, int, int]:
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


# --- CRS checks and storage --------------------------------------------------------------


def locate_vertex(geom: BaseGeometry, flat_index: int) -> tuple[int | None, int | None, int]:
    """(part, ring, vertex) of the ``flat_index``-th coordinate of ``geom`` in the order of
    shapely.get_coordinates; part is None for single geometries, ring None for non-polygons."""
    gtype = geom.geom_type
    multi = gtype.startswith("Multi")
    parts = shapely.get_parts(geom) if multi else [geom]
    offset = 0
    for p, part in enumerate(parts):
        rings = [part.exterior, *part.interiors] if part.geom_type == "Polygon" else [part]
        for r, ring in enumerate(rings):
            n = shapely.get_num_coordinates(ring)
            if flat_index < offset + n:
                return (
                    p if multi else None,
                    r if part.geom_type == "Polygon" else None,
                    flat_index - offset,
                )
            offset += n
    return None, None, flat_index


def validate_in_crs(features: Sequence[ParsedFeature], crs: CRSInfo) -> None:
    """Check the features' coordinates against ``crs``: Gauss–Krüger eastings must carry the
    declared zone (or no prefix, for the unprefixed CRSs) and every vertex must lie in the
    CRS's area of use (see :func:`planfuse.geo.crs.area_of_use_bounds`).

    Raises :class:`CoordinateRangeError` with one problem per feature and kind of mistake,
    naming its first bad vertex, the count of others, and the CRS to use instead.
    """
    if not features:
        return
    geoms = np.array([f.geometry for f in features], dtype=object)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    if len(coords) == 0:
        return
    starts = np.searchsorted(owner, np.arange(len(features)))
    problems = ProblemCollector()
    x, y = coords[:, 0], coords[:, 1]
    bad_easting = np.asarray(crs_mod.check_gk_eastings(x, crs), dtype=np.int64)
    bad_area = np.asarray(crs_mod.check_area_of_use(x, y, crs), dtype=np.int64)
    # An easting with the wrong zone is also outside the area; report the easting only.
    if bad_easting.size:
        bad_area = np.setdiff1d(bad_area, bad_easting, assume_unique=True)
    for bad, describe in (
        (bad_easting, lambda i: crs_mod.describe_easting(x[i], crs)),
        (bad_area, lambda i: crs_mod.describe_out_of_area(x[i], y[i], crs)),
    ):
        if not bad.size:
            continue
        feats, first = np.unique(owner[bad], return_index=True)
        counts = np.bincount(owner[bad], minlength=len(features))
        for f, k in zip(feats.tolist(), first.tolist(), strict=True):
            i = int(bad[k])
            part, ring, vertex = locate_vertex(features[f].geometry, i - int(starts[f]))
            message = describe(i) or "the coordinate is out of range"
            others = int(counts[f]) - 1
            if others:
                message += f" (and {others} more vertices of this feature)"
            problems.add(message, feature=features[f].index, part=part, ring=ring, vertex=vertex)
    problems.raise_if_any(CoordinateRangeError)


def to_storage(
    features: Sequence[ParsedFeature],
    crs: CRSInfo,
    datum_shifts: Mapping[str, Sequence[float]] | None = None,
    *,
    validate: bool = True,
) -> list[BaseGeometry]:
    """Reproject the features' geometries from ``crs`` to storage (EPSG:4490 lon/lat
    degrees), after :func:`validate_in_crs` (unless ``validate=False``).

    Validity is checked again after the transformation (reprojection can make nearly
    touching rings cross); features that were repaired on input are repaired again, others
    are refused with :class:`GeometryInputError`.
    """
    if not features:
        return []
    if validate:
        validate_in_crs(features, crs)
    storage = crs_mod.resolve_crs(crs_mod.STORAGE_CRS_KEY)
    geoms = np.array([f.geometry for f in features], dtype=object)
    out = crs_mod.transform_geometry(geoms, crs, storage, datum_shifts)
    if out is geoms:
        out = geoms.copy()
    valid = shapely.is_valid(out)
    problems = ProblemCollector()
    for i in np.flatnonzero(~valid).tolist():
        feature = features[i]
        polygonal = feature.geometry.geom_type in POLYGONAL_TYPES
        fixed = _repair(out[i], polygonal) if feature.repaired else None
        if fixed is not None:
            out[i] = fixed
            continue
        problems.add(
            f"the geometry becomes invalid when reprojected to {storage.key}: "
            f"{shapely.is_valid_reason(out[i])}; {_REPAIR_HINT}",
            feature=feature.index,
        )
    problems.raise_if_any()
    return list(out)
