"""LayerIndex (vectorised overlaps) and IndexCache (thread-safe LRU, build once)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import shapely

from planfuse.geo.index import IndexCache, LayerIndex, _polygonal


def grid(n=10, cell=100.0):
    """n×n square parcels of cell×cell metres tiling [0, n·cell]²; ids 1000+k."""
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x0 = (i.ravel() * cell).astype(float)
    y0 = (j.ravel() * cell).astype(float)
    geoms = shapely.box(x0, y0, x0 + cell, y0 + cell)
    ids = 1000 + np.arange(n * n)
    codes = np.where((i.ravel() + j.ravel()) % 2 == 0, "0701", "0101")
    return LayerIndex(ids, geoms, {"code": codes})


def test_overlaps_on_a_tiling_add_up_to_the_project_area():
    index = grid()
    project = shapely.Polygon([(150, 150), (750, 180), (620, 700), (180, 640)])
    result = index.overlaps(project)
    assert result.total_area_m2 == pytest.approx(project.area, rel=1e-12)
    assert result.union_area_m2() == pytest.approx(project.area, rel=1e-12)
    assert np.all(np.diff(result.positions) > 0)
    np.testing.assert_array_equal(result.ids, 1000 + result.positions)
    assert set(shapely.get_type_id(result.geometries)) <= {3, 6}
    np.testing.assert_allclose(shapely.area(result.geometries), result.areas_m2)


def test_parcels_inside_the_project_are_not_intersected_but_whole():
    index = grid()
    project = shapely.box(100, 100, 400, 400)  # exactly 9 parcels
    result = index.overlaps(project)
    assert len(result) == 9
    np.testing.assert_allclose(result.areas_m2, 10_000.0)
    for pos, piece in zip(result.positions, result.geometries, strict=True):
        assert piece is index.geometries[pos]  # the stored geometry itself, no overlay


def test_touching_features_have_no_overlap():
    index = grid()
    outside = shapely.box(1000, 0, 1100, 100)  # an edge of parcel (9, 0), a corner of (9, 1)
    assert len(index.query(outside)) == 2
    assert len(index.overlaps(outside)) == 0
    ring = shapely.box(100, 100, 200, 200)  # exactly one parcel; 8 more touch it
    assert len(index.query(ring)) == 9
    result = index.overlaps(ring)
    assert len(result) == 1
    assert result.areas_m2[0] == pytest.approx(10_000.0)


def test_min_area_filter():
    index = grid()
    project = shapely.box(195, 100, 400, 200)  # 5 m into parcel (1,1), then 2 whole ones
    assert len(index.overlaps(project)) == 3
    result = index.overlaps(project, min_area_m2=600.0)
    assert len(result) == 2
    assert result.areas_m2.min() > 600.0


def test_empty_inputs():
    index = grid()
    assert len(index.overlaps(shapely.Polygon())) == 0
    assert len(index.overlaps(shapely.box(5000, 5000, 6000, 6000))) == 0
    empty = LayerIndex(np.array([], dtype=np.int64), np.array([], dtype=object))
    assert len(empty.overlaps(shapely.box(0, 0, 1, 1))) == 0
    assert empty.nearest(shapely.Point(0, 0)) == (-1, float("inf"))


def test_polygonal_parts_only_in_pieces():
    gc = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(1, 1), (2, 2)])])
    line_only = shapely.GeometryCollection([shapely.LineString([(1, 1), (2, 2)])])
    out = _polygonal(np.array([gc, line_only, shapely.box(0, 0, 2, 2)], dtype=object))
    assert out[0].geom_type == "Polygon"
    assert out[1].is_empty
    assert out[2].area == 4.0


def test_query_predicates_and_attributes():
    index = grid()
    # The predicate reads predicate(query, feature), as in shapely's STRtree.
    pos = index.query(shapely.box(150, 150, 160, 160), predicate="within")
    assert index.ids[pos].tolist() == [1011]
    assert len(index.query(shapely.box(150, 150, 160, 160), predicate="contains")) == 0
    assert len(index.query(shapely.box(100, 100, 300, 300), predicate="contains")) == 4
    pos = index.query(shapely.box(150, 150, 160, 160), predicate="intersects")
    assert index.ids[pos].tolist() == [1011]
    assert index.attributes["code"][pos].tolist() == ["0701"]
    centre = shapely.Point(550, 550)  # middle of parcel (5, 5): edges 50 m, corners 70.7 m
    assert len(index.query(centre, predicate="dwithin", distance_m=60)) == 5
    assert len(index.query(centre, predicate="dwithin", distance_m=75)) == 9


def test_nearest_with_and_without_mask():
    index = grid()
    outside = shapely.Point(-30, 50)
    assert index.nearest(outside) == (0, 30.0)
    mask = index.attributes["code"] == "0101"
    pos, dist = index.nearest(outside, mask)
    assert index.attributes["code"][pos] == "0101"
    assert dist == pytest.approx(np.hypot(30, 50))  # parcel (0,1) starts at y=100
    far = shapely.Point(-50_000, 0)
    pos, dist = index.nearest(far, mask)  # found by the expanding search
    assert dist == pytest.approx(np.hypot(50_000, 100))
    assert index.nearest_distance_m(outside, np.zeros(len(index), dtype=bool)) == float("inf")
    with pytest.raises(ValueError):
        index.nearest(outside, np.ones(3, dtype=bool))


def test_constructor_checks_lengths():
    with pytest.raises(ValueError):
        LayerIndex([1, 2], [shapely.Point(0, 0)])
    with pytest.raises(ValueError):
        LayerIndex([1], [shapely.Point(0, 0)], {"code": ["a", "b"]})


def test_overlap_query_against_100k_polygons_matches_brute_force():
    n = 316
    cell = 100.0
    rng = np.random.default_rng(1)
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    cx, cy = (i.ravel() + 0.5) * cell, (j.ravel() + 0.5) * cell
    # Octagon-ish parcels with jittered edge midpoints (real parcels are not boxes).
    offs = np.array(
        [[-50, -50], [0, -50], [50, -50], [50, 0], [50, 50], [0, 50], [-50, 50], [-50, 0]], float
    )
    jit = rng.uniform(-3, 3, (n * n, 8, 2))
    jit[:, ::2] = 0
    pts = np.stack([cx, cy], 1)[:, None, :] + offs[None] + jit
    geoms = shapely.polygons(np.concatenate([pts, pts[:, :1]], axis=1))
    index = LayerIndex(np.arange(n * n), geoms)
    for query in range(100):
        x0, y0 = rng.uniform(3_000, 28_000, 2)
        side = rng.uniform(1_000, 2_236)  # 1–5 km²
        th = np.linspace(0, 2 * np.pi, 41)[:-1]
        r = side / 2 * (1 + 0.1 * np.sin(5 * th))
        project = shapely.Polygon(np.stack([x0 + r * np.cos(th), y0 + r * np.sin(th)], 1))
        result = index.overlaps(project)
        assert len(result) > 50
        if query < 5:  # speed is measured in tests/benchmarks/bench_spatial_query.py
            hits = shapely.intersects(geoms, project)
            assert len(result) == int(hits.sum())


# --- IndexCache ---------------------------------------------------------------------------


def small_index(tag=0):
    return LayerIndex([tag], [shapely.box(0, 0, 1, 1)])


def test_cache_builds_once_under_concurrency():
    calls = []
    started = threading.Event()

    def loader(layer_id, version):
        calls.append((layer_id, version))
        started.set()
        time.sleep(0.05)
        return small_index()

    cache = IndexCache(loader)
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(cache.get("farmland", 3))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [("farmland", 3)]
    assert cache.builds == 1
    assert all(r is results[0] for r in results)


def test_different_keys_build_in_parallel():
    # Each build waits until all four are building at once: builds run one after another
    # would break the barrier (its timeout) instead of passing.
    all_building = threading.Barrier(4, timeout=30)
    broken = []

    def loader(layer_id, version):
        try:
            all_building.wait()
        except threading.BrokenBarrierError:
            broken.append(layer_id)
        return small_index()

    cache = IndexCache(loader)
    threads = [threading.Thread(target=cache.get, args=(f"layer{k}", 1)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert broken == []
    assert len(cache) == 4


def test_lru_eviction():
    cache = IndexCache(lambda layer_id, version: small_index(), max_entries=2)
    a = cache.get("a", 1)
    cache.get("b", 1)
    assert cache.get("a", 1) is a  # touch a: b is now least recent
    cache.get("c", 1)
    assert ("a", 1) in cache
    assert ("b", 1) not in cache
    assert ("c", 1) in cache
    assert cache.builds == 3


def test_invalidate_drops_every_version_of_a_layer():
    cache = IndexCache(lambda layer_id, version: small_index())
    cache.get("a", 1)
    cache.get("a", 2)
    cache.get("b", 1)
    cache.invalidate("a")
    assert len(cache) == 1
    assert ("b", 1) in cache
    cache.get("a", 2)
    assert cache.builds == 4


def test_loader_errors_are_not_cached():
    attempts = []

    def loader(layer_id, version):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database down")
        return small_index()

    cache = IndexCache(loader)
    with pytest.raises(RuntimeError):
        cache.get("a", 1)
    assert cache.get("a", 1) is not None
    assert len(attempts) == 2


def test_build_finishing_after_invalidate_is_not_cached():
    release = threading.Event()
    building = threading.Event()

    def loader(layer_id, version):
        building.set()
        release.wait(5)
        return small_index()

    cache = IndexCache(loader)
    out = []
    t = threading.Thread(target=lambda: out.append(cache.get("a", 1)))
    t.start()
    assert building.wait(5)
    cache.invalidate("a")
    release.set()
    t.join()
    assert out and out[0] is not None  # the caller still gets its index
    assert ("a", 1) not in cache


def test_cache_rejects_zero_capacity():
    with pytest.raises(ValueError):
        IndexCache(lambda a, b: small_index(), max_entries=0)
