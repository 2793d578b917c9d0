"""Tile maths, clipping, simplification and encoding on synthetic layers (no database)."""

from __future__ import annotations

import itertools

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from planfuse.geo.crs import resolve_crs
from planfuse.http.problems import ProblemError
from planfuse.ogc import tiles
from planfuse.ogc.crs import storage_box
from planfuse.services.features.store import BBoxQuery


def test_parse_tile_ranges():
    assert tiles.parse_tile("0", "0", "0") == (0, 0, 0)
    assert tiles.parse_tile("22", str(2**22 - 1), "0") == (22, 2**22 - 1, 0)
    bad = [("23", "0", "0"), ("3", "8", "0"), ("3", "0", "8"), ("-1", "0", "0")]
    bad += [("a", "0", "0"), ("1", "0x1", "0"), ("1", " 1", "0"), ("1", "", "0")]
    for z, x, y in bad:
        with pytest.raises(ProblemError) as info:
            tiles.parse_tile(z, x, y)
        assert info.value.status == 400


def test_tile_bounds_cover_the_world_without_gaps():
    assert tiles.tile_bounds(0, 0, 0) == pytest.approx(
        (-tiles.ORIGIN_M, -tiles.ORIGIN_M, tiles.ORIGIN_M, tiles.ORIGIN_M)
    )
    a = tiles.tile_bounds(5, 10, 12)
    right = tiles.tile_bounds(5, 11, 12)
    below = tiles.tile_bounds(5, 10, 13)
    assert a[2] == pytest.approx(right[0]) and a[1] == pytest.approx(below[3])


def _index(geoms, attributes=None):
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    return tiles.TileIndex(np.arange(1, n + 1), geoms, attributes or {"district": [None] * n})


def test_clip_grid_and_orientation():
    bounds = tiles.tile_bounds(10, 500, 400)
    minx, miny, maxx, maxy = bounds
    w = maxx - minx
    # A square straddling the tile's east edge, drawn clockwise (negative area).
    square = shapely.Polygon(
        [(maxx - w / 4, miny + w / 4), (maxx - w / 4, maxy - w / 4), (maxx + w / 4, maxy - w / 4),
         (maxx + w / 4, miny + w / 4)]
    )  # fmt: skip
    index = _index([square])
    rows, geoms = tiles.tile_geometries(index, np.array([0]), 10, 500, 400)
    assert rows.tolist() == [0]
    gx0, gy0, gx1, gy1 = geoms[0].bounds
    # Clipped at the buffer, in grid units, y down.
    assert (gx0, gx1) == (3072, 4096 + tiles.BUFFER_UNITS)
    assert (gy0, gy1) == (1024, 3072)
    assert shapely.is_ccw(geoms[0].exterior)  # positive area = clockwise on screen (y down)


def test_pixel_rule_and_point_thinning():
    bounds = tiles.tile_bounds(8, 200, 100)
    minx, miny, maxx, maxy = bounds
    pixel = (maxx - minx) / 256
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    geoms = [
        shapely.box(cx, cy, cx + pixel * 0.5, cy + pixel * 0.5),  # under a pixel
        shapely.box(cx, cy, cx + pixel * 2, cy + pixel * 0.1),  # long and thin: kept
        shapely.LineString([(cx, cy), (cx + pixel * 0.3, cy)]),  # short line
        shapely.Point(cx + pixel * 0.1, cy + pixel * 0.1),
        shapely.Point(cx + pixel * 0.2, cy + pixel * 0.2),  # same pixel as the previous
        shapely.Point(cx + pixel * 5.5, cy),
    ]
    index = _index(geoms)
    assert tiles.select_tile_features(index, 8, 200, 100).tolist() == [1, 3, 5]
    # At a zoom ≥ 14 nothing is dropped.
    big = tiles.tile_bounds(14, 200 * 64, 100 * 64)
    small = [shapely.box(big[0] + 10, big[1] + 10, big[0] + 10.5, big[1] + 10.5)]
    assert tiles.select_tile_features(_index(small), 14, 200 * 64, 100 * 64).tolist() == [0]


