"""The per-layer self-overlap mask and its background cache."""

from __future__ import annotations

import time

import numpy as np
import shapely

from planfuse.geo.index import LayerIndex
from planfuse.services.compliance.overlaps import OverlapMasks, self_overlap_mask


def layer(geoms) -> LayerIndex:
    return LayerIndex(np.arange(len(geoms)), np.array(geoms, dtype=object))


def test_a_coverage_has_no_overlaps():
    cells = [shapely.box(x, y, x + 10, y + 10) for x in range(0, 50, 10) for y in range(0, 50, 10)]
    assert not self_overlap_mask(layer(cells)).any()


def test_overlapping_and_contained_features_are_flagged_with_their_partners():
    geoms = [
        shapely.box(0, 0, 10, 10),
        shapely.box(5, 0, 15, 10),  # overlaps 0
        shapely.box(100, 0, 120, 20),
        shapely.box(105, 5, 110, 10),  # inside 2
        shapely.box(200, 0, 210, 10),  # alone
        shapely.box(210, 0, 220, 10),  # touches 4 only
    ]
    mask = self_overlap_mask(layer(geoms))
    assert mask[:4].all()
    assert not mask[4:].any()


def test_the_cache_builds_in_the_background_and_on_demand():
    index = layer([shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15)])
    masks = OverlapMasks(max_entries=1)
    first = masks.get(("a", 1), index)
    deadline = time.time() + 10
    while first is None and time.time() < deadline:
        time.sleep(0.01)
        first = masks.get(("a", 1), index)
    assert first is not None and first.all()
    other = masks.get(("b", 1), index, wait=True)
    assert other.all()
    # One entry only: "a" was evicted and is built again when asked for.
    assert masks.get(("a", 1), index, wait=True).all()


def test_duplicates_overlap_and_micro_slivers_do_not():
    geoms = [
        shapely.box(0, 0, 10, 10),
        shapely.box(0, 0, 10, 10),  # a duplicate
        shapely.box(100, 0, 110, 10),
        # Shares an edge with the one before, moved 1e-7 m into it: a 1e-6 m² sliver, as
        # coordinate rounding leaves between neighbours.
        shapely.box(110 - 1e-7, 0, 120, 10),
    ]
    mask = self_overlap_mask(layer(geoms))
    assert mask.tolist() == [True, True, False, False]


def test_a_zone_inside_its_ring_and_inside_a_third_polygon_is_found():
    # GEOS's coverage validation misses this: the inner zone's edges are all matched by its
    # ring, and the big polygon's edges are outside both.
    big = shapely.box(0, 0, 100, 100)
    inner = shapely.box(40, 40, 50, 50)
    ring = shapely.box(30, 30, 60, 60).difference(inner)
    assert self_overlap_mask(layer([big, inner, ring])).tolist() == [True, True, True]


def test_two_stacked_coverages_in_one_layer():
    a = [shapely.box(x, y, x + 10, y + 10) for x in range(0, 30, 10) for y in range(0, 30, 10)]
    b = [
        shapely.box(x + 5, y + 5, x + 15, y + 15)
        for x in range(0, 30, 10)
        for y in range(0, 30, 10)
    ]
    assert self_overlap_mask(layer(a + b)).all()
