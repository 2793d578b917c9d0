"""The parallel overlay against a plain pairwise loop: identical, contained, touching,
partially overlapping and multi-part polygons with holes; differences; cuts at district
boundaries; cancellation between chunks."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from planfuse.services.conflicts.overlay import (
    Cancelled,
    intersect_pairs,
    polygonal,
    subtract_cover,
)


def naive_pairs(left, right) -> dict[tuple[int, int], float]:
    out = {}
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            piece = a.intersection(b)
            area = (
                sum(
                    p.area
                    for p in shapely.get_parts(piece)
                    if p.geom_type in ("Polygon", "MultiPolygon")
                )
                if piece.geom_type == "GeometryCollection"
                else (piece.area if piece.geom_type in ("Polygon", "MultiPolygon") else 0.0)
            )
            if area > 0:
                out[(i, j)] = area
    return out


def random_polygons(rng, n, extent=1000.0, size=(20, 150)):
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(0, extent, 2)
        r = rng.uniform(*size)
        k = rng.integers(3, 9)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(0.4, 1.0, k) * r
        ring = np.column_stack((cx + radii * np.cos(angles), cy + radii * np.sin(angles)))
        poly = shapely.make_valid(shapely.Polygon(ring))
        poly = polygonal(np.array([poly], dtype=object))[0]
        if not poly.is_empty and poly.area > 0:
            polys.append(poly)
    return np.array(polys, dtype=object)


def special_cases():
    a = shapely.box(0, 0, 100, 100)
    holed = shapely.Polygon(
        [(200, 0), (300, 0), (300, 100), (200, 100)], [[(220, 20), (280, 20), (280, 80), (220, 80)]]
    )
    multi = shapely.MultiPolygon([shapely.box(400, 0, 450, 50), shapely.box(460, 0, 500, 50)])
    left = np.array([a, holed, multi, shapely.box(600, 0, 700, 100)], dtype=object)
    right = np.array(
        [
            shapely.box(0, 0, 100, 100),  # identical to left[0]
            shapely.box(10, 10, 20, 20),  # inside left[0]
            shapely.box(100, 0, 150, 100),  # touches left[0] along an edge
            shapely.box(230, 30, 270, 70),  # in the hole of left[1]: touches nothing
            shapely.box(250, 50, 350, 150),  # across the hole's ring of left[1]
            shapely.box(420, 10, 480, 40),  # across both parts of left[2]
            shapely.box(550, -50, 800, 200),  # contains left[3]
            shapely.Point(650, 50).buffer(10),  # inside left[3]
        ],
        dtype=object,
    )
    return left, right


@pytest.mark.parametrize("workers", [1, 2])
def test_special_cases_match_the_pairwise_loop(workers):
    left, right = special_cases()
    result = intersect_pairs(left, right, workers=workers, chunk_size=1)
    got = {
        (int(i), int(j)): float(a)
        for i, j, a in zip(result.left, result.right, result.areas_m2, strict=True)
    }
    want = naive_pairs(left, right)
    assert got.keys() == want.keys()
    for key, area in want.items():
        assert got[key] == pytest.approx(area, rel=1e-12)
    # Skipped intersections still give the exact pieces.
    assert shapely.equals(
        result.pieces[list(zip(result.left, result.right, strict=True)).index((0, 1))], right[1]
    )
    assert (0, 2) not in got  # touching only
    assert (1, 3) not in got  # inside the hole
    assert all(p.geom_type in ("Polygon", "MultiPolygon") for p in result.pieces)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_polygons_match_the_pairwise_loop(seed):
    rng = np.random.default_rng(seed)
    left = random_polygons(rng, 80)
    right = np.concatenate([random_polygons(rng, 60), left[:10]])  # some identical pairs
    result = intersect_pairs(left, right, workers=2, chunk_size=7)
    got = {
        (int(i), int(j)): float(a)
        for i, j, a in zip(result.left, result.right, result.areas_m2, strict=True)
    }
    want = naive_pairs(left, right)
    assert got.keys() == want.keys()
    assert sum(got.values()) == pytest.approx(sum(want.values()), rel=1e-9)
    order = list(zip(result.left.tolist(), result.right.tolist(), strict=True))
    assert order == sorted(order)


def test_difference_against_a_cover():
    left = np.array(
        [
            shapely.box(0, 0, 100, 100),  # half outside
            shapely.box(10, 200, 20, 210),  # inside one cover polygon
            shapely.box(500, 500, 600, 600),  # far from every cover polygon
            shapely.box(140, 0, 260, 50),  # across two cover polygons, gap between
        ],
        dtype=object,
    )
    cover = np.array(
        [
            shapely.box(50, -10, 150, 300),
            shapely.box(0, 150, 100, 300),
            shapely.box(200, 0, 300, 100),
        ],
        dtype=object,
    )
    result = subtract_cover(left, cover, workers=2, chunk_size=1)
    areas = dict(zip(result.left.tolist(), result.areas_m2.tolist(), strict=True))
    assert areas == {0: pytest.approx(5000.0), 2: pytest.approx(10_000.0), 3: pytest.approx(2500.0)}
    assert (result.right == -1).all()


def test_polygonal_keeps_only_areas():
    geoms = np.array(
        [
            shapely.box(0, 0, 1, 1),
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.Point(5, 5)]),
            shapely.GeometryCollection(
                [
                    shapely.box(0, 0, 1, 1),
                    shapely.box(2, 2, 3, 3),
                    shapely.LineString([(9, 9), (8, 8)]),
                ]
            ),
            shapely.GeometryCollection(
                [
                    shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]),
                    shapely.Point(0, 0),
                ]
            ),
            shapely.GeometryCollection([shapely.Point(0, 0)]),
        ],
        dtype=object,
    )
    out = polygonal(geoms)
    assert [g.geom_type for g in out] == [
        "Polygon",
        "Polygon",
        "Polygon",
        "MultiPolygon",
        "MultiPolygon",
        "Polygon",
    ]
    assert shapely.area(out).tolist() == [1.0, 0.0, 1.0, 2.0, 2.0, 0.0]


def test_cancel_between_chunks():
    rng = np.random.default_rng(5)
    left = random_polygons(rng, 60)
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        intersect_pairs(left, left, workers=2, chunk_size=5, check=check)
    progress = []
    intersect_pairs(left, left, workers=2, chunk_size=5, progress=progress.append)
    assert progress == sorted(progress) and progress[-1] == 1.0
