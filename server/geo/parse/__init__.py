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

The package's modules, by job (import from here; the names below are its public surface):
:mod:`~planfuse.geo.parse.features` (the entry points), :mod:`~planfuse.geo.parse.text`
(decoding, format detection), :mod:`~planfuse.geo.parse.geojson`,
:mod:`~planfuse.geo.parse.wkt`, :mod:`~planfuse.geo.parse.boundary_points` (the three
formats), :mod:`~planfuse.geo.parse.coordinates` (coordinate arrays),
:mod:`~planfuse.geo.parse.shapes` (what they produce, the limits),
:mod:`~planfuse.geo.parse.build` (building and validity) and
:mod:`~planfuse.geo.parse.storage` (CRS checks and reprojection to storage).
"""

from __future__ import annotations

from planfuse.geo.parse.build import polygonal_part
from planfuse.geo.parse.features import parse_boundary_points, parse_features
from planfuse.geo.parse.shapes import (
    DEFAULT_MAX_VERTICES,
    GEOMETRY_TYPES,
    MAX_NESTING_DEPTH,
    POLYGONAL_TYPES,
    ParsedFeature,
    count_positions,
)
from planfuse.geo.parse.storage import locate_vertex, to_storage, validate_in_crs

__all__ = [
    "DEFAULT_MAX_VERTICES",
    "GEOMETRY_TYPES",
    "MAX_NESTING_DEPTH",
    "POLYGONAL_TYPES",
    "ParsedFeature",
    "count_positions",
    "locate_vertex",
    "parse_boundary_points",
    "parse_features",
    "polygonal_part",
    "to_storage",
    "validate_in_crs",
]
