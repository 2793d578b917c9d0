"""Esri's FeatureCollection PBF (`f=pbf`), the binary answer of a FeatureServer `query` that
the ArcGIS Maps SDK for JavaScript and ArcGIS Pro ask for first when a layer lists PBF in
`supportedQueryFormats`.

The message is FeatureCollectionPBuffer (github.com/Esri/arcgis-pbf, FeatureCollection.proto):
a `QueryResult` holding a `FeatureResult` (or a `CountResult` for `returnCountOnly`). Fields
come once, in order; each feature lists one `Value` per field. Coordinates are integers: each
vertex is quantized by the payload's `Transform` — upper-left origin, so
x = translate.x + qx·scale.x and y = translate.y − qy·scale.y — and every part (ring, path)
is delta-encoded from its own first vertex, zigzag varints, with `lengths` giving the vertex
count of each part. Rings follow Esri's rule as in JSON: exteriors clockwise, holes
counter-clockwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.polygon import orient

from planfuse.services import protobuf as pb

VERSION = "1.0"
#: One quantization step: 1e-9° (0.1 mm) in degrees, 0.1 mm in metres; coarser only when
#: the features' extent would not fit the 32-bit coordinates readers expect.
STEP_DEGREES = 1e-9
STEP_METRES = 1e-4
MAX_QUANTIZED = 2**31 - 1
GEOMETRY_TYPES = {
    "esriGeometryPoint": 0,
    "esriGeometryMultipoint": 1,
    "esriGeometryPolyline": 2,
    "esriGeometryPolygon": 3,
}
FIELD_TYPES = {"esriFieldTypeOID": 6, "esriFieldTypeString": 4}
SQL_TYPES = {"esriFieldTypeOID": 10, "esriFieldTypeString": 25}  # integer, varchar


@dataclass(frozen=True)
class Quantization:
    """The payload's Transform: upper-left origin, one step per unit."""

    x0: float
    y0: float
    step: float

    @classmethod
    def for_geometries(cls, geoms: Sequence[Any], geographic: bool) -> Quantization:
        step = STEP_DEGREES if geographic else STEP_METRES
        if len(geoms) == 0:
            return cls(0.0, 0.0, step)
        west, south, east, north = (float(v) for v in shapely.total_bounds(geoms))
        span = max(east - west, north - south)
        return cls(west, north, max(step, span / MAX_QUANTIZED))

    def message(self) -> bytes:
        scale = pb.double_field(1, self.step) + pb.double_field(2, self.step)
        translate = pb.double_field(1, self.x0) + pb.double_field(2, self.y0)
        # quantizeOriginPostion (1) is upperLeft, protobuf's default 0: not written.
        return _message(2, scale) + _message(3, translate)

    def vertices(self, coords: np.ndarray) -> np.ndarray:
        qx = np.rint((coords[:, 0] - self.x0) / self.step)
        qy = np.rint((self.y0 - coords[:, 1]) / self.step)
        return np.column_stack([qx, qy]).astype(np.int64)


def _message(field_number: int, payload: bytes) -> bytes:
    return pb.field(pb.key(field_number, pb.WIRE_LEN), payload)


def _parts(geom: Any) -> list[np.ndarray]:
    """The vertex arrays of a geometry's parts, in Esri's order and orientation."""
    kind = geom.geom_type
    if kind == "Point":
        return [np.array([[geom.x, geom.y]])]
    if kind == "MultiPoint":
        return [shapely.get_coordinates(geom)]
    if kind in ("LineString", "MultiLineString"):
        return [shapely.get_coordinates(line) for line in shapely.get_parts(geom)]
    parts = []
    for polygon in shapely.get_parts(geom):
        if polygon.geom_type != "Polygon":
            continue
        esri = orient(polygon, -1.0)  # exterior clockwise, holes counter-clockwise
        parts.append(shapely.get_coordinates(esri.exterior))
        parts += [shapely.get_coordinates(hole) for hole in esri.interiors]
    return parts


def geometry_message(geom: Any, quantization: Quantization) -> bytes:
    """A Geometry: `lengths` (vertices per part) and the parts' delta-encoded coordinates."""
    parts = [p for p in _parts(geom) if len(p)]
    if not parts:
        return b""
    deltas = []
    for part in parts:
        q = quantization.vertices(part)
        deltas.append(np.concatenate([q[:1], np.diff(q, axis=0)]).ravel())
    coords = pb.packed(3, pb.zigzag(np.concatenate(deltas)))
    if geom.geom_type == "Point":
        return coords  # a point's lengths may be left out
    return pb.packed(2, np.array([len(p) for p in parts], dtype=np.int64)) + coords


def _value(value: Any) -> bytes:
    """A Value message holding `value` as JSON would (text, whole or decimal number,
    boolean); an empty message for null."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return pb.varint_field(9, int(value))
    if isinstance(value, int):
        if value >= 0:
            return pb.varint_field(7, value)  # uint64_value
        return pb.varint_field(8, (value << 1) ^ (value >> 63))  # sint64_value, zigzag
    if isinstance(value, float):
        return pb.double_field(3, value)
    return pb.string_field(1, str(value))


def _field_message(spec: dict[str, Any]) -> bytes:
    kind = spec["type"]
    return (
        pb.string_field(1, spec["name"])
        + pb.varint_field(2, FIELD_TYPES.get(kind, 4))
        + pb.string_field(3, spec.get("alias") or spec["name"])
        + pb.varint_field(4, SQL_TYPES.get(kind, 25))
    )


def feature_collection(
    *,
    object_id_field: str,
    geometry_type: str,
    spatial_reference: dict[str, int],
    fields: list[dict[str, Any]],
    attributes: list[dict[str, Any]],
    geometries: Sequence[Any] | None,
    exceeded: bool,
    geographic: bool,
) -> bytes:
    """A FeatureResult of features with `attributes` (one dict per feature, keyed by the
    names in `fields`) and `geometries` (None: `returnGeometry=false`)."""
    result = pb.string_field(1, object_id_field)
    result += pb.varint_field(7, GEOMETRY_TYPES.get(geometry_type, 3))
    sr = pb.varint_field(1, spatial_reference["wkid"])
    sr += pb.varint_field(2, spatial_reference.get("latestWkid", spatial_reference["wkid"]))
    result += _message(8, sr)
    if exceeded:
        result += pb.varint_field(9, 1)
    quantization = Quantization.for_geometries(geometries or [], geographic)
    result += _message(12, quantization.message())
    result += b"".join(_message(13, _field_message(spec)) for spec in fields)
    names = [spec["name"] for spec in fields]
    features = []
    for i, values in enumerate(attributes):
        feature = b"".join(_message(1, _value(values.get(name))) for name in names)
        if geometries is not None:
            feature += _message(2, geometry_message(geometries[i], quantization))
        features.append(_message(15, feature))
    result += b"".join(features)
    return _collection(_message(1, result))


def count(matched: int) -> bytes:
    """A CountResult (`returnCountOnly=true`)."""
    return _collection(_message(2, pb.varint_field(1, matched)))


def _collection(query_result: bytes) -> bytes:
    return pb.string_field(1, VERSION) + _message(2, query_result)
