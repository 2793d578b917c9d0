"""What every input format produces: checked shapes before they are built (parts → rings →
coordinate arrays), the parsed features they become, the limits, and the collector of
problems with the vertex budget.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from shapely.geometry.base import BaseGeometry

from planfuse.geo.errors import (
    ProblemCollector,
)

# The deepest GeoJSON coordinate array: MultiPolygon → polygons → rings → positions → numbers.
MAX_NESTING_DEPTH = 4
DEFAULT_MAX_VERTICES = 250_000

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
POLYGONAL_TYPES = frozenset({"Polygon", "MultiPolygon"})
# Nesting depth of the coordinates of each geometry type.
COORDINATE_DEPTH = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}
COORDINATE_EXAMPLE = {
    "Point": "[x, y]",
    "MultiPoint": "[[x, y], ...]",
    "LineString": "[[x, y], ...]",
    "MultiLineString": "[[[x, y], ...], ...]",
    "Polygon": "[[[x, y], ...], ...]",
    "MultiPolygon": "[[[[x, y], ...], ...], ...]",
}
REPAIR_HINT = "fix the boundary, or ask for repair to apply make_valid"


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


class TooManyVertices(Exception):
    pass


def count_positions(obj) -> int:
    """The number of positions in a GeoJSON object (geometry, Feature or FeatureCollection),
    counted from the lengths of its coordinate arrays without looking at any position.

    The cost is one step per ring (or part), not per vertex, so an oversized input is
    refused before any per-vertex work; malformed members are skipped (the full check
    names them later).
    """
    total = 0
    stack = [obj]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "FeatureCollection":
            features = item.get("features")
            if isinstance(features, list):
                stack.extend(features)
            continue
        if kind == "Feature":
            stack.append(item.get("geometry"))
            continue
        depth = COORDINATE_DEPTH.get(kind) if isinstance(kind, str) else None
        if depth is not None:
            total += _count_coordinates(item.get("coordinates"), depth)
    return total


def _count_coordinates(coords, depth: int) -> int:
    if depth == 1:
        return 1 if isinstance(coords, list) else 0
    total = 0
    level = [coords]
    for _ in range(depth - 2):
        level = [c for arrays in level if isinstance(arrays, list) for c in arrays]
    for positions in level:
        if isinstance(positions, list):
            total += len(positions)
    return total


@dataclass
class Shape:
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


class ParseContext:
    def __init__(self, max_vertices: int, geometry_types: Collection[str] | None) -> None:
        self.max_vertices = max_vertices
        self.vertices = 0
        self.allowed = None if geometry_types is None else frozenset(geometry_types)
        self.problems = ProblemCollector()

    def check_total(self, n: int) -> None:
        """Refuse at once an input whose vertices, counted before parsing, exceed the cap."""
        if n > self.max_vertices:
            raise TooManyVertices

    def count(self, n: int) -> None:
        self.vertices += n
        if self.vertices > self.max_vertices:
            raise TooManyVertices

    def add(self, message: str, **where) -> None:
        self.problems.add(message, **where)