def test_grid_rounding_repairs_and_drops():
    z, x, y = 12, 3000, 1500
    minx, _, maxx, maxy = tiles.tile_bounds(z, x, y)
    unit = (maxx - minx) / tiles.EXTENT
    cx, cy = minx + 100 * unit, maxy - 100 * unit
    # A crossed ring; a sliver thinner than half a unit; a polygon
    # touching the tile only along the buffer edge.
    bowtie = shapely.Polygon(
        [(cx, cy), (cx + 40 * unit, cy - 40 * unit), (cx + 40 * unit, cy), (cx, cy - 40 * unit)]
    )
    sliver = shapely.box(cx, cy - 50 * unit, cx + 30 * unit, cy - 50.2 * unit)
    edge = shapely.box(maxx + 64 * unit, cy - 10 * unit, maxx + 80 * unit, cy)
    index = _index([bowtie, sliver, edge])
    rows, geoms = tiles.tile_geometries(index, np.array([0, 1, 2]), z, x, y)
    assert rows.tolist() == [0]
    assert all(g.is_valid for g in geoms)
    # (Stored data is valid; a crossing like this comes only from rounding, and either
    # lobe or both may survive the repair.)
    assert 400 <= geoms[0].area <= 800


def test_encoded_tile_decodes_to_the_same_features():
    z, x, y = 14, 13000, 6700
    minx, miny, maxx, maxy = tiles.tile_bounds(z, x, y)
    unit = (maxx - minx) / tiles.EXTENT
    outer = shapely.box(minx + 100 * unit, miny + 100 * unit, minx + 900 * unit, miny + 900 * unit)
    hole = shapely.box(minx + 300 * unit, miny + 300 * unit, minx + 500 * unit, miny + 500 * unit)
    geoms = [
        shapely.Polygon(outer.exterior.coords, [hole.exterior.coords]),
        shapely.LineString([(minx, miny), (maxx, maxy)]),
        shapely.Point(minx + 2048 * unit, maxy - 1024 * unit),
    ]
    index = _index(geoms, {"district": ["500106", None, "500107"], "code": ["0701", None, None]})
    rows, grid = tiles.tile_geometries(index, np.arange(3), z, x, y)
    content = tiles.encode_tile(index, "demo", rows, grid)
    decoded = mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})
    features = decoded["demo"]["features"]
    assert [f["id"] for f in features] == [1, 2, 3]
    assert features[0]["properties"] == {"fid": 1, "district": "500106", "code": "0701"}
    assert features[1]["properties"] == {"fid": 2}
    assert features[2]["geometry"]["coordinates"] == [2048, 1024]
    rings = features[0]["geometry"]["coordinates"]
    assert len(rings) == 2

    def area2(ring):
        return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in itertools.pairwise(ring))

    assert area2(rings[0]) > 0 > area2(rings[1])


def test_simplification_removes_sub_unit_wiggles():
    z, x, y = 10, 800, 400
    minx, miny, maxx, _ = tiles.tile_bounds(z, x, y)
    unit = (maxx - minx) / tiles.EXTENT
    xs = np.linspace(minx, maxx, 2001)
    ys = miny + 2000 * unit + np.sin(np.arange(2001)) * 0.3 * unit
    line = shapely.LineString(np.column_stack([xs, ys]))
    _, geoms = tiles.tile_geometries(_index([line]), np.array([0]), z, x, y)
    assert shapely.get_num_coordinates(geoms[0]) <= 4


def test_center_zoom():
    assert tiles.center_zoom([105.3, 28.2, 110.2, 32.2]) == 7
    assert tiles.center_zoom([106.5, 29.5, 106.51, 29.51]) == 15
    assert tiles.center_zoom([106.5, 29.5, 106.5, 29.5]) == tiles.TILEJSON_MAXZOOM


def test_bbox_query_inner_rectangle():
    polygon, inner = storage_box((3265000, 354000, 3270000, 359000), resolve_crs("EPSG:4545"))
    assert inner is not None
    assert polygon.contains(shapely.box(*inner))
    assert shapely.box(*inner).area > 0.95 * polygon.area
    query = BBoxQuery.from_geometry(polygon, inner)
    assert query.outer == pytest.approx(polygon.bounds) and query.inner == inner
    plain = BBoxQuery.from_geometry(*storage_box((1, 2, 3, 4), resolve_crs("OGC:CRS84")))
    assert plain.inner == plain.outer == (1, 2, 3, 4)
    line, inner = storage_box((3265000, 354000, 3265000, 359000), resolve_crs("EPSG:4545"))
    assert line.geom_type == "LineString" and inner is None
    assert BBoxQuery.from_geometry(line, None).inner is None
