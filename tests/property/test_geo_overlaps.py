"""Property tests of LayerIndex.overlaps: bounded by the project, additive under splits."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from planfuse.geo.index import LayerIndex

EXTENT = shapely.box(0, 0, 5_000, 5_000)


def tiling(seed: int, n: int) -> LayerIndex:
    """A Voronoi tiling of the 5 km square into n irregular parcels (ids 10·k)."""
    rng = np.random.default_rng(seed)
    points = shapely.multipoints(rng.uniform(0, 5_000, (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=EXTENT))
    cells = shapely.intersection(cells, EXTENT)
    cells = cells[shapely.area(cells) > 0]
    return LayerIndex(10 * np.arange(len(cells)), cells)


def overlapping_layer(seed: int, n: int) -> LayerIndex:
    """Random discs and boxes that overlap each other."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 5_000, (n, 2))
    sizes = rng.uniform(20, 800, n)
    discs = shapely.buffer(shapely.points(centres[: n // 2]), sizes[: n // 2], quad_segs=4)
    c = centres[n // 2 :]
    s = sizes[n // 2 :]
    boxes = shapely.box(c[:, 0], c[:, 1], c[:, 0] + s, c[:, 1] + s * 0.7)
    return LayerIndex(np.arange(n), np.concatenate([discs, boxes]))


@st.composite
def star_polygons(draw):
    """Simple polygons: star-shaped around a centre, angles strictly increasing."""
    cx = draw(st.floats(500, 4_500))
    cy = draw(st.floats(500, 4_500))
    n = draw(st.integers(3, 24))
    radii = draw(st.lists(st.floats(30, 1_200), min_size=n, max_size=n))
    jitter = draw(st.lists(st.floats(0.05, 0.95), min_size=n, max_size=n))
    angles = (np.arange(n) + np.array(jitter)) * (2 * np.pi / n)
    r = np.array(radii)
    return shapely.Polygon(np.column_stack([cx + r * np.cos(angles), cy + r * np.sin(angles)]))


@settings(max_examples=150, deadline=None)
@given(project=star_polygons(), seed=st.integers(0, 2**32 - 1), n=st.integers(2, 120))
def test_overlap_never_exceeds_project_or_feature(project, seed, n):
    index = overlapping_layer(seed, n)
    result = index.overlaps(project)
    tol = 1e-9 * project.area + 1e-6
    assert np.all(result.areas_m2 <= project.area + tol)
    assert np.all(result.areas_m2 <= index.areas_m2[result.positions] * (1 + 1e-9) + 1e-6)
    assert np.all(result.areas_m2 > 0)
    assert result.union_area_m2() <= project.area + tol
    np.testing.assert_array_equal(result.ids, index.ids[result.positions])


@settings(max_examples=100, deadline=None)
@given(project=star_polygons(), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 200))
def test_tiling_overlaps_sum_to_the_project_area(project, seed, n):
    index = tiling(seed, n)
    result = index.overlaps(project)
    inside = shapely.intersection(project, EXTENT).area
    assert result.total_area_m2 <= project.area * (1 + 1e-9)
    assert abs(result.total_area_m2 - inside) <= 1e-6 * max(inside, 1.0)


@settings(max_examples=100, deadline=None)
@given(
    project=star_polygons(),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 120),
    cut=st.floats(0.1, 0.9),
    layer=st.sampled_from(["tiling", "overlapping"]),
)
def test_splitting_the_project_gives_additive_overlaps(project, seed, n, cut, layer):
    index = tiling(seed, n) if layer == "tiling" else overlapping_layer(seed, n)
    x0, y0, x1, y1 = project.bounds
    xc = x0 + cut * (x1 - x0)
    left = shapely.intersection(project, shapely.box(x0 - 1, y0 - 1, xc, y1 + 1))
    right = shapely.intersection(project, shapely.box(xc, y0 - 1, x1 + 1, y1 + 1))
    whole = index.overlaps(project)
    per_feature = dict.fromkeys(whole.positions.tolist(), 0.0)
    for half in (left, right):
        if half.is_empty:
            continue
        part = index.overlaps(half)
        for pos, area in zip(part.positions.tolist(), part.areas_m2.tolist(), strict=True):
            per_feature[pos] = per_feature.get(pos, 0.0) + area
    expected = dict(zip(whole.positions.tolist(), whole.areas_m2.tolist(), strict=True))
    for pos, area in per_feature.items():
        reference = expected.get(pos, 0.0)
        assert abs(area - reference) <= 1e-6 * max(reference, 1.0), (pos, area, reference)
    total_halves = sum(per_feature.values())
    assert abs(total_halves - whole.total_area_m2) <= 1e-6 * max(whole.total_area_m2, 1.0)
