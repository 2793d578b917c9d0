"""Polygon collections checked and built in bulk give exactly what the detailed parser
gives, and everything not plainly well-formed is left to the detailed parser."""

from __future__ import annotations

import copy

import pytest
import shapely

from planfuse.geo.parse.build import build_features
from planfuse.geo.parse.bulk import bulk_features, bulk_polygon_collection
from planfuse.geo.parse.geojson import geojson_shapes
from planfuse.geo.parse.shapes import DEFAULT_MAX_VERTICES, ParseContext

SQUARE = [[106.50, 29.50], [106.51, 29.50], [106.51, 29.51], [106.50, 29.51], [106.50, 29.50]]
HOLE = [[106.502, 29.502], [106.502, 29.504], [106.504, 29.504], [106.504, 29.502]]
HOLE.append(HOLE[0])
FAR = [[x + 0.1, y] for x, y in SQUARE]
BOW_TIE = [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]


def feature(gtype, coordinates, **extra):
    geometry = {"type": gtype, "coordinates": coordinates}
    return {
        "type": "Feature",
        "properties": extra.pop("properties", {}),
        "geometry": geometry,
        **extra,
    }


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


MIXED = collection(
    feature("Polygon", [SQUARE], properties={"code": "0101", "n": 1}, id=7),
    feature("MultiPolygon", [[SQUARE, HOLE], [FAR]], properties=None),
    feature("Polygon", [SQUARE, HOLE], properties={"nested": {"a": [1, 2]}}, id="p-3"),
    feature("MultiPolygon", [[FAR]]),
    feature("Polygon", [[[int(x * 1000), int(y * 1000)] for x, y in SQUARE]]),
)


def detailed(obj, repair=False, allowed=None):
    ctx = ParseContext(DEFAULT_MAX_VERTICES, allowed)
    return build_features(geojson_shapes(copy.deepcopy(obj), ctx), repair, ctx.problems), ctx


def bulk(obj, repair=False, allowed=None, max_vertices=DEFAULT_MAX_VERTICES):
    ctx = ParseContext(max_vertices, allowed)
    return bulk_features(copy.deepcopy(obj), ctx, repair), ctx


def same_features(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert shapely.to_wkb(x.geometry) == shapely.to_wkb(y.geometry)
        assert x.geometry.geom_type == y.geometry.geom_type
        assert (x.properties, x.index, x.repaired, x.feature_id, x.notes) == (
            y.properties,
            y.index,
            y.repaired,
            y.feature_id,
            y.notes,
        )


def test_bulk_features_equal_the_detailed_parser():
    expected, _ = detailed(MIXED)
    got, ctx = bulk(MIXED)
    assert got is not None and not ctx.problems
    same_features(got, expected)
    assert [f.geometry.geom_type for f in got] == [
        "Polygon",
        "MultiPolygon",
        "Polygon",
        "MultiPolygon",
        "Polygon",
    ]


@pytest.mark.parametrize("repair", [False, True])
def test_invalid_geometries_are_reported_or_repaired_as_the_detailed_parser_does(repair):
    obj = collection(feature("Polygon", [SQUARE]), feature("Polygon", [BOW_TIE], id=2))
    expected, expected_ctx = detailed(obj, repair=repair)
    got, ctx = bulk(obj, repair=repair)
    same_features(got, expected)
    assert [p.to_dict() for p in ctx.problems.problems] == [
        p.to_dict() for p in expected_ctx.problems.problems
    ]
    assert bool(ctx.problems) is not repair


def replaced(path, value):
    """MIXED with the value at `path` (keys and indexes) replaced."""
    obj = copy.deepcopy(MIXED)
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return obj


NOT_PLAIN = {
    "not a collection": MIXED["features"][0],
    "no features": collection(),
    "feature type": replaced(["features", 1, "type"], "feature"),
    "properties array": replaced(["features", 0, "properties"], [1]),
    "boolean id": replaced(["features", 0, "id"], True),
    "null geometry": replaced(["features", 0, "geometry"], None),
    "line": replaced(["features", 0, "geometry", "type"], "LineString"),
    "no coordinates": replaced(["features", 0, "geometry"], {"type": "Polygon"}),
    "no rings": replaced(["features", 0, "geometry", "coordinates"], []),
    "empty multipolygon": replaced(["features", 1, "geometry", "coordinates"], []),
    "polygon without rings": replaced(["features", 1, "geometry", "coordinates", 0], []),
    "short ring": replaced(["features", 0, "geometry", "coordinates", 0], SQUARE[:3]),
    "open ring": replaced(["features", 0, "geometry", "coordinates", 0], [*SQUARE[:4], [1, 2]]),
    "3D position": replaced(["features", 0, "geometry", "coordinates", 0, 1], [106.51, 29.5, 3]),
    "string coordinate": replaced(
        ["features", 0, "geometry", "coordinates", 0, 1], [106.51, "29.5"]
    ),
    "boolean coordinate": replaced(["features", 0, "geometry", "coordinates", 0, 1], [True, 29.5]),
    "huge integer": replaced(["features", 0, "geometry", "coordinates", 0, 1], [10**400, 29.5]),
    "nan": replaced(["features", 0, "geometry", "coordinates", 0, 1], [float("nan"), 29.5]),
    "nested too deep": replaced(["features", 0, "geometry", "coordinates"], [[SQUARE]]),
}


@pytest.mark.parametrize("case", sorted(NOT_PLAIN))
def test_what_is_not_plainly_well_formed_goes_to_the_detailed_parser(case):
    ctx = ParseContext(DEFAULT_MAX_VERTICES, None)
    assert bulk_polygon_collection(copy.deepcopy(NOT_PLAIN[case]), ctx) is None
    assert not ctx.problems


def test_disallowed_types_and_too_many_vertices_go_to_the_detailed_parser():
    assert bulk(MIXED, allowed={"Polygon"})[0] is None
    assert bulk(MIXED, max_vertices=10)[0] is None
    assert bulk(MIXED, allowed={"Polygon", "MultiPolygon"}, max_vertices=50)[0] is not None
