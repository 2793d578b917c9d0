"""A detection split into spatial partitions gives the single-process answer: the same
records (type, source features, district) with the same geometries and areas (to 1e-9),
the same statistics — for every analysis, city-wide and for selected districts, also
after each partition's answer went through bytes (as it does between workers)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from planfuse.services.conflicts.detect import (
    detect,
    detect_partition,
    merge_detections,
    record_key,
)
from planfuse.services.conflicts.overlay import spatial_partition
from planfuse.services.conflicts.partitions import (
    decode_detection,
    encode_detection,
    partition_count,
)


def assert_same(single, merged) -> None:
    assert [record_key(r) for r in merged.records] == [record_key(r) for r in single.records]
    for a, b in zip(single.records, merged.records, strict=True):
        assert math.isclose(a.area_m2, b.area_m2, rel_tol=1e-9, abs_tol=1e-9)
        assert (a.sliver, a.sliver_reason, a.district) == (b.sliver, b.sliver_reason, b.district)
        assert a.sources == b.sources
        assert shapely.equals_exact(a.geom_work, b.geom_work, tolerance=1e-9)
    assert single.type_stats.keys() == merged.type_stats.keys()
    for code, entry in single.type_stats.items():
        for name, value in entry.items():
            assert math.isclose(value, merged.type_stats[code][name], rel_tol=1e-9, abs_tol=1e-4)
    assert single.layers == merged.layers


@pytest.mark.parametrize(
    ("analysis", "districts"),
    [
        ("two_plans", None),
        ("three_lines", None),
        ("plan_vs_controls", None),
        ("two_plans", ["500103", "500108"]),
    ],
)
def test_partitions_merge_to_the_single_process_answer(demo_ctx, analysis, districts):
    single = detect(demo_ctx, analysis, districts)
    assert single.records, "the demo has conflicts of every analysis"
    n = 5
    answers = [
        decode_detection(encode_detection(detect_partition(demo_ctx, analysis, districts, k, n)))
        for k in range(n)
    ]
    # Every partition found something: the split is spatial, not one partition doing all.
    assert sum(1 for a in answers if a.records) >= 3
    assert_same(single, merge_detections(answers))


def test_spatial_partitions_cover_every_feature_once():
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 10_000, size=(1_000, 2))
    geoms = shapely.buffer(shapely.points(centres), 10.0)
    parts = [spatial_partition(geoms, k, 7) for k in range(7)]
    together = np.concatenate(parts)
    assert sorted(together.tolist()) == list(range(1_000))
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    # Compact: a partition's bounding box is far smaller than the whole area.
    areas = [shapely.area(shapely.envelope(shapely.multipoints(centres[p]))) for p in parts]
    assert np.median(areas) < 0.5 * 10_000**2


def test_partition_count_follows_the_first_layers_size(demo_ctx):
    from planfuse.settings import load_settings

    count = partition_count(demo_ctx, {"analysis": "two_plans"})
    assert count >= 1
    values = dict(demo_ctx.settings.items())
    demo_ctx.settings = load_settings(values | {"detect_partition_features": 100}, environ={})
    try:
        many = partition_count(demo_ctx, {"analysis": "two_plans"})
        assert many > count
        demo_ctx.settings = load_settings(values | {"detect_partition_features": 0}, environ={})
        assert partition_count(demo_ctx, {"analysis": "two_plans"}) == 1
    finally:
        demo_ctx.settings = load_settings(values, environ={})
