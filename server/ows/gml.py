"""GML 3.2 geometry and XML names for the WFS documents.

Geometries arrive already in the output CRS and its axis order (shapely coordinates as
written), so this module only spells them: Point/LineString/Polygon and their Multi forms
(MultiPoint, MultiCurve, MultiSurface), a collection as MultiGeometry.
"""

from __future__ import annotations

import re

import numpy as np
import shapely

GML_NS = "http://www.opengis.net/gml/3.2"

_NAME_START = re.compile(r"^[A-Za-z_\u00C0-\uFFFF]")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.\-\u00B7\u00C0-\uFFFF]")


def xml_name(name: str) -> str:
    """`name` as an XML element name (NCName): characters XML does not allow become `_`, and
    a name not starting with a letter or `_` gets a leading `_` (a layer id "2035-plan",
    a field "用地 面积")."""
    cleaned = _NAME_BAD.sub("_", name) or "_"
    return cleaned if _NAME_START.match(cleaned) else "_" + cleaned


def _pos_list(coords: np.ndarray) -> str:
    return " ".join(repr(v) for v in coords[:, :2].ravel().tolist())


def _ring(ring: shapely.LinearRing) -> str:
    coords = shapely.get_coordinates(ring)
    return f"<gml:LinearRing><gml:posList>{_pos_list(coords)}</gml:posList></gml:LinearRing>"


def _polygon_body(polygon: shapely.Polygon) -> str:
    parts = [f"<gml:exterior>{_ring(polygon.exterior)}</gml:exterior>"]
    parts += [f"<gml:interior>{_ring(ring)}</gml:interior>" for ring in polygon.interiors]
    return "".join(parts)


#: Single geometry types → their collections, as a layer declared Multi* writes them.
_MULTI = {
    "Point": shapely.multipoints,
    "LineString": shapely.multilinestrings,
    "Polygon": shapely.multipolygons,
}


def geometry(
    geom: shapely.Geometry, gml_id: str, srs_name: str, property_type: str | None = None
) -> str:
    """`geom` as a GML 3.2 geometry element with `gml:id` and `srsName`. Given the layer's
    `property_type` (see below), a single polygon, line or point of a layer declared with a
    Multi* property is written as a collection of one: the schema allows nothing else there."""
    head = f'gml:id="{gml_id}" srsName="{srs_name}" srsDimension="2"'
    kind = geom.geom_type
    if property_type and property_type.startswith("gml:Multi") and kind in _MULTI:
        geom = _MULTI[kind]([geom])
        kind = geom.geom_type
    if kind == "Point":
        coords = shapely.get_coordinates(geom)
        return f"<gml:Point {head}><gml:pos>{_pos_list(coords)}</gml:pos></gml:Point>"
    if kind == "LineString":
        coords = shapely.get_coordinates(geom)
        pos = _pos_list(coords)
        return f"<gml:LineString {head}><gml:posList>{pos}</gml:posList></gml:LineString>"
    if kind == "Polygon":
        return f"<gml:Polygon {head}>{_polygon_body(geom)}</gml:Polygon>"
    members = list(shapely.get_parts(geom))
    if kind == "MultiPoint":
        inner = "".join(
            f'<gml:pointMember><gml:Point gml:id="{gml_id}.{i}"><gml:pos>'
            f"{_pos_list(shapely.get_coordinates(p))}</gml:pos></gml:Point></gml:pointMember>"
            for i, p in enumerate(members, 1)
        )
        return f"<gml:MultiPoint {head}>{inner}</gml:MultiPoint>"
    if kind == "MultiLineString":
        inner = "".join(
            f'<gml:curveMember><gml:LineString gml:id="{gml_id}.{i}"><gml:posList>'
            f"{_pos_list(shapely.get_coordinates(line))}</gml:posList></gml:LineString>"
            "</gml:curveMember>"
            for i, line in enumerate(members, 1)
        )
        return f"<gml:MultiCurve {head}>{inner}</gml:MultiCurve>"
    if kind == "MultiPolygon":
        inner = "".join(
            f'<gml:surfaceMember><gml:Polygon gml:id="{gml_id}.{i}">{_polygon_body(poly)}'
            "</gml:Polygon></gml:surfaceMember>"
            for i, poly in enumerate(members, 1)
        )
        return f"<gml:MultiSurface {head}>{inner}</gml:MultiSurface>"
    inner = "".join(
        f"<gml:geometryMember>{geometry(part, f'{gml_id}.{i}', srs_name)}</gml:geometryMember>"
        for i, part in enumerate(members, 1)
    )
    return f"<gml:MultiGeometry {head}>{inner}</gml:MultiGeometry>"


def property_type(geometry_types: str) -> str:
    """The GML property type declaring a layer's geometry, from its stored geometry types
    ("MultiPolygon,Polygon" → gml:MultiSurfacePropertyType)."""
    kinds = {part.strip() for part in geometry_types.split(",") if part.strip()}
    families = {
        "Polygon": ("gml:MultiSurfacePropertyType", "gml:MultiSurfacePropertyType"),
        "LineString": ("gml:MultiCurvePropertyType", "gml:MultiCurvePropertyType"),
        "Point": ("gml:PointPropertyType", "gml:MultiPointPropertyType"),
    }
    for single, (one, many) in families.items():
        if kinds == {single}:
            return one
        if kinds and kinds <= {single, "Multi" + single}:
            return many
    return "gml:GeometryPropertyType"
