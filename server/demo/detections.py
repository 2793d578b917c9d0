"""The demo's first conflict detections: a visitor opening the conflict viewer finds the
patches of every analysis the demo data supports, with their ledger, instead of an empty
page waiting for a coordinator to run one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planfuse.context import PlanFuse
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.analyses import ANALYSES
from planfuse.services.conflicts.detection_jobs import run_detection_now
from planfuse.services.layers.data import layers_by_kind

#: Who the demo's detections are recorded as (their history names this actor).
DEMO_ACTOR = Actor(app_id="", user="planfuse-demo", name="演示数据 · Demo data", dept=None)


def run_first_detections(
    ctx: PlanFuse, echo: Callable[[str], None] = lambda message: None
) -> list[dict[str, Any]]:
    """Detect every analysis whose input layers are loaded, city-wide, one after another;
    the finished jobs."""
    loaded = layers_by_kind(ctx)
    jobs = []
    for analysis in ANALYSES.values():
        if any(not loaded.get(kind) for kind in analysis.kinds):
            continue
        job = run_detection_now(ctx, analysis.name, None, DEMO_ACTOR)
        summary = job.get("summary") or {}
        conflicts = (summary.get("conflicts") or {}).get("count", 0)
        echo(f"demo data: detection {analysis.name}: {job['state']}, {conflicts:,} conflicts")
        jobs.append(job)
    return jobs
