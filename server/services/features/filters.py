"""Filters and sorting over a layer's features, compiled into Python predicates: what
OGC API – Features' CQL2 `filter`/`sortby` (`planfuse.ogc.cql`) and WFS's FES 2.0 `FILTER`/
`SORTBY` (`planfuse.ows.fes`) share, so that both interfaces answer a condition alike.

A parser (pygeofilter's CQL2 or FES one) gives a pygeofilter AST; `compile_filter` turns it
into a **predicate** over a feature's properties, id, district and geometry — never SQL —
and what may narrow the store's own bound query (`query_features`): the top-level `AND`
terms that are an equality of a property with a text, and a spatial term. Every candidate
the store reads is then tested with the full predicate. Mistakes are `InvalidInput` errors
whose `field` is the parameter the caller named (`filter`, `FILTER`, `sortby`, …).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from pygeofilter import ast, values

from planfuse.errors import InvalidInput
from planfuse.geo.crs import CRSInfo, get_transformer
from planfuse.services.features.store import BBoxQuery, FeatureRow

GEOMETRY_NAMES = ("geometry", "geom")
MAX_DEPTH = 40
MAX_SORT_KEYS = 5
#: A filtered or sorted request tests at most this many candidate features (what the
#: store's bound query leaves); a broader one is refused with a hint to narrow it.
MAX_SCANNED = 100_000

_SPATIAL: dict[type, Callable[[Any, Any], Any]] = {
    ast.GeometryIntersects: shapely.intersects,
    ast.GeometryDisjoint: shapely.disjoint,
    ast.GeometryWithin: shapely.within,
    ast.GeometryContains: shapely.contains,
    ast.GeometryTouches: shapely.touches,
    ast.GeometryOverlaps: shapely.overlaps,
    ast.GeometryCrosses: shapely.crosses,
    ast.GeometryEquals: shapely.equals,
}
# Every spatial relation but disjointness implies intersection: the store may narrow by it.
_NARROWING = frozenset(set(_SPATIAL) - {ast.GeometryDisjoint})
#: Distance units a DWithin/Beyond may give, in metres (FES `uom`: names, UCUM codes and the
#: EPSG unit URNs). Degrees are refused: a degree is no fixed number of metres.
DISTANCE_UNITS_M = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "urn:ogc:def:uom:epsg::9001": 1.0, "http://www.opengis.net/def/uom/epsg/0/9001": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0,
    "kilometres": 1000.0, "urn:ogc:def:uom:epsg::9036": 1000.0,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "[ft_i]": 0.3048,
    "mi": 1609.344, "mile": 1609.344, "miles": 1609.344, "[mi_i]": 1609.344,
}  # fmt: skip
#: The largest distance a DWithin may ask (m): beyond it, "within" is most of a city.
MAX_DISTANCE_M = 100_000.0
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Equal: lambda a, b: a == b,
    ast.NotEqual: lambda a, b: a != b,
    ast.LessThan: lambda a, b: a < b,
    ast.LessEqual: lambda a, b: a <= b,
    ast.GreaterThan: lambda a, b: a > b,
    ast.GreaterEqual: lambda a, b: a >= b,
}
_SORT_KEY = re.compile(r"^([+-]?)([A-Za-z_][A-Za-z0-9_.:-]{0,63})$")

Row = FeatureRow
Predicate = Callable[[Row], bool]


def _bad(parameter: str, detail: str, code: str = "invalid_filter", **where: Any) -> InvalidInput:
    return InvalidInput(
        detail,
        code=code,
        title="Invalid filter" if parameter.lower().startswith("filter") else "Invalid request",
        errors=[{"field": parameter, "message": detail, **where}],
    )


@dataclass
class Filter:
    """A compiled filter: the predicate every candidate is tested with, and what may narrow
    the candidates in the store (property equalities as text, a spatial query geometry)."""

    predicate: Predicate
    equalities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    spatial: BBoxQuery | None = None


def compile_filter(
    node: Any,
    known: Sequence[str],
    crs: CRSInfo,
    *,
    parameter: str = "filter",
    properties_hint: str = "GET …/queryables lists them",
) -> Filter:
    """Compile a pygeofilter AST whose geometry literals are in `crs` (in its axis order);
    `known` are the property names it may use besides the geometry, `fid` and `district`.
    Errors name `parameter`; an unknown property's message adds `properties_hint`."""
    compiler = _Compiler(set(known), crs, parameter, properties_hint)
    predicate = compiler.compile(node, 0)
    equalities, spatial = compiler.prefilters(node)
    return Filter(predicate, equalities, spatial)


