"""The demo generator without a database: determinism, the scenarios fixture, the
vectorised geometry operations it is built on."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import shapely

from planfuse.demo import generate_files
from planfuse.demo.geography import load_districts, star_blobs
from planfuse.demo.layers import DEMO_LAYERS
from planfuse.demo.ops import Mask, explode, subtract, union_groups, voronoi_cells
from planfuse.demo.scenarios import SCENARIOS_FILE, render_document, scenarios_document


def _hashes(folder) -> dict[str, str]:
    return {
        layer.id: hashlib.sha256((folder / layer.filename).read_bytes()).hexdigest()
        for layer in DEMO_LAYERS
    }


def test_scenarios_file_is_current():
    assert SCENARIOS_FILE.read_text(encoding="utf-8") == render_document(scenarios_document()), (
        "server/demo/scenarios.json is out of date: run `planfuse demo-data scenarios`"
    )


@pytest.mark.slow
def test_same_seed_gives_the_same_bytes(tmp_path):
    first = generate_files(tmp_path / "one", seed=7, scale=0.02, reuse=False)
    second = generate_files(tmp_path / "two", seed=7, scale=0.02, reuse=False)
    hashes = _hashes(first.folder)
    assert hashes == _hashes(second.folder)
    assert hashes == {e["layer"]: e["sha256"] for e in first.manifest["layers"]}
    other = generate_files(tmp_path / "three", seed=8, scale=0.02, reuse=False)
    changed = {k for k, v in _hashes(other.folder).items() if hashes[k] != v}
    # The real districts are copied as they are; every generated layer changes with the seed.
    assert changed == {layer.id for layer in DEMO_LAYERS} - {"districts"}


def test_a_generated_folder_is_reused(tmp_path):
    first = generate_files(tmp_path / "s0", seed=1, scale=0)
    messages = []
    again = generate_files(tmp_path / "s0", seed=1, scale=0, echo=messages.append)
    assert messages == [f"demo data: reusing {tmp_path / 's0'}"]
    assert again.manifest == first.manifest
    assert not list(tmp_path.glob("s0.tmp-*"))


def test_files_are_sorted_geojson_in_each_departments_crs(tmp_path):
    import json

    files = generate_files(tmp_path / "s0", seed=1, scale=0)
    for layer in DEMO_LAYERS:
        text = (files.folder / layer.filename).read_text(encoding="utf-8")
        doc = json.loads(text)
        assert doc["type"] == "FeatureCollection"
        if layer.id == "districts":
            continue
        assert list(doc) == sorted(doc)
        feature = doc["features"][0]
        assert list(feature) == ["geometry", "properties", "type"]
        assert list(feature["geometry"]) == ["coordinates", "type"]
        assert list(feature["properties"]) == sorted(feature["properties"])
        assert feature["properties"]["demo_id"]
        x = shapely.get_coordinates(shapely.from_geojson(json.dumps(feature["geometry"])))[0, 0]
        if layer.crs == "EPSG:4523":
            assert 35_000_000 < x < 36_000_000  # zone-prefixed eastings
        elif layer.crs in ("EPSG:4524",):
            assert 36_000_000 < x < 37_000_000
        elif layer.crs in ("EPSG:4544", "EPSG:4545"):
            assert 0 < x < 1_000_000
        else:
            assert 105 < x < 111  # degrees


def test_voronoi_cells_follow_their_points():
    rng = np.random.default_rng(3)
    pts = rng.uniform(0, 10_000, (500, 2))
    cells = voronoi_cells(pts, shapely.box(0, 0, 10_000, 10_000))
    assert shapely.contains_xy(cells, pts[:, 0], pts[:, 1]).all()
    assert shapely.area(cells).sum() == pytest.approx(1e8)


def test_union_groups_makes_concave_parcels_with_shared_edges():
    rng = np.random.default_rng(4)
    pts = rng.uniform(0, 10_000, (600, 2))
    cells = voronoi_cells(pts, shapely.box(0, 0, 10_000, 10_000))
    groups = rng.integers(0, 50, 600)
    merged, labels = union_groups(cells, groups)
    assert len(merged) == len(np.unique(groups)) == len(labels)
    assert shapely.is_valid(merged).all()
    assert shapely.area(merged).sum() == pytest.approx(1e8)
    # Merged cells are not convex (the parcels' outlines bend inwards).
    assert (shapely.area(shapely.convex_hull(merged)) > shapely.area(merged) * 1.01).any()


def test_clip_to_districts_keeps_interior_features_whole():
    d = load_districts()
    mask = Mask.of(d.work)
    seat = d.seats_xy[d.index_of("500101")]
    inside = shapely.Point(*seat).buffer(500)
    crossing = shapely.box(*shapely.bounds(d.work[d.index_of("500103")]))
    pieces, src, part = mask.clip(np.array([inside, crossing], dtype=object))
    assert pieces[0].equals(inside) and part[0] == d.index_of("500101")
    assert set(src[1:]) == {1} and len(set(part[1:].tolist())) > 1
    assert shapely.area(pieces[1:]).sum() == pytest.approx(crossing.area, rel=1e-9)


def test_subtract_and_explode():
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)], dtype=object)
    parts, idx = subtract(geoms, [shapely.box(4, -1, 6, 11)])
    assert idx.tolist() == [0, 0, 1]
    assert shapely.area(parts).tolist() == [40.0, 40.0, 100.0]
    collection = shapely.GeometryCollection(
        [shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])]
    )
    parts, idx = explode(np.array([collection], dtype=object))
    assert [p.geom_type for p in parts] == ["Polygon"]


def test_star_blobs_are_valid():
    rng = np.random.default_rng(5)
    blobs = star_blobs(
        np.zeros(200), np.zeros(200), rng.uniform(10, 1000, 200), rng, roughness=0.45
    )
    assert shapely.is_valid(blobs).all()
