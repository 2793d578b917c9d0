"""Property tests of the conflict and ledger services: the parallel overlay equals a plain
pairwise loop (pieces and areas) for any polygons — identical, nested, touching, crossing;
the difference against a cover equals the difference with its union; cutting pieces at
district boundaries conserves area; controlled rounding always adds up."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planfuse.services.conflicts.districts import DistrictSet, split_by_district
from planfuse.services.conflicts.overlay import intersect_pairs, subtract_cover
from planfuse.services.layers.data import LayerRef
from planfuse.services.ledgers.rounding import controlled_round, largest_remainder, round_total

# Integer coordinates on a small grid make identical, touching and nested boxes common.
coord = st.integers(min_value=0, max_value=20)


@st.composite
def boxes(draw, max_size=12):
    n = draw(st.integers(min_value=0, max_value=max_size))
    out = []
    for _ in range(n):
        x0, x1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(coord, min_size=2, max_size=2, unique=True)))
        box = shapely.box(x0, y0, x1, y1)
        if draw(st.booleans()):
            # A non-rectangular polygon: cut a triangle off one corner.
            box = box.difference(
                shapely.Polygon([(x0, y0), ((x0 + x1) / 2, y0), (x0, (y0 + y1) / 2)])
            )
        out.append(box)
    return np.array(out, dtype=object)


def naive(left, right):
    out = {}
    for i, a in enumerate(left):
        for j, b in enumerate(right):
            area = a.intersection(b).area
            if area > 0:
                out[(i, j)] = area
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(left=boxes(), right=boxes(), workers=st.sampled_from([1, 2]), chunk=st.integers(1, 5))
def test_overlay_equals_the_pairwise_loop(left, right, workers, chunk):
    if len(left) and len(right):
        right = np.concatenate([right, left[: len(left) // 2]])  # identical pairs too
    result = intersect_pairs(left, right, workers=workers, chunk_size=chunk)
    got = dict(
        zip(
            zip(result.left.tolist(), result.right.tolist(), strict=True),
            result.areas_m2.tolist(),
            strict=True,
        )
    )
    want = naive(left, right)
    assert got.keys() == want.keys()
    for key, area in want.items():
        assert got[key] == pytest.approx(area, rel=1e-12, abs=1e-12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(left=boxes(), cover=boxes())
def test_difference_equals_the_difference_with_the_union(left, cover):
    result = subtract_cover(left, cover, workers=2, chunk_size=2)
    got = dict(zip(result.left.tolist(), result.areas_m2.tolist(), strict=True))
    union = shapely.union_all(cover) if len(cover) else shapely.Polygon()
    for i, poly in enumerate(left):
        # The union's noding can leave float dust where a cover polygon equals the piece.
        area = poly.difference(union).area
        assert got.get(i, 0.0) == pytest.approx(area, rel=1e-12, abs=1e-9)


def districts() -> DistrictSet:
    geoms = np.array(
        [shapely.box(0, 0, 10, 20), shapely.box(10, 0, 16, 20), shapely.box(16, 0, 20, 10)],
        dtype=object,
    )
    shapely.prepare(geoms)
    return DistrictSet(
        ref=LayerRef("d", 1, "district", "d", ""),
        adcodes=np.array(["1", "2", "3"], dtype=object),
        names=np.array(["a", "b", "c"], dtype=object),
        geoms=geoms,
        areas_m2=shapely.area(geoms),
        tree=shapely.STRtree(geoms),
    )


@settings(max_examples=100, deadline=None)
@given(pieces=boxes())
def test_cutting_at_district_boundaries_conserves_area(pieces):
    parts = split_by_district(pieces, districts())
    for i, piece in enumerate(pieces):
        mine = parts.areas_m2[parts.owner == i]
        assert mine.sum() == pytest.approx(piece.area, rel=1e-12, abs=1e-9)
        inside = parts.district[parts.owner == i]
        assert len(set(inside.tolist())) == len(inside)  # one part per district at most


tables = st.integers(1, 8).flatmap(
    lambda rows: st.integers(1, 8).flatmap(
        lambda cols: st.lists(
            st.one_of(st.just(0.0), st.floats(0, 1e6, allow_nan=False)),
            min_size=rows * cols,
            max_size=rows * cols,
        ).map(lambda v: np.array(v).reshape(rows, cols))
    )
)


@settings(max_examples=300, deadline=None)
@given(x=tables)
def test_controlled_rounding_adds_up(x):
    out = controlled_round(x)
    assert out.sum() == round_total(x.sum())
    assert (np.abs(out - x) < 1 + 1e-6).all()
    assert (np.abs(out.sum(axis=1) - x.sum(axis=1)) < 1 + 1e-6).all()
    assert (np.abs(out.sum(axis=0) - x.sum(axis=0)) < 1 + 1e-6).all()
    assert (out[x == 0] == 0).all()
    column = x[:, 0]
    lr = largest_remainder(column, round_total(column.sum()))
    assert lr.sum() == round_total(column.sum())
