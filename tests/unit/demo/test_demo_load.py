"""`load_demo` on SQLite and PostgreSQL: only into an empty database; the planted features
land with the feature ids and geometry the scenarios fixture promises; the land-use
status versions and the monitoring indicators come with them."""

from __future__ import annotations

import math

from sqlalchemy import select

from planfuse.demo import DEMO_LAYERS, load_demo
from planfuse.demo import testing as demo
from planfuse.demo.status import YEARS
from planfuse.services.conflicts.analyses import ANALYSES
from planfuse.services.conflicts.queries import ConflictQuery, list_conflicts
from planfuse.services.layers.catalogue import layer_detail
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.storage.models import Job


def test_load_demo_only_into_an_empty_database(ctx, tmp_path):
    messages: list[str] = []
    summaries = load_demo(ctx, scale=0, echo=messages.append, cache_dir=tmp_path / "files")
    assert summaries is not None
    assert [s.layer_id for s in summaries] == [layer.id for layer in DEMO_LAYERS]
    assert any("loaded in" in m for m in messages)
    status = layer_detail(ctx, "land_use_status")
    assert sorted(v["as_of"] for v in status["versions"]) == [f"{y}-12-31" for y in YEARS]
    assert len(list_indicators(ctx)) >= 10

    # The planted features are where scenarios.json says, with their figures.
    work = demo.planted_work(ctx)
    record = demo.scenario("a")
    project = demo.project_work(record)
    overlap = project.intersection(work["a:F1"]).area
    expected = record["expected"]["items"]["basic_farmland"]["overlap_area_m2"]
    assert math.isclose(overlap, expected, rel_tol=1e-6)

    # The demo ships with a finished detection of every analysis: the two-plan scenario's
    # conflict patches are stored, with the job that found them.
    detections = [m for m in messages if m.startswith("demo data: detection ")]
    assert [m.split()[3].rstrip(":") for m in detections] == list(ANALYSES)
    assert all(": done, " in m for m in detections), detections
    listed = list_conflicts(ctx, ConflictQuery(analysis="two_plans", geometry=False))
    planted = demo.scenario("g")["expected"]["conflicts"]
    assert listed["total"] >= len(planted) > 0
    with ctx.db.session() as session:
        jobs = session.execute(select(Job.kind, Job.state, Job.created_by_user)).all()
    assert sorted(jobs) == [("conflicts.detect", "done", "planfuse-demo")] * len(ANALYSES)

    messages.clear()
    assert load_demo(ctx, scale=0, echo=messages.append, cache_dir=tmp_path / "files") is None
    assert messages == ["demo data: the database already holds 12 layers; not loading the demo"]
