"""Two-plan conflict detection, 100,000 × 100,000 parcels, on `planfuse worker` processes:
two workers beside one, and the single process, in the same run.

    .venv/bin/python tests/benchmarks/bench_detection_workers.py [--n 100000]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--partition-features 12500]

Data: the plans of bench_conflicts.py (`shared`: drawn on a shared base, ~24 vertices,
~1 ha parcels), mostly construction land in both (type 02), so conflicts (03, 04) are a
share of the pieces, cut at two districts; imported once into a PostgreSQL schema
`bench_detection` through the import service.

Every worker is given one core (`overlay_workers` 1), so two workers are two cores; the
single-process runs are timed on one core and on both. Measured: the job's wall time from
submit to done (queue, partitions, merge and save), the partitions' own time (sum) beside
the single-process detection on one core — the difference over the partitions is the
per-partition overhead (loading the layer inputs, the district set, the hand-over through
the database) — and that every run gives the same answer (counts and areas per type).
The machine is shared: the load average is printed beside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from queue_support import redis_server, wait_workers_ready, workers  # noqa: E402

from planfuse.context import build_context  # noqa: E402
from planfuse.geo.crs import resolve_crs  # noqa: E402
from planfuse.geo.parse import ParsedFeature  # noqa: E402
from planfuse.http.problems import problem_dict  # noqa: E402
from planfuse.services.conflicts.actor import Actor  # noqa: E402
from planfuse.services.conflicts.detect import detect  # noqa: E402
from planfuse.services.conflicts.detection_jobs import save_detection, start_detection  # noqa: E402
from planfuse.services.layers.data import current_layers  # noqa: E402
from planfuse.services.layers.importer import ImportOptions, store_features  # noqa: E402
from planfuse.services.runners import job_runner  # noqa: E402
from planfuse.settings import load_settings  # noqa: E402
from planfuse.storage.models import JobPart  # noqa: E402
from tests.benchmarks.bench_conflicts import plan_pair  # noqa: E402

SCHEMA = "bench_detection"
SECRET = "bench-secret-" + "k" * 40


def context(url: str, **settings):
    values = {
        "database_url": f"{url}?options=-csearch_path%3D{SCHEMA}",
        "secret_key": SECRET,
        "overlay_workers": 1,
        **settings,
    }
    return build_context(load_settings(values, environ={}), describe_failure=problem_dict)


def prepare(url: str, n: int):
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    admin.dispose()
    ctx = context(url)
    ctx.db.upgrade()
    if current_layers(ctx, ["urban_plan"]):
        print(f"reusing schema {SCHEMA}")
        return ctx
    t = time.perf_counter()
    urban, land = plan_pair(n, "shared")
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = shapely.total_bounds(np.concatenate([urban, land]))
    mid = (minx + maxx) / 2
    layers = {
        "districts": (
            "district",
            np.array(
                [
                    shapely.box(minx - 10, miny - 10, mid, maxy + 10),
                    shapely.box(mid, miny - 10, maxx + 10, maxy + 10),
                ],
                dtype=object,
            ),
            [{"adcode": "500103", "name": "渝中区"}, {"adcode": "500112", "name": "渝北区"}],
        ),
        "urban_plan": (
            "urban_plan",
            urban,
            [
                {"code": str(c)}
                for c in rng.choice(["R2", "M1", "B1", "E1"], len(urban), p=[0.4, 0.3, 0.2, 0.1])
            ],
        ),
        "land_plan": (
            "land_plan",
            land,
            [
                {"code": str(c)}
                for c in rng.choice(["2110", "2120", "1100"], len(land), p=[0.5, 0.4, 0.1])
            ],
        ),
    }
    storage = resolve_crs("EPSG:4490")
    for layer_id, (kind, geoms, props) in layers.items():
        stored = ctx.work.to_storage(geoms)
        features = [
            ParsedFeature(geometry=g, properties=p, index=i)
            for i, (g, p) in enumerate(zip(stored, props, strict=True))
        ]
        store_features(ctx, features, storage, ImportOptions(layer_id=layer_id, kind=kind))
    print(f"data: {n:,} × {n:,} parcels imported in {time.perf_counter() - t:.0f} s")
    return ctx


def answer(by_type: dict) -> dict:
    return {
        code: (int(v["count"]), round(float(v["area_m2"]), 1), int(v["sliver_count"]))
        for code, v in by_type.items()
    }


def queue_run(ctx, broker: str, count: int, partition_features: int, log_dir: Path) -> dict:
    settings = {
        "database_url": ctx.settings.database_url,
        "broker_url": broker,
        "secret_key": SECRET,
        "overlay_workers": 1,
        "detect_partition_features": partition_features,
        "log_level": "WARNING",
    }
    queue_ctx = build_context(load_settings(settings, environ={}), describe_failure=problem_dict)
    try:
        with workers(settings, count, log_dir):
            wait_workers_ready(queue_ctx, count)
            t = time.perf_counter()
            job = start_detection(queue_ctx, "two_plans", None, Actor("bench", "bench"))
            done = job_runner(queue_ctx).wait(job["id"], timeout=3600)
            wall = time.perf_counter() - t
        assert done["state"] == "done", done
        with ctx.db.session() as session:
            rows = session.execute(
                select(JobPart.seconds, JobPart.worker).where(JobPart.job_id == job["id"])
            ).all()
        return {
            "wall_s": wall,
            "parts": len(rows),
            "part_s": [r.seconds for r in rows],
            "workers": len({r.worker for r in rows}),
            "answer": answer(done["summary"]["by_type"]),
        }
    finally:
        queue_ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--partition-features", type=int, default=12_500)
    args = parser.parse_args()
    ctx = prepare(args.postgres_url, args.n)
    load = os.getloadavg()
    print(
        f"cores: {os.cpu_count()}, load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )

    # The single process, one core and both: detection, then the save (which primes the
    # stored patches, so every later run is a re-detection of unchanged layers).
    t = time.perf_counter()
    single = detect(ctx, "two_plans", workers=1)
    one_core = time.perf_counter() - t
    t = time.perf_counter()
    summary = save_detection(ctx, single, job_id=None, actor=Actor("bench", "bench"))
    first_save = time.perf_counter() - t
    print(
        f"single process, 1 core:  detect {one_core:6.1f} s   first save {first_save:5.1f} s   "
        f"({summary['conflicts']['count']:,} conflicts, {len(single.records):,} records)"
    )
    expected = answer(summary["by_type"])
    t = time.perf_counter()
    both = detect(ctx, "two_plans", workers=2)
    two_core = time.perf_counter() - t
    t = time.perf_counter()
    save_detection(ctx, both, job_id=None, actor=Actor("bench", "bench"))
    resave = time.perf_counter() - t
    print(f"single process, 2 cores: detect {two_core:6.1f} s   re-save {resave:5.1f} s")
    print(f"single process, 1 core, detect + re-save: {one_core + resave:6.1f} s")

    log_dir = ROOT / "var" / "bench" / "detection-workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    runs = {}
    with redis_server() as (broker, _proc, _port):
        for count in (1, 2, 1, 2):
            run = queue_run(ctx, broker, count, args.partition_features, log_dir)
            same = run["answer"] == expected
            print(
                f"queue, {count} worker(s): {run['wall_s']:6.1f} s wall   "
                f"{run['parts']} partitions on {run['workers']} worker(s), "
                f"{sum(run['part_s']):6.1f} s in partitions "
                f"(median {statistics.median(run['part_s']):.2f} s)   same answer: {same}"
            )
            assert same, (run["answer"], expected)
            runs.setdefault(count, []).append(run)
    one = statistics.median(r["wall_s"] for r in runs[1])
    two = statistics.median(r["wall_s"] for r in runs[2])
    parts = runs[1][0]["parts"]
    # On one worker the partitions run one after another on one core, as the single
    # process on one core does: the difference is what partitioning costs.
    in_parts = statistics.median(sum(r["part_s"]) for r in runs[1])
    print()
    print(f"two workers vs one (median wall): {one:.1f} s → {two:.1f} s, speed-up {one / two:.2f}×")
    overhead_ms = (in_parts - one_core) / parts * 1000
    print(
        f"per-partition overhead: ({in_parts:.1f} s in {parts} partitions on 1 worker − "
        f"{one_core:.1f} s single-process detect on 1 core) / {parts} = {overhead_ms:.0f} ms"
    )
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    ctx.close()


if __name__ == "__main__":
    main()