# --- compiling -----------------------------------------------------------------------------


class _Compiler:
    def __init__(self, known: set[str], crs: CRSInfo, parameter: str, properties_hint: str):
        self.known = known
        self.crs = crs
        self.parameter = parameter
        self.properties_hint = properties_hint

    # Values: a function of the row.

    def value(self, node: Any) -> Callable[[Row], Any]:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if isinstance(node, ast.Function):
            name = node.name.lower()
            if name in ("lower", "casei") and len(node.arguments) == 1:
                inner = self.value(node.arguments[0])

                def lowered(row: Row) -> Any:
                    got = inner(row)
                    return got.lower() if isinstance(got, str) else got

                return lowered
            raise _bad(self.parameter, f"function {node.name[:32]!r} is not supported; use CASEI "
                       "or the comparison and spatial operators")  # fmt: skip
        if isinstance(node, bool | int | float | str) or node is None:
            return lambda row: node
        if isinstance(node, ast.Node):
            raise _bad(self.parameter, f"{type(node).__name__} is not supported in a comparison "
                       "(no arithmetic or temporal values)")  # fmt: skip
        raise _bad(self.parameter, f"the value {str(node)[:40]!r} is not supported here")

    def attribute(self, name: str) -> Callable[[Row], Any]:
        if name in GEOMETRY_NAMES:
            raise _bad(
                self.parameter, f"{name} can only be used in a spatial function (S_INTERSECTS…)"
            )
        if name == "fid":
            return lambda row: row.fid
        if name == "district":
            return lambda row: row.district
        if name not in self.known:
            listed = ", ".join(sorted(self.known | {"fid", "district"}))
            raise _bad(
                self.parameter,
                f"unknown property {name[:64]!r} in the filter; {self.properties_hint}: {listed}",
                code="unknown_property",
                property=name[:64],
            )
        return lambda row: row.properties.get(name)

    def geometry(self, node: Any) -> shapely.Geometry:
        """A literal geometry in storage coordinates (lon/lat on CGCS2000)."""
        if isinstance(node, values.Geometry):
            try:
                geom = shapely.geometry.shape(node.geometry)
            except Exception:
                raise _bad(self.parameter, "a geometry in the filter is malformed") from None
        elif isinstance(node, values.Envelope):
            # pygeofilter keeps a cql2-json bbox in its order: minx, miny, maxx, maxy.
            geom = self._box([node.x1, node.x2, node.y1, node.y2])
        elif isinstance(node, ast.Function) and node.name.lower() == "bbox":
            geom = self._box(list(node.arguments))
        else:
            raise _bad(self.parameter, "a spatial function compares the geometry with a geometry "
                       "literal (WKT, GeoJSON or BBOX)")  # fmt: skip
        if geom.is_empty:
            raise _bad(self.parameter, "a geometry in the filter is empty")
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            raise _bad(self.parameter, f"a geometry in the filter is not valid: {reason}")
        return self._to_storage(geom)

    def _box(self, numbers: list[Any]) -> shapely.Geometry:
        if len(numbers) == 6:
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        if len(numbers) != 4 or not all(
            isinstance(n, int | float) and math.isfinite(n) for n in numbers
        ):
            raise _bad(self.parameter, "BBOX takes 4 numbers: minx, miny, maxx, maxy")
        a0, b0, a1, b1 = (float(n) for n in numbers)
        if a0 > a1 or b0 > b1:
            raise _bad(self.parameter, "BBOX has a minimum above its maximum; lower corner first")
        return shapely.box(a0, b0, a1, b1)

    def _to_storage(self, geom: shapely.Geometry) -> shapely.Geometry:
        info = self.crs
        if info.first_axis_north:
            geom = shapely.transform(geom, lambda c: c[:, ::-1])
        if info.key not in ("OGC:CRS84", "EPSG:4490", "EPSG:4326"):
            transformer = get_transformer(info.key, "EPSG:4490")

            def apply(coords):
                lon, lat = transformer(coords[:, 0], coords[:, 1])
                return shapely.get_coordinates(shapely.points(lon, lat))

            geom = shapely.transform(geom, apply)
        if info.degrees:
            x0, y0, x1, y1 = geom.bounds
            if x0 < -180 or x1 > 180 or y0 < -90 or y1 > 90:
                order = "lat,lon" if info.first_axis_north else "lon,lat"
                raise _bad(self.parameter, f"a geometry in the filter lies outside the world for "
                           f"{info.key} (axis order {order}); check filter-crs and the axis "
                           "order")  # fmt: skip
        return geom

    # Predicates.

    def compile(self, node: Any, depth: int) -> Predicate:
        if depth > MAX_DEPTH:
            raise _bad(self.parameter, f"the filter nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, ast.And):
            lhs, rhs = self.compile(node.lhs, depth + 1), self.compile(node.rhs, depth + 1)
            return lambda row: lhs(row) and rhs(row)
        if isinstance(node, ast.Or):
            lhs, rhs = self.compile(node.lhs, depth + 1), self.compile(node.rhs, depth + 1)
            return lambda row: lhs(row) or rhs(row)
        if isinstance(node, ast.Not):
            inner = self.compile(node.sub_node, depth + 1)
            return lambda row: not inner(row)
        if type(node) in _COMPARE:
            return self._comparison(node)
        if isinstance(node, ast.Like):
            return self._like(node)
        if isinstance(node, ast.In):
            return self._in(node)
        if isinstance(node, ast.Between):
            return self._between(node)
        if isinstance(node, ast.IsNull):
            value = self.value(node.lhs)
            negate = node.not_
            return lambda row: (value(row) is None) != negate
        if type(node) in _SPATIAL:
            return self._spatial(node)
        if isinstance(node, ast.DistanceWithin | ast.DistanceBeyond):
            return self._distance(node)
        if isinstance(node, bool):
            return lambda row: node
        name = type(node).__name__ if isinstance(node, ast.Node) else repr(node)[:40]
        raise _bad(self.parameter, f"{name} is not supported in a filter (temporal and array "
                   "operators are not offered)")  # fmt: skip

    def _comparison(self, node: Any) -> Predicate:
        lhs, rhs = self.value(node.lhs), self.value(node.rhs)
        op = _COMPARE[type(node)]

        def test(row: Row) -> bool:
            a, b = _comparable(lhs(row), rhs(row))
            if a is None or b is None:
                return False
            try:
                return bool(op(a, b))
            except TypeError:
                return False

        return test

    def _like(self, node: ast.Like) -> Predicate:
        value = self.value(node.lhs)
        if not isinstance(node.pattern, str):
            raise _bad(self.parameter, "LIKE takes a text pattern")
        regex = _like_regex(node.pattern, node.nocase)
        negate = node.not_

        def test(row: Row) -> bool:
            got = value(row)
            if got is None:
                return False
            return bool(regex.fullmatch(str(got))) != negate

        return test

    def _in(self, node: ast.In) -> Predicate:
        value = self.value(node.lhs)
        options = [self.value(v) for v in node.sub_nodes]
        negate = node.not_

        def test(row: Row) -> bool:
            got = value(row)
            if got is None:
                return False
            hit = any(_equal(got, option(row)) for option in options)
            return hit != negate

        return test

    def _between(self, node: ast.Between) -> Predicate:
        value, low, high = self.value(node.lhs), self.value(node.low), self.value(node.high)
        negate = node.not_

        def test(row: Row) -> bool:
            a, lo = _comparable(value(row), low(row))
            b, hi = _comparable(value(row), high(row))
            if None in (a, lo, b, hi):
                return False
            try:
                return (lo <= a and b <= hi) != negate
            except TypeError:
                return False

        return test

    def _spatial(self, node: Any) -> Predicate:
        function = _SPATIAL[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if _is_geometry_property(rhs) and not _is_geometry_property(lhs):
            lhs, rhs = rhs, lhs
            function = {shapely.within: shapely.contains, shapely.contains: shapely.within}.get(
                function, function
            )
        if not _is_geometry_property(lhs):
            raise _bad(self.parameter, "a spatial function compares the feature's geometry "
                       f"({GEOMETRY_NAMES[0]}) with a geometry literal")  # fmt: skip
        literal = self.geometry(rhs)
        shapely.prepare(literal)
        cache: dict[int, shapely.Geometry] = {}

        def test(row: Row) -> bool:
            geom = cache.get(row.fid)
            if geom is None:
                geom = cache[row.fid] = shapely.from_wkb(row.geom)
            return bool(function(geom, literal))

        return test

    def distance_m(self, node: Any) -> float:
        """A DWithin/Beyond distance in metres (refused when negative, too large, or in
        degrees or an unknown unit)."""
        unit = str(node.units or "m").strip().lower()
        if unit not in DISTANCE_UNITS_M:
            raise _bad(self.parameter, f"distance unit {unit[:40]!r} is not supported; give the "
                       "distance in m or km (degrees are not a distance)")  # fmt: skip
        try:
            metres = float(node.distance) * DISTANCE_UNITS_M[unit]
        except (TypeError, ValueError):
            raise _bad(self.parameter, "a distance is a number") from None
        if not (math.isfinite(metres) and 0 <= metres <= MAX_DISTANCE_M):
            raise _bad(self.parameter, f"a distance is from 0 to {MAX_DISTANCE_M:,.0f} m")
        return metres

    def _distance(self, node: Any) -> Predicate:
        """DWithin (distance ≤ d) or Beyond (> d), measured in metres: both geometries go
        to an azimuthal equidistant projection centred on the literal, where distances
        from it are true on the ellipsoid and nearly so around it."""
        lhs, rhs = node.lhs, node.rhs
        if _is_geometry_property(rhs) and not _is_geometry_property(lhs):
            lhs, rhs = rhs, lhs
        if not _is_geometry_property(lhs):
            raise _bad(self.parameter, "a distance test compares the feature's geometry "
                       f"({GEOMETRY_NAMES[0]}) with a geometry literal")  # fmt: skip
        metres = self.distance_m(node)
        literal = self.geometry(rhs)
        project = _local_metres(literal)
        near = project(literal)
        shapely.prepare(near)
        beyond = isinstance(node, ast.DistanceBeyond)

        def test(row: Row) -> bool:
            within = bool(shapely.dwithin(project(shapely.from_wkb(row.geom)), near, metres))
            return within != beyond

        return test

    # What narrows the store's candidates: top-level AND terms only.

    def prefilters(self, node: Any) -> tuple[dict[str, tuple[str, ...]], BBoxQuery | None]:
        equalities: dict[str, tuple[str, ...]] = {}
        spatial = None
        for term in _conjuncts(node):
            if isinstance(term, ast.Equal) and isinstance(term.lhs, ast.Attribute):
                if isinstance(term.rhs, str) and term.lhs.name not in equalities:
                    equalities[term.lhs.name] = (term.rhs,)
            elif isinstance(term, ast.In) and not term.not_:
                options = term.sub_nodes
                if isinstance(term.lhs, ast.Attribute) and all(isinstance(o, str) for o in options):
                    equalities.setdefault(term.lhs.name, tuple(dict.fromkeys(options)))
            elif spatial is None and type(term) in _NARROWING:
                literal = term.rhs if _is_geometry_property(term.lhs) else term.lhs
                spatial = BBoxQuery.from_geometry(self.geometry(literal), None)
            elif spatial is None and isinstance(term, ast.DistanceWithin):
                literal = term.rhs if _is_geometry_property(term.lhs) else term.lhs
                reach = _degrees_box(self.geometry(literal), self.distance_m(term))
                spatial = BBoxQuery.from_geometry(reach, None)
        equalities = {k: v for k, v in equalities.items() if k not in ("fid", *GEOMETRY_NAMES)}
        return equalities, spatial


def _local_metres(literal: shapely.Geometry) -> Callable[[shapely.Geometry], shapely.Geometry]:
    """EPSG:4490 geometries → metres in an azimuthal equidistant projection centred on
    `literal`."""
    from pyproj import Transformer

    centre = literal.centroid
    transformer = Transformer.from_crs(
        "EPSG:4490",
        f"+proj=aeqd +lat_0={centre.y} +lon_0={centre.x} +ellps=GRS80 +units=m",
        always_xy=True,
    )

    def project(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda x, y: transformer.transform(x, y), interleaved=False)

    return project


def _degrees_box(geom: shapely.Geometry, metres: float) -> shapely.Geometry:
    """A lon/lat box holding every point within `metres` of `geom` (with 10 % to spare; a
    degree of latitude is at least 110.5 km, of longitude that times cos(latitude))."""
    x0, y0, x1, y1 = geom.bounds
    dlat = metres * 1.1 / 110_500.0
    widest = max(abs(y0), abs(y1)) + dlat
    dlon = dlat / max(math.cos(math.radians(min(widest, 89.0))), 1e-6)
    return shapely.box(x0 - dlon, max(y0 - dlat, -90.0), x1 + dlon, min(y1 + dlat, 90.0))


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ast.And):
        return [*_conjuncts(node.lhs), *_conjuncts(node.rhs)]
    return [node]


def _is_geometry_property(node: Any) -> bool:
    return isinstance(node, ast.Attribute) and node.name in GEOMETRY_NAMES


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """The two sides as the same kind: numbers when either is a number, else text."""
    if a is None or b is None:
        return None, None
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower(), str(b).lower()
    if isinstance(a, int | float) or isinstance(b, int | float):
        return _number(a), _number(b)
    return str(a), str(b)


def _equal(a: Any, b: Any) -> bool:
    x, y = _comparable(a, b)
    return x is not None and x == y


def _like_regex(pattern: str, nocase: bool) -> re.Pattern[str]:
    """CQL2 LIKE: `%` any run of characters, `_` one character, `\\` escapes."""
    out = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append(re.escape(nxt))
        elif ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if nocase else 0))


