"""The numpy MVT encoder against mapbox_vector_tile.encode: the same tiles, decoded."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from planfuse.ogc import tiles
from planfuse.services.maps import mvt


def reference(name, geoms, ids, properties):
    features = []
    for i, geom in enumerate(geoms):
        props = {k: col[i] for k, col in properties.items() if col[i] is not None}
        features.append({"geometry": geom, "properties": props, "id": ids[i]})
    return mapbox_vector_tile.encode(
        {"name": name, "features": features},
        default_options={"extents": 4096, "y_coord_down": True, "check_winding_order": False},
    )


def decoded(content):
    return mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})


def assert_same(geoms, ids, properties):
    geoms = np.asarray(geoms, dtype=object)
    ours = mvt.encode_layer("layer", geoms, ids, properties)
    theirs = reference("layer", geoms, ids, properties)
    assert decoded(ours) == decoded(theirs)


def test_hand_picked_geometries():
    square = shapely.Polygon([(10, 10), (10, 20), (20, 20), (20, 10)])
    square = shapely.orient_polygons(square, exterior_cw=False)
    holed = shapely.orient_polygons(
        shapely.Polygon(
            [(100, 100), (100, 400), (400, 400), (400, 100)],
            [[(200, 200), (300, 200), (300, 300), (200, 300)]],
        ),
        exterior_cw=False,
    )
    multi = shapely.MultiPolygon([square, shapely.affinity.translate(holed, 1000, 1000)])
    geoms = [
        square,
        holed,
        multi,
        shapely.LineString([(0, 0), (4096, 4096), (5, 7)]),
        shapely.MultiLineString([[(1, 1), (2, 3)], [(-10, 50), (60, -5), (70, 70)]]),
        shapely.Point(2048, 1024),
        shapely.MultiPoint([(1, 2), (3, 4), (3000, 17)]),
    ]
    ids = [1, 2, 3, 10, 11, 20, 21]
    properties = {
        "fid": ids,
        "code": ["0701", None, "0801", None, None, "0701", None],
        "rank": [1, 2, None, 3, 1, None, 2],
        "ratio": [0.5, None, None, None, 1.25, None, None],
        "flag": [True, False, None, None, None, True, None],
    }
    assert_same(geoms, ids, properties)


@pytest.mark.parametrize("seed", range(5))
def test_pipeline_output(seed):
    """Random blobs, lines and points through clipping, gridding and simplification."""
    rng = np.random.default_rng(seed)
    z, x, y = 13, 6500, 3350
    minx, miny, maxx, maxy = tiles.tile_bounds(z, x, y)
    size = maxx - minx
    centres = rng.uniform([minx - 0.1 * size, miny - 0.1 * size], [maxx, maxy], (60, 2))
    blobs = shapely.buffer(shapely.points(centres), rng.uniform(0.002, 0.1, 60) * size, quad_segs=6)
    holes = shapely.buffer(shapely.points(centres[:20]), 0.001 * size, quad_segs=4)
    blobs[:20] = shapely.difference(blobs[:20], holes)
    lines = shapely.linestrings(rng.uniform(minx, maxx, (20, 5, 2)))
    points = shapely.points(rng.uniform([minx, miny], [maxx, maxy], (20, 2)))
    geoms = np.concatenate([blobs, lines, points])
    n = len(geoms)
    index = tiles.TileIndex(
        np.arange(1, n + 1),
        geoms,
        {
            "district": [["500106", None][i % 2] for i in range(n)],
            "code": [str(i % 7) for i in range(n)],
        },
    )
    rows, grid = tiles.tile_geometries(index, np.arange(n), z, x, y)
    assert len(rows) > n // 2
    ours = tiles.encode_tile(index, "layer", rows, grid)
    fids = index.ids[rows].tolist()
    properties = {"fid": fids}
    properties.update({k: v[rows].tolist() for k, v in index.attributes.items()})
    assert decoded(ours) == decoded(reference("layer", grid, fids, properties))


def test_wide_integers_text_and_empty_columns():
    """Multi-byte varints (ids past 2^35, negative and large attribute values), UTF-8
    text, a column that is all None and coordinates far outside the tile."""
    polygon = shapely.orient_polygons(
        shapely.Polygon([(-300, -300), (-300, 4400), (4400, 4400), (4400, -300)]),
        exterior_cw=False,
    )
    geoms = [polygon, shapely.Point(4095, 0), shapely.LineString([(-5000, 7), (9000, 4096)])]
    ids = [1, 2**35 + 17, 2**62]
    properties = {
        "fid": ids,
        "name": ["永久基本农田", "生态保护红线 · red line", ""],
        "level": [-1, 2**40, -(2**50)],
        "empty": [None, None, None],
        "ratio": [float("1e-300"), -0.0, 3.5],
    }
    assert_same(geoms, ids, properties)


def test_a_collapsed_ring_leaves_its_feature_out_and_keeps_the_others():
    sliver = shapely.Polygon([(0, 0), (0, 0), (0, 0), (0, 0)])  # no command survives
    square = shapely.orient_polygons(shapely.box(10, 10, 20, 20), exterior_cw=False)
    geoms = np.asarray([sliver, square], dtype=object)
    ours = decoded(mvt.encode_layer("layer", geoms, [5, 6], {"fid": [5, 6], "k": ["a", "b"]}))
    assert [(f["id"], f["properties"]) for f in ours["layer"]["features"]] == [
        (6, {"fid": 6, "k": "b"})
    ]


def test_an_empty_layer_is_a_valid_tile():
    content = mvt.encode_layer("layer", np.asarray([], dtype=object), [], {"fid": []})
    assert decoded(content) == {
        "layer": {"extent": 4096, "version": 2, "features": [], "type": "FeatureCollection"}
    }


def test_many_features_with_unique_ids_as_values():
    rng = np.random.default_rng(4)
    corners = rng.integers(-200, 4000, size=(3000, 2))
    geoms = shapely.box(corners[:, 0], corners[:, 1], corners[:, 0] + 50, corners[:, 1] + 30)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    ids = (np.arange(3000) * 7919 + 1).tolist()
    codes = [["0701", "0801", None, "1001"][i % 4] for i in range(3000)]
    assert_same(geoms, ids, {"fid": ids, "code": codes})
