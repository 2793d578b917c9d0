"""`load_demo` on SQLite and PostgreSQL: only into an empty database; the planted features
land with the feature ids and geometry the scenarios fixture promises."""

from __future__ import annotations

import math

from planfuse.demo import DEMO_LAYERS, load_demo
from planfuse.demo import testing as demo


def test_load_demo_only_into_an_empty_database(ctx, tmp_path):
    messages: list[str] = []
    summaries = load_demo(ctx, scale=0, echo=messages.append, cache_dir=tmp_path / "files")
    assert summaries is not None
    assert [s.layer_id for s in summaries] == [layer.id for layer in DEMO_LAYERS]
    assert any("loaded in" in m for m in messages)

    # The planted features are where scenarios.json says, with their figures.
    work = demo.planted_work(ctx)
    record = demo.scenario("a")
    project = demo.project_work(record)
    overlap = project.intersection(work["a:F1"]).area
    expected = record["expected"]["items"]["basic_farmland"]["overlap_area_m2"]
    assert math.isclose(overlap, expected, rel_tol=1e-6)

    messages.clear()
    assert load_demo(ctx, scale=0, echo=messages.append, cache_dir=tmp_path / "files") is None
    assert messages == ["demo data: the database already holds 11 layers; not loading the demo"]
