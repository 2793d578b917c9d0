"""OGC Filter Encoding 2.0 filters of the WFS, parsed without a database.

Two paths. What GDAL, QGIS and OWSLib send for a map extent and an attribute — one or more
`fes:ResourceId`, `fes:BBOX` with a `gml:Envelope`, `fes:PropertyIsEqualTo`, an `fes:And`
of BBOX and equalities — stays a `Filter` the store answers directly (the fast path).
Anything else is kept as its XML condition and translated by `condition_ast` into the same
pygeofilter AST OGC API's CQL2 filters compile from (`planfuse.services.features.filters`),
so both interfaces answer a condition alike: the comparison operators (with `matchCase`),
`PropertyIsLike` (its own wildCard/singleChar/escapeChar), `PropertyIsNull`,
`PropertyIsBetween`, `And`/`Or`/`Not`, and the spatial operators `BBOX`, `Intersects`,
`Within`, `Contains`, `Disjoint`, `Touches`, `Overlaps`, `Crosses`, `Equals` with a GML
`Point`, `LineString`, `Polygon` or `Envelope` whose `srsName` sets the axis order
(`planfuse.ows.crs`). Anything else is refused with the operator named
(OperationNotSupported), never guessed at. Documents with a DOCTYPE are refused
(defusedxml: no entity expansion, nothing fetched).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from pygeofilter import ast, values

from planfuse.geo.crs import CRSInfo, get_transformer
from planfuse.ows.crs import parse_crs
from planfuse.ows.errors import OWSError, invalid

FES = "{http://www.opengis.net/fes/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
GML31 = "{http://www.opengis.net/gml}"
OGC = "{http://www.opengis.net/ogc}"  # Filter Encoding 1.1 (WFS 1.1.0)
MAX_FILTER_CHARS = 50_000


@dataclass
class Envelope:
    lower: tuple[float, float]
    upper: tuple[float, float]
    srs_name: str | None


@dataclass
class Filter:
    resource_ids: list[str] = field(default_factory=list)
    envelope: Envelope | None = None
    equals: dict[str, list[str]] = field(default_factory=dict)
    #: A condition beyond the fast path, for `condition_ast` once the feature type is known.
    condition: ET.Element | None = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _corner(element: ET.Element | None, name: str) -> tuple[float, float]:
    if element is None or not (element.text or "").strip():
        raise invalid("FILTER", f"the gml:Envelope needs a {name}")
    try:
        values = [float(v) for v in element.text.split()]
    except ValueError:
        raise invalid("FILTER", f"the gml:Envelope's {name} must be two numbers") from None
    if len(values) != 2:
        raise invalid("FILTER", f"the gml:Envelope's {name} must be two numbers")
    return values[0], values[1]


def _first(element: ET.Element, name: str) -> ET.Element | None:
    # Not `a or b`: an element without children is falsy.
    found = element.find(f"{GML}{name}")
    return found if found is not None else element.find(f"{GML31}{name}")


def _envelope(element: ET.Element) -> Envelope:
    for child in element:
        if _local(child.tag) in ("Envelope", "Box"):
            lower, upper = _corners(child)
            return Envelope(lower, upper, child.get("srsName"))
    raise invalid("FILTER", "fes:BBOX takes a gml:Envelope")


def _corners(element: ET.Element) -> tuple[tuple[float, float], tuple[float, float]]:
    """A gml:Envelope's corners, or a GML 2 gml:Box's `gml:coordinates` (as GDAL's WFS 1.1.0
    requests write it: "a,b c,d", `cs` and `ts` its separators)."""
    if _local(element.tag) == "Envelope":
        lower = _corner(_first(element, "lowerCorner"), "lowerCorner")
        return lower, _corner(_first(element, "upperCorner"), "upperCorner")
    coordinates = next((e for e in element if _local(e.tag) == "coordinates"), None)
    if coordinates is None or not (coordinates.text or "").strip():
        raise invalid("FILTER", "the gml:Box needs its gml:coordinates")
    cs, ts = coordinates.get("cs", ","), coordinates.get("ts", " ")
    try:
        pairs = [[float(v) for v in t.split(cs)] for t in coordinates.text.split(ts) if t]
    except ValueError:
        raise invalid("FILTER", "the gml:Box's coordinates are not numbers") from None
    if len(pairs) != 2 or any(len(p) != 2 for p in pairs):
        raise invalid("FILTER", "the gml:Box's coordinates are two corners 'a,b c,d'")
    return (pairs[0][0], pairs[0][1]), (pairs[1][0], pairs[1][1])


def _equals(element: ET.Element, into: Filter) -> None:
    name = element.find(f"{FES}ValueReference")
    literal = element.find(f"{FES}Literal")
    if name is None or literal is None or not (name.text or "").strip():
        raise invalid(
            "FILTER", "fes:PropertyIsEqualTo takes a fes:ValueReference and a fes:Literal"
        )
    prop = name.text.strip().rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    into.equals.setdefault(prop, []).append((literal.text or "").strip())


def _condition(element: ET.Element, into: Filter) -> None:
    name = _local(element.tag)
    if name == "ResourceId":
        rid = element.get("rid")
        if not rid:
            raise invalid("FILTER", "fes:ResourceId needs its rid attribute")
        into.resource_ids.append(rid)
    elif name == "BBOX":
        if into.envelope is not None:
            raise OWSError("OperationNotSupported", "one fes:BBOX per filter", "FILTER")
        into.envelope = _envelope(element)
    elif name == "PropertyIsEqualTo":
        _equals(element, into)
    elif name == "And":
        for child in element:
            if _local(child.tag) == "ResourceId":
                raise invalid("FILTER", "fes:ResourceId cannot be combined with other tests")
            _condition(child, into)
    else:
        raise OWSError(
            "OperationNotSupported",
            f"filter operator fes:{name[:40]} is not supported; use fes:ResourceId, fes:BBOX, "
            "fes:PropertyIsEqualTo or fes:And of them",
            "FILTER",
        )


def parse_xml(document: str | bytes, parameter: str, what: str) -> ET.Element:
    """The root of an XML document a client sent (defusedxml: no DTD, no entity, nothing
    fetched), or an OWSError with `parameter` as locator, naming `what` it is and where a
    malformed document breaks."""
    try:
        return SafeET.fromstring(document.strip(), forbid_dtd=True)
    except DefusedXmlException:
        raise invalid(
            parameter, f"{what} cannot contain a DOCTYPE or entity declarations"
        ) from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise invalid(
            parameter, f"{what} is not well-formed XML (line {line}, column {column + 1})"
        ) from None


def parse_filter(text: str) -> Filter:
    """A FES 2.0 `fes:Filter` document as a `Filter`, or an OWSError locating the fault."""
    if len(text) > MAX_FILTER_CHARS:
        raise invalid("FILTER", f"FILTER is longer than {MAX_FILTER_CHARS} characters")
    root = parse_xml(text, "FILTER", "FILTER")
    if root.tag == f"{OGC}Filter":
        _from_filter_11(root)
    if root.tag != f"{FES}Filter":
        raise invalid(
            "FILTER", "FILTER must be an fes:Filter (xmlns:fes=http://www.opengis.net/fes/2.0)"
        )
    children = list(root)
    if not children:
        raise invalid("FILTER", "the fes:Filter is empty")
    result = Filter()
    if all(_local(c.tag) == "ResourceId" for c in children):
        for child in children:
            _condition(child, result)
        return result
    if len(children) != 1:
        raise invalid("FILTER", "an fes:Filter holds one condition (combine several with fes:And)")
    if _fast(children[0]):
        _condition(children[0], result)
    else:
        result.condition = children[0]
    return result


def _from_filter_11(root: ET.Element) -> None:
    """A Filter Encoding 1.1 document (WFS 1.1.0: `ogc:` names, `ogc:PropertyName`,
    `ogc:FeatureId fid` / `ogc:GmlObjectId gml:id`) rewritten in place as its FES 2.0
    equivalent; the operators keep their names."""
    for element in root.iter():
        if not element.tag.startswith(OGC):
            continue  # GML geometries stay as they are
        name = _local(element.tag)
        if name == "PropertyName":
            name = "ValueReference"
        elif name in ("FeatureId", "GmlObjectId"):
            rid = element.get("fid") or element.get(f"{GML31}id") or element.get(f"{GML}id")
            element.attrib.clear()
            if rid:
                element.set("rid", rid)
            name = "ResourceId"
        element.tag = f"{FES}{name}"


def _fast(element: ET.Element) -> bool:
    """Whether the store answers the condition itself: a BBOX (at most one), equalities of
    a property with a literal, and Ands of them (a ResourceId there is refused as before)."""
    boxes = sum(1 for node in element.iter(f"{FES}BBOX"))
    return boxes <= 1 and _fast_term(element)


def _fast_term(element: ET.Element) -> bool:
    name = _local(element.tag)
    if name in ("BBOX", "ResourceId"):
        return True
    if name == "PropertyIsEqualTo":
        children = [_local(c.tag) for c in element]
        return element.get("matchCase", "true").lower() != "false" and children == [
            "ValueReference",
            "Literal",
        ]
    if name == "And":
        return all(_fast_term(child) for child in element)
    return False


# --- beyond the fast path: the pygeofilter AST -----------------------------------------------

_COMPARISONS = {
    "PropertyIsEqualTo": ast.Equal,
    "PropertyIsNotEqualTo": ast.NotEqual,
    "PropertyIsLessThan": ast.LessThan,
    "PropertyIsGreaterThan": ast.GreaterThan,
    "PropertyIsLessThanOrEqualTo": ast.LessEqual,
    "PropertyIsGreaterThanOrEqualTo": ast.GreaterEqual,
}
#: Ordering compares numbers as numbers: a literal that reads as one is one.
_ORDERING = {"PropertyIsLessThan", "PropertyIsGreaterThan", "PropertyIsLessThanOrEqualTo",
             "PropertyIsGreaterThanOrEqualTo", "PropertyIsBetween"}  # fmt: skip
_SPATIAL = {
    "BBOX": ast.GeometryIntersects,
    "Intersects": ast.GeometryIntersects,
    "Within": ast.GeometryWithin,
    "Contains": ast.GeometryContains,
    "Disjoint": ast.GeometryDisjoint,
    "Touches": ast.GeometryTouches,
    "Overlaps": ast.GeometryOverlaps,
    "Crosses": ast.GeometryCrosses,
    "Equals": ast.GeometryEquals,
}
_DISTANCE = {"DWithin": ast.DistanceWithin, "Beyond": ast.DistanceBeyond}
SCALAR_OPERATORS = (
    *_COMPARISONS,
    "PropertyIsLike",
    "PropertyIsNull",
    "PropertyIsNil",
    "PropertyIsBetween",
)
LOGICAL_OPERATORS = ("And", "Or", "Not")
SPATIAL_OPERATORS = (*_SPATIAL, *_DISTANCE)
GEOMETRY_OPERANDS = ("gml:Envelope", "gml:Point", "gml:LineString", "gml:Polygon")
GEOMETRY_PROPERTY = "geometry"
MAX_DEPTH = 40


def condition_ast(element: ET.Element, properties: dict[str, str]) -> ast.Node:
    """The pygeofilter AST of a condition beyond the fast path, property names resolved
    through `properties` (element name → property name); geometry literals come in
    storage coordinates (EPSG:4490, lon/lat), whatever their srsName."""
    return _Translator(properties).node(element, 0)


class _Translator:
    def __init__(self, properties: dict[str, str]):
        self.properties = properties

    def node(self, element: ET.Element, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise invalid("FILTER", f"the filter nests deeper than {MAX_DEPTH} levels")
        name = _local(element.tag)
        children = list(element)
        if name in ("And", "Or"):
            if len(children) < 2:
                raise invalid("FILTER", f"fes:{name} takes two or more conditions")
            parts = [self.node(child, depth + 1) for child in children]
            joined = parts[0]
            for part in parts[1:]:
                joined = ast.And(joined, part) if name == "And" else ast.Or(joined, part)
            return joined
        if name == "Not":
            if len(children) != 1:
                raise invalid("FILTER", "fes:Not takes one condition")
            return ast.Not(self.node(children[0], depth + 1))
        if name in _COMPARISONS:
            return self._comparison(element, name)
        if name == "PropertyIsLike":
            return self._like(element)
        if name == "PropertyIsNull":
            (operand,) = self._operand(element, name, 1)
            if not isinstance(operand, ast.Attribute):
                raise invalid("FILTER", "fes:PropertyIsNull takes a fes:ValueReference")
            return ast.IsNull(operand, False)
        if name == "PropertyIsBetween":
            return self._between(element)
        if name in _SPATIAL:
            return self._spatial(element, name)
        if name in _DISTANCE:
            return self._distance(element, name)
        if name == "PropertyIsNil":
            # A property without a value: nil and null are the same thing in this store.
            (operand,) = self._operand(element, name, 1)
            if not isinstance(operand, ast.Attribute):
                raise invalid("FILTER", "fes:PropertyIsNil takes a fes:ValueReference")
            return ast.IsNull(operand, False)
        if name == "ResourceId":
            raise invalid("FILTER", "fes:ResourceId cannot be combined with other tests")
        raise OWSError(
            "OperationNotSupported",
            f"filter operator fes:{name[:40]} is not supported; use "
            + ", ".join(
                f"fes:{op}"
                for op in (*SCALAR_OPERATORS, *LOGICAL_OPERATORS, *SPATIAL_OPERATORS, "ResourceId")
            )
            + " (GetCapabilities' Filter_Capabilities lists them)",
            "FILTER",
        )

    def _property(self, element: ET.Element, operator: str) -> ast.Attribute:
        text = (element.text or "").strip()
        local = text.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        if local == GEOMETRY_PROPERTY:
            return ast.Attribute(GEOMETRY_PROPERTY)
        if local not in self.properties:
            raise invalid(
                "FILTER",
                f"fes:{operator} names property {text[:64]!r}, which this feature type does "
                f"not have; DescribeFeatureType lists its properties",
            )
        return ast.Attribute(self.properties[local])

    def _operand(self, element: ET.Element, operator: str, count: int) -> list[Any]:
        """The `count` operands of `element`: properties and literals, in order."""
        children = list(element)
        if len(children) != count:
            raise invalid("FILTER", f"fes:{operator} takes {count} operand(s), not {len(children)}")
        operands: list[Any] = []
        for child in children:
            kind = _local(child.tag)
            if kind == "ValueReference":
                operands.append(self._property(child, operator))
            elif kind == "Literal":
                operands.append(child.text or "")
            else:
                raise invalid(
                    "FILTER",
                    f"fes:{operator} compares fes:ValueReference and fes:Literal, not {kind[:40]}",
                )
        return operands

    def _comparison(self, element: ET.Element, name: str) -> Any:
        lhs, rhs = self._operand(element, name, 2)
        if not any(isinstance(v, ast.Attribute) for v in (lhs, rhs)):
            raise invalid("FILTER", f"fes:{name} needs a fes:ValueReference")
        if GEOMETRY_PROPERTY in (getattr(lhs, "name", None), getattr(rhs, "name", None)):
            raise invalid("FILTER", f"fes:{name} cannot compare the geometry; use a spatial test")
        if name in _ORDERING:
            lhs, rhs = _number_or_text(lhs), _number_or_text(rhs)
        if element.get("matchCase", "true").strip().lower() == "false":
            lhs, rhs = ast.Function("lower", [lhs]), ast.Function("lower", [rhs])
        return _COMPARISONS[name](lhs, rhs)

    def _like(self, element: ET.Element) -> Any:
        lhs, pattern = self._operand(element, "PropertyIsLike", 2)
        if not isinstance(lhs, ast.Attribute) or isinstance(pattern, ast.Attribute):
            raise invalid(
                "FILTER", "fes:PropertyIsLike takes a fes:ValueReference, then a fes:Literal"
            )
        wild = element.get("wildCard")
        single = element.get("singleChar")
        escape_char = element.get("escapeChar") or element.get("escape")
        for attribute, value in (("wildCard", wild), ("singleChar", single),
                                 ("escapeChar", escape_char)):  # fmt: skip
            if value is None or len(value) != 1:
                raise invalid("FILTER", f"fes:PropertyIsLike needs a one-character {attribute}")
        nocase = element.get("matchCase", "true").strip().lower() == "false"
        return ast.Like(lhs, _cql_pattern(pattern, wild, single, escape_char), nocase,
                        "%", "_", "\\", False)  # fmt: skip

    def _between(self, element: ET.Element) -> Any:
        children = list(element)
        names = [_local(c.tag) for c in children]
        if names != ["ValueReference", "LowerBoundary", "UpperBoundary"]:
            raise invalid("FILTER", "fes:PropertyIsBetween takes a fes:ValueReference, "
                          "fes:LowerBoundary and fes:UpperBoundary")  # fmt: skip
        prop = self._property(children[0], "PropertyIsBetween")
        low = self._operand(children[1], "LowerBoundary", 1)[0]
        high = self._operand(children[2], "UpperBoundary", 1)[0]
        return ast.Between(prop, _number_or_text(low), _number_or_text(high), False)

    def _spatial(self, element: ET.Element, name: str) -> Any:
        children = list(element)
        references = [c for c in children if _local(c.tag) == "ValueReference"]
        shapes = [c for c in children if c.tag.startswith((GML, GML31))]
        if (
            len(shapes) != 1
            or len(references) > 1
            or len(children) != len(shapes) + len(references)
        ):
            raise invalid("FILTER", f"fes:{name} takes a fes:ValueReference and one GML geometry")
        if references and self._property(references[0], name).name != GEOMETRY_PROPERTY:
            raise invalid("FILTER", f"fes:{name} tests the geometry property ({GEOMETRY_PROPERTY})")
        if name == "BBOX" and _local(shapes[0].tag) not in ("Envelope", "Box"):
            raise invalid("FILTER", "fes:BBOX takes a gml:Envelope")
        geometry = _gml_geometry(shapes[0])
        literal = values.Geometry(shapely.geometry.mapping(geometry))
        if name in _DISTANCE:
            return literal
        return _SPATIAL[name](ast.Attribute(GEOMETRY_PROPERTY), literal)

    def _distance(self, element: ET.Element, name: str) -> Any:
        """fes:DWithin / fes:Beyond: a ValueReference, one GML geometry, a fes:Distance
        with its `uom`."""
        distances = [c for c in element if _local(c.tag) == "Distance"]
        rest = [c for c in element if _local(c.tag) != "Distance"]
        if len(distances) != 1:
            raise invalid("FILTER", f"fes:{name} takes one fes:Distance with a uom")
        shape = ET.Element(element.tag)
        shape.extend(rest)
        literal = self._spatial(shape, name)
        text = (distances[0].text or "").strip()
        try:
            distance = float(text)
        except ValueError:
            raise invalid("FILTER", f"fes:Distance {text[:20]!r} is not a number") from None
        # `uom` in FES 2.0; Filter Encoding 1.1 (WFS 1.1.0) wrote `units`.
        uom = distances[0].get("uom") or distances[0].get("units") or ""
        if not uom:
            raise invalid("FILTER", "fes:Distance needs a uom (m or km)")
        return _DISTANCE[name](ast.Attribute(GEOMETRY_PROPERTY), literal, distance, uom)


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return value
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value else number
    return value


def _cql_pattern(pattern: str, wild: str, single: str, escape_char: str) -> str:
    """A PropertyIsLike pattern in its own wildcard characters as a CQL2 LIKE pattern
    (`%`, `_`, `\\` escapes)."""
    out = []
    chars = iter(pattern)
    for ch in chars:
        if ch == escape_char:
            nxt = next(chars, "")
            out.append("\\" + nxt if nxt in "%_\\" else nxt)
        elif ch == wild:
            out.append("%")
        elif ch == single:
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _coordinates(element: ET.Element, where: str) -> list[tuple[float, float]]:
    """The pairs of a gml:pos/posList (or several gml:pos) inside `element`."""
    texts = [e.text or "" for e in element.iter() if _local(e.tag) in ("posList", "pos")]
    try:
        numbers = [float(v) for text in texts for v in text.split()]
    except ValueError:
        raise invalid("FILTER", f"the coordinates of the {where} are not numbers") from None
    if not numbers or len(numbers) % 2 or not all(math.isfinite(v) for v in numbers):
        raise invalid("FILTER", f"the {where} needs coordinate pairs (gml:pos or gml:posList)")
    return list(zip(numbers[::2], numbers[1::2], strict=True))


def _ring(element: ET.Element | None, where: str) -> list[tuple[float, float]]:
    ring = None if element is None else next(
        (e for e in element.iter() if _local(e.tag) == "LinearRing"), None
    )  # fmt: skip
    if ring is None:
        raise invalid("FILTER", f"the gml:Polygon's {where} needs a gml:LinearRing")
    return _coordinates(ring, f"gml:Polygon's {where}")


def _gml_geometry(element: ET.Element) -> shapely.Geometry:
    """A GML Point, LineString, Polygon or Envelope in storage coordinates, read in the axis
    order its srsName's spelling implies (no srsName: the DefaultCRS, latitude first)."""
    kind = _local(element.tag)
    try:
        if kind == "Point":
            geom = shapely.Point(_coordinates(element, "gml:Point")[0])
        elif kind == "LineString":
            geom = shapely.LineString(_coordinates(element, "gml:LineString"))
        elif kind == "Polygon":
            children = list(element)
            exterior = next((c for c in children if _local(c.tag) == "exterior"), None)
            holes = [_ring(c, "interior") for c in children if _local(c.tag) == "interior"]
            geom = shapely.Polygon(_ring(exterior, "exterior"), holes)
        elif kind in ("Envelope", "Box"):
            lower, upper = _corners(element)
            if lower[0] > upper[0] or lower[1] > upper[1]:
                raise invalid("FILTER", "the gml:Envelope's lowerCorner is above its upperCorner")
            geom = shapely.box(*lower, *upper)
        else:
            raise OWSError(
                "OperationNotSupported",
                f"gml:{kind[:40]} is not supported in a filter; use "
                + ", ".join(GEOMETRY_OPERANDS),
                "FILTER",
            )
    except (ValueError, shapely.errors.ShapelyError):
        raise invalid("FILTER", f"the gml:{kind} cannot be read as a geometry") from None
    srs = element.get("srsName")
    crs = parse_crs(srs or DEFAULT_SRS, "FILTER", short_is_xy=True, code="InvalidParameterValue")
    return _to_storage(geom, crs.info, kind in ("Envelope", "Box"))


DEFAULT_SRS = "urn:ogc:def:crs:EPSG::4490"


def _to_storage(geom: shapely.Geometry, info: CRSInfo, densify: bool) -> shapely.Geometry:
    if info.first_axis_north:
        geom = shapely.transform(geom, lambda c: c[:, ::-1])
    if info.key not in ("OGC:CRS84", "EPSG:4490", "EPSG:4326"):
        if densify:  # an envelope's edges are straight in its own CRS
            x0, y0, x1, y1 = geom.bounds
            geom = shapely.segmentize(geom, max(x1 - x0, y1 - y0) / 64 or 1)
        transformer = get_transformer(info.key, "EPSG:4490")
        geom = shapely.transform(geom, lambda c: np.column_stack(transformer(c[:, 0], c[:, 1])))
    if geom.is_empty or not geom.is_valid or not np.isfinite(shapely.get_coordinates(geom)).all():
        raise invalid("FILTER", "a geometry in the filter is empty or not valid in its srsName")
    return geom
