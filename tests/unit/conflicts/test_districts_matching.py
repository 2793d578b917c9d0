"""Cutting pieces at district boundaries, and matching re-detected pieces to stored
patches (IoU ≥ 0.9 or symmetric difference under the sliver size, one to one)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from planfuse.services.conflicts.districts import DistrictSet, split_by_district
from planfuse.services.conflicts.matching import match_patches
from planfuse.services.layers.data import LayerRef


def districts() -> DistrictSet:
    geoms = np.array([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], dtype=object)
    shapely.prepare(geoms)
    return DistrictSet(
        ref=LayerRef("districts", 1, "district", "districts", ""),
        adcodes=np.array(["500103", "500112"], dtype=object),
        names=np.array(["渝中区", "渝北区"], dtype=object),
        geoms=geoms,
        areas_m2=shapely.area(geoms),
        tree=shapely.STRtree(geoms),
    )


def test_split_by_district():
    pieces = np.array(
        [
            shapely.box(10, 10, 20, 20),  # inside the first
            shapely.box(90, 10, 110, 20),  # across both
            shapely.box(190, 90, 210, 110),  # partly outside every district
            shapely.box(500, 500, 510, 510),  # outside every district
        ],
        dtype=object,
    )
    parts = split_by_district(pieces, districts())
    got = sorted(
        zip(
            parts.owner.tolist(),
            parts.district.tolist(),
            np.round(parts.areas_m2, 6).tolist(),
            strict=True,
        )
    )
    assert got == [
        (0, 0, 100.0),
        (1, 0, 100.0),
        (1, 1, 100.0),
        (2, -1, 300.0),
        (2, 1, 100.0),
        (3, -1, 100.0),
    ]
    # Areas are conserved.
    assert parts.areas_m2.sum() == pytest.approx(shapely.area(pieces).sum())


def test_matching_rule():
    old = np.array(
        [
            shapely.box(0, 0, 100, 100),  # 10,000 m²
            shapely.box(300, 0, 310, 21),  # 210 m²
            shapely.box(500, 0, 600, 100),
            shapely.box(800, 0, 900, 100),
        ],
        dtype=object,
    )
    new = np.array(
        [
            shapely.box(0, 0, 100, 105),  # IoU 0.952: same patch
            shapely.box(300, 0, 310, 35),  # IoU 0.6, but differs by 140 m² < 200: same
            shapely.box(500, 0, 600, 70),  # IoU 0.7, differs by 3,000 m²: a new patch
            shapely.box(800, 0, 900, 100),  # identical, but another type
        ],
        dtype=object,
    )
    old_types = np.array(["04", "04", "04", "03"], dtype=object)
    new_types = np.array(["04", "04", "04", "04"], dtype=object)
    matches = match_patches(old, old_types, new, new_types, min_iou=0.9, max_symdiff_m2=200.0)
    assert sorted((m.old, m.new) for m in matches) == [(0, 0), (1, 1)]
    assert next(m for m in matches if m.old == 0).iou == pytest.approx(10_000 / 10_500)


def test_matching_is_one_to_one_and_prefers_the_best_overlap():
    old = np.array([shapely.box(0, 0, 100, 100)], dtype=object)
    new = np.array([shapely.box(0, 0, 100, 96), shapely.box(0, 0, 100, 99)], dtype=object)
    types = np.array(["04"], dtype=object)
    matches = match_patches(
        old, types, new, np.array(["04", "04"], dtype=object), min_iou=0.9, max_symdiff_m2=200.0
    )
    assert [(m.old, m.new) for m in matches] == [(0, 1)]