# --- sorting -------------------------------------------------------------------------------


def parse_sortby(raw: str, known: Sequence[str]) -> list[tuple[str, bool]]:
    """`sortby=+code,-fid` → [(name, descending)]; names are properties, `fid` or
    `district`."""
    keys = []
    allowed = set(known) | {"fid", "district"}
    for part in (p.strip() for p in raw.split(",")):
        match = _SORT_KEY.match(part)
        if not match:
            raise _bad("sortby", f"sortby term {part[:40]!r} is not +name or -name")
        sign, name = match.groups()
        if name not in allowed:
            raise _bad("sortby", f"cannot sort by {name!r}; sort by one of: "
                       f"{', '.join(sorted(allowed))}", code="unknown_property")  # fmt: skip
        keys.append((name, sign == "-"))
    if not keys or len(keys) > MAX_SORT_KEYS:
        raise _bad("sortby", f"sortby names 1 to {MAX_SORT_KEYS} properties")
    return keys


def sort_rows(rows: list[Row], keys: Sequence[tuple[str, bool]]) -> list[Row]:
    """Rows sorted by `keys` (stable, fid order within ties; missing values last in either
    direction; numbers before text)."""
    ordered = sorted(rows, key=lambda r: r.fid)
    for name, descending in reversed(keys):
        present = [r for r in ordered if _sort_value(r, name) is not None]
        missing = [r for r in ordered if _sort_value(r, name) is None]
        present.sort(key=lambda r: _sort_key(_sort_value(r, name)), reverse=descending)
        ordered = present + missing
    return ordered


def _sort_value(row: Row, name: str) -> Any:
    if name == "fid":
        return row.fid
    if name == "district":
        return row.district
    return row.properties.get(name)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, float(value))
    return (1, str(value))
