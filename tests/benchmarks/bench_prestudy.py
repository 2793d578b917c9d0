"""Pre-study (预研预控) of reserve projects on the demo dataset: throughput and per-project
latency, beside the plain compliance check of the same red lines in the same run.

    nice .venv/bin/python tests/benchmarks/bench_prestudy.py [--scale 20] [--projects 500]
        [--without-red-line 0.2] [--seed 11]

Data: the demo dataset at `--scale` (20 ≈ 1,000,000 features; its status layer included),
built once into var/bench/prestudy-demo-<scale>.db and reused. Projects: red lines of
1–10 ha centred on random land-use parcels (so they lie where the data is), a random
class and type; a share `--without-red-line` have none and go through siting first (their
district, class and size), then the pre-study of the best candidates. Each project is
stored in the reserve and pre-studied through the service (`run_pre_study`: compliance
check stored and signed, touching conflicts, land-use status, the result written back).
Printed: projects per second, median and p95 per project (with and without a red line
apart), the outcome counts, and the compliance check alone on the same red lines.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import shapely
from shapely import affinity

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from planfuse.context import build_context  # noqa: E402
from planfuse.services.compliance.check import check  # noqa: E402
from planfuse.services.compliance.overlaps import dissolved_layers, overlap_masks  # noqa: E402
from planfuse.services.compliance.rulesets import RULE_ORDER  # noqa: E402
from planfuse.services.layers.data import current_layers, layer_index  # noqa: E402
from planfuse.services.reserve.projects import Scope, create_project  # noqa: E402
from planfuse.services.reserve.studies import Who, run_pre_study  # noqa: E402
from planfuse.settings import load_settings  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
SECRET = "bench-secret-" + "k" * 40
LAND_USES = ["0701", "0901", "1001", "0801", "1101"]
TYPES = ["urban", "urban", "urban", "major", "other"]


def pct(values, q):
    return float(np.percentile(values, q)) if values else float("nan")


def line(name, times_s):
    ms = [t * 1000 for t in times_s]
    median = statistics.median(ms)
    return f"{name:<38} median {median:8.1f} ms   p95 {pct(ms, 95):8.1f} ms   n={len(ms)}"


def prepare(scale: float):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    db = BENCH_DIR / f"prestudy-demo-{scale:g}.db"
    settings = load_settings(
        {"database_url": f"sqlite:///{db}", "secret_key": SECRET, "index_cache_size": 64},
        environ={},
    )
    ctx = build_context(settings)
    ctx.db.upgrade()
    if current_layers(ctx, RULE_ORDER):
        print(f"reusing {db}")
        return ctx
    from planfuse.demo.build import build_demo

    t = time.perf_counter()
    build_demo(ctx, scale=scale)
    print(f"demo at scale {scale:g} built in {time.perf_counter() - t:.0f} s into {db}")
    return ctx


def bodies(ctx, count: int, without: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    plan = current_layers(ctx, ["land_use_plan"])[0]
    index = layer_index(ctx, plan)
    picks = rng.choice(len(index), size=count)
    districts = index.attributes["district"]
    out = []
    for i, pos in enumerate(picks.tolist()):
        centre = shapely.centroid(index.geometries[pos])
        area = float(rng.uniform(1e4, 1e5))
        aspect = float(rng.uniform(0.5, 2.0))
        w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
        box = shapely.box(centre.x - w / 2, centre.y - h / 2, centre.x + w / 2, centre.y + h / 2)
        box = affinity.rotate(box, float(rng.uniform(0, 90)))
        body = {
            "name": f"基准项目 {i + 1}",
            "type": str(rng.choice(TYPES)),
            "dept": "development_reform",
            "district": str(districts[pos]),
            "land_use": str(rng.choice(LAND_USES)),
            "area_m2": round(area, 2),
            "funds": {"2026": 100},
            "priority": int(rng.integers(1, 6)),
        }
        if rng.random() >= without:
            body["geometry"] = orjson.loads(shapely.to_geojson(ctx.work.to_storage(box)))
            body["crs"] = "EPSG:4490"
        out.append(body)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=20)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--without-red-line", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    ctx = prepare(args.scale)
    features = sum(len(layer_index(ctx, r)) for r in current_layers(ctx))
    print(f"{features:,} features in {len(current_layers(ctx))} layers")
    scope = Scope(app_id="bench", user_id="bench-user")
    who = Who(app_id="bench", user="bench-user", via="session")
    requests = bodies(ctx, args.projects, args.without_red_line, args.seed)
    ids = [create_project(ctx, scope, "bench-user", b)["id"] for b in requests]
    # Warm the caches (layer indexes, masks) once, as a running server has them.
    t = time.perf_counter()
    run_pre_study(ctx, scope, ids[0], who)
    # The self-overlap masks and dissolved layers build in background threads and store
    # themselves (long SQLite writes); a running server has them long before: wait.
    overlap_masks(ctx).close(3600)
    dissolved_layers(ctx).close(3600)
    print(f"first pre-study (builds the caches): {time.perf_counter() - t:.2f} s")
    with_red, without_red, outcomes = [], [], {}
    started = time.perf_counter()
    for pid, body in zip(ids, requests, strict=True):
        t = time.perf_counter()
        result = run_pre_study(ctx, scope, pid, who)
        (with_red if "geometry" in body else without_red).append(time.perf_counter() - t)
        outcomes[result["outcome"]] = outcomes.get(result["outcome"], 0) + 1
    total = time.perf_counter() - started
    print(f"{len(ids)} pre-studies in {total:.1f} s: {len(ids) / total:.1f} projects/s")
    print(line("pre-study, all", with_red + without_red))
    print(line("pre-study, with a red line", with_red))
    if without_red:
        print(line("pre-study, without (siting first)", without_red))
    print(f"outcomes: {outcomes}")
    plain = []
    for body in requests:
        if "geometry" not in body:
            continue
        t = time.perf_counter()
        check(ctx, body["geometry"], "EPSG:4490", body["land_use"], body["type"])
        plain.append(time.perf_counter() - t)
    print(line("compliance check alone (same red lines)", plain))
    ratio = statistics.median(with_red) / statistics.median(plain)
    print(f"pre-study with a red line / check alone (median): {ratio:.2f}×")
    ctx.close()


if __name__ == "__main__":
    main()
