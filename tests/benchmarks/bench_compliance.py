"""Compliance check (项目合规审查) against control layers of 1,000,000 features.

    .venv/bin/python tests/benchmarks/bench_compliance.py [--source demo|synthetic]
        [--scale 20] [--projects 200] [--naive-projects 5] [--no-postgis]
        [--api] [--api-seconds 30] [--connections 16,64] [--workers 1,2] [--profile]

Data: `--source demo` uses the demo dataset at `--scale` (20 ≈ 1,000,000 features in all
layers; generated with `planfuse demo-data generate`, imported once into
var/bench/compliance-demo-<scale>.db); `--source synthetic` (default) builds exactly
1,000,000 features in the six control-layer kinds over 10,000 km² (land-use plan parcels
of 2 ha, farmland patches, red-line areas, boundary zones, overlapping sensitive zones and
crossing control-line strips — denser than the real city, so harder), imported once into
var/bench/compliance-synthetic.db through the import service.

Measured in the same run, over the same random 1–5 km² projects:

* PlanFuse `check()` end to end inside the service: input validation and reprojection,
  every rule on the cached layer indexes, the report with its overlap pieces (GeoJSON),
  ES256 signature and the database write. Target: p95 ≤ 10 ms.
* a naive shapely loop (no spatial index: every feature of every control layer tested,
  overlaps intersected and unioned per kind), on `--naive-projects` projects;
* PostGIS: the same overlay (per-kind union of ST_Intersection over a GiST index, the
  land-use incompatible area, sensitive zones by class) as one SQL statement per project,
  without building, signing or storing a report.

`--profile` runs every check under a profiler and prints where the slowest tenth (the
tail where the p95 lies) spend their time.

`--api` then runs `planfuse serve` with 1 and 2 workers on loopback over the same database
(the time from its start to the first answer is printed) and loads
`POST /api/v1/compliance/check` with wrk (16 and 64 connections, 30 s, HTTP Basic app
credentials, bodies cycling through the projects): requests per second, p50/p99 latency
and the error rate. Figures are printed; docs/benchmarks/compliance.txt keeps a run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import orjson
import shapely
from shapely import affinity

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from planfuse.context import build_context  # noqa: E402
from planfuse.geo.crs import resolve_crs  # noqa: E402
from planfuse.geo.parse import ParsedFeature  # noqa: E402
from planfuse.services.compliance.check import check  # noqa: E402
from planfuse.services.compliance.overlaps import dissolved_layers, overlap_masks  # noqa: E402
from planfuse.services.compliance.rules import allowed_classes  # noqa: E402
from planfuse.services.compliance.rulesets import RULE_ORDER, get_ruleset  # noqa: E402
from planfuse.services.layers.data import current_layers, layer_index  # noqa: E402
from planfuse.services.layers.importer import ImportOptions, store_features  # noqa: E402
from planfuse.settings import load_settings  # noqa: E402
from tests.benchmarks.synthetic import tessellation  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
SECRET = "bench-secret-" + "k" * 40
LAND_USES = ["0701", "0901", "1001", "1201", "1202", "0801", "1101"]
PROJECT_TYPES = ["urban", "urban", "urban", "linear", "major", "other"]
# Land-use classes of the synthetic plan, with their shares.
PLAN_CODES = ["0101", "0103", "0301", "0701", "0901", "1001", "1207", "1401", "1701", "0702"]
PLAN_SHARES = [0.2, 0.1, 0.2, 0.15, 0.07, 0.08, 0.08, 0.05, 0.04, 0.03]


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def line(name, times, extra=""):
    print(
        f"{name:<34} median {pct(times, 50):8.2f} ms   p95 {pct(times, 95):8.2f} ms"
        f"   n={len(times)} {extra}",
        flush=True,
    )


def context(db: Path):
    settings = load_settings(
        {"database_url": f"sqlite:///{db}", "secret_key": SECRET, "index_cache_size": 64},
        environ={},
    )
    ctx = build_context(settings)
    ctx.db.upgrade()
    return ctx


# --- data -------------------------------------------------------------------------------------


def synthetic_layers(seed: int = 7) -> dict[str, tuple[str, np.ndarray, list[dict]]]:
    """layer id → (kind, working-CRS geometries, properties): 1,000,000 features in total."""
    rng = np.random.default_rng(seed)
    out = {}
    t = time.perf_counter()
    plan = tessellation(500_000, cell_m2=20_000.0, seed=seed)
    codes = rng.choice(PLAN_CODES, size=len(plan), p=PLAN_SHARES)
    out["land_use_plan"] = ("land_use_plan", plan, [{"code": str(c)} for c in codes])
    minx, miny, maxx, maxy = shapely.total_bounds(plan)
    farm_cells = tessellation(500_000, cell_m2=20_000.0, seed=seed + 1)
    keep = rng.random(len(farm_cells)) < 0.6
    farm = farm_cells[keep][:300_000]
    out["basic_farmland"] = ("basic_farmland", farm, [{} for _ in farm])
    eco_cells = tessellation(100_000, cell_m2=100_000.0, seed=seed + 2)
    eco = eco_cells[rng.random(len(eco_cells)) < 0.5][:50_000]
    out["ecological_redline"] = ("ecological_redline", eco, [{"name": "红线"} for _ in eco])
    zones = tessellation(2_000, cell_m2=5_000_000.0, seed=seed + 3)
    zones = zones[rng.random(len(zones)) < 0.4][:800]
    out["urban_boundary"] = (
        "urban_boundary",
        zones,
        [{"zone": str(z)} for z in rng.choice(["01", "02", "03"], size=len(zones))],
    )
    n = 100_000
    centres = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
    discs = shapely.buffer(shapely.points(centres), rng.uniform(30, 150, n), quad_segs=6)
    types = rng.choice(["geohazard", "water_source", "heritage", "mineral"], size=n)
    levels = {
        "geohazard": ["high", "medium", "low"],
        "water_source": ["1", "2"],
        "heritage": ["protection", "control"],
        "mineral": [""],
    }
    props = [{"type": str(t_), "level": str(rng.choice(levels[t_]))} for t_ in types]
    out["sensitive_zones"] = ("sensitive_zone", discs, props)
    n = 1_000_000 - sum(len(v[1]) for v in out.values())
    centres = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
    lengths = rng.uniform(200, 2_000, n)
    widths = rng.uniform(10, 40, n)
    boxes = shapely.box(
        centres[:, 0] - lengths / 2,
        centres[:, 1] - widths / 2,
        centres[:, 0] + lengths / 2,
        centres[:, 1] + widths / 2,
    )
    angles = rng.uniform(0, 180, n)
    strips = np.array(
        [affinity.rotate(b, a, origin="centroid") for b, a in zip(boxes, angles, strict=True)],
        dtype=object,
    )
    kinds = rng.choice(["road", "blue", "green", "yellow", "purple"], size=n)
    out["control_lines"] = ("control_line", strips, [{"type": str(k)} for k in kinds])
    total = sum(len(v[1]) for v in out.values())
    print(f"synthetic layers: {total:,} features generated in {time.perf_counter() - t:.1f} s")
    return out


def import_synthetic(ctx) -> None:
    storage = resolve_crs("EPSG:4490")
    for layer_id, (kind, geoms, props) in synthetic_layers().items():
        t = time.perf_counter()
        stored = ctx.work.to_storage(geoms)
        features = [
            ParsedFeature(geometry=g, properties=p, index=i)
            for i, (g, p) in enumerate(zip(stored, props, strict=True))
        ]
        store_features(ctx, features, storage, ImportOptions(layer_id=layer_id, kind=kind))
        print(f"  imported {layer_id:<20} {len(features):>9,} in {time.perf_counter() - t:6.1f} s")


def prepare(source: str, scale: float):
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    name = "compliance-synthetic.db" if source == "synthetic" else f"compliance-demo-{scale:g}.db"
    db = BENCH_DIR / name
    ctx = context(db)
    if current_layers(ctx, RULE_ORDER):
        print(f"reusing {db}")
        return ctx, db
    t = time.perf_counter()
    if source == "synthetic":
        import_synthetic(ctx)
    else:
        from planfuse.demo.build import build_demo

        build_demo(ctx, scale=scale)
    print(f"data imported in {time.perf_counter() - t:.0f} s into {db}")
    return ctx, db


# --- projects -----------------------------------------------------------------------------------


def random_projects(ctx, count: int, seed: int = 11) -> list[shapely.Polygon]:
    """`count` irregular red lines of 1–5 km², centred on random land-use parcels (so they
    lie where the data is, also for the demo's irregular territory)."""
    rng = np.random.default_rng(seed)
    plan = next(r for r in current_layers(ctx, ["land_use_plan"]))
    index = layer_index(ctx, plan)
    centres = shapely.centroid(index.geometries[rng.choice(len(index), size=count)])
    out = []
    for centre in centres:
        area = rng.uniform(1e6, 5e6)
        aspect = rng.uniform(0.5, 2.0)
        w, h = np.sqrt(area * aspect), np.sqrt(area / aspect)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radius = rng.uniform(0.8, 1.0, 9)
        ring = np.column_stack(
            (np.cos(angles) * radius * w / 1.6, np.sin(angles) * radius * h / 1.6)
        )
        poly = shapely.Polygon(ring + np.array([centre.x, centre.y]))
        if not poly.is_valid:
            poly = shapely.convex_hull(poly)
        scale = np.sqrt(area / poly.area)
        out.append(affinity.scale(poly, scale, scale))
    return out


def bodies(ctx, projects) -> list[dict]:
    rng = np.random.default_rng(5)
    out = []
    for p in projects:
        geometry = orjson.loads(shapely.to_geojson(ctx.work.to_storage(p)))
        out.append(
            {
                "geometry": geometry,
                "crs": "EPSG:4490",
                "land_use": str(rng.choice(LAND_USES)),
                "project_type": str(rng.choice(PROJECT_TYPES)),
            }
        )
    return out


class BenchCaller:
    app_id, user, via, name, dept = "bench", "bench-user", "service", None, None


# --- the three contenders ---------------------------------------------------------------------


def bench_planfuse(ctx, requests, store=True, cpu=None):
    """Wall-clock seconds per check (and, into `cpu`, this thread's CPU seconds: on a
    shared machine the wall clock also counts time spent waiting for a CPU)."""
    times, reports = [], []
    caller = BenchCaller()
    for body in requests:
        c = time.thread_time()
        t = time.perf_counter()
        report = check(
            ctx,
            body["geometry"],
            body["crs"],
            body["land_use"],
            body["project_type"],
            caller=caller,
            store=store,
        )
        times.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.thread_time() - c)
        reports.append(report)
    return times, reports


def profile_slowest(ctx, requests, share: float = 0.1, top: int = 18) -> None:
    """Where the slow checks' time goes: each check runs under its own profiler; the
    slowest ``share`` of them (the p90–p100 tail, where the p95 lies) are merged and their
    functions printed by cumulative time, as a share of those checks' wall time."""
    import cProfile
    import io
    import pstats

    caller = BenchCaller()
    runs = []
    for body in requests:
        profile = cProfile.Profile()
        t = time.perf_counter()
        profile.enable()
        check(ctx, body["geometry"], body["crs"], body["land_use"], body["project_type"],
              caller=caller, store=True)  # fmt: skip
        profile.disable()
        runs.append((time.perf_counter() - t, profile))
    runs.sort(key=lambda r: r[0], reverse=True)
    slow = runs[: max(1, int(len(runs) * share))]
    wall = sum(r[0] for r in slow)
    stats = pstats.Stats(slow[0][1], stream=io.StringIO())
    for _, profile in slow[1:]:
        stats.add(profile)
    print(
        f"profile of the slowest {len(slow)} checks (p{100 - 100 * share:.0f}–p100; "
        f"{wall / len(slow) * 1000:.1f} ms each under the profiler):"
    )
    rows = []
    for (path, lineno, name), (_, _, tottime, cumtime, _) in stats.stats.items():
        ours = "/server/" in path or "/planfuse/" in path
        if ours or name in ("intersection", "union_all", "to_geojson", "sign", "execute"):
            where = path.split("/server/")[-1] if "/server/" in path else Path(path).name
            rows.append((cumtime, tottime, f"{where}:{lineno}({name})"))
    for cumtime, tottime, where in sorted(rows, reverse=True)[:top]:
        print(f"  {cumtime / wall:6.1%} cumulative  {tottime / wall:6.1%} own   {where}")


def control_geometries(ctx):
    """Every control-layer feature: (kind, working-CRS geometry, code, type, level)."""
    out = {}
    for ref in current_layers(ctx, RULE_ORDER):
        index = layer_index(ctx, ref)
        attrs = index.attributes
        n = len(index)
        none = np.full(n, None, dtype=object)
        out.setdefault(ref.kind, []).append(
            (index.geometries, attrs.get("code", none), attrs.get("type", none))
        )
    return out


def bench_naive(ctx, projects, requests):
    """Every feature tested with intersects, each overlap intersected, unioned per kind."""
    layers = control_geometries(ctx)
    times, totals = [], []
    ruleset = get_ruleset(ctx)
    for project, body in zip(projects, requests, strict=False):
        t = time.perf_counter()
        per_kind = {}
        _, allowed = allowed_classes(ruleset, body["land_use"])
        for kind, entries in layers.items():
            pieces, bad = [], []
            for geoms, codes, _types in entries:
                for i, g in enumerate(geoms):
                    if g.intersects(project):
                        piece = g.intersection(project)
                        if piece.area > 0:
                            pieces.append(piece)
                            if kind == "land_use_plan" and not str(codes[i]).startswith(
                                tuple(allowed)
                            ):
                                bad.append(piece)
            area = shapely.union_all(pieces).area if pieces else 0.0
            if kind == "land_use_plan":
                area = shapely.union_all(bad).area if bad else 0.0
            per_kind[kind] = area
        times.append(time.perf_counter() - t)
        totals.append(per_kind)
    return times, totals


POSTGIS_SQL = """
WITH p AS (SELECT ST_GeomFromWKB(%(wkb)s, 0) AS g),
hits AS (
  SELECT f.kind, f.code, f.type, f.level, ST_Intersection(f.geom, p.g) AS piece
  FROM bench_compliance.features f, p
  WHERE f.geom && p.g AND ST_Intersects(f.geom, p.g)
)
SELECT kind,
       ST_Area(ST_Union(piece)) AS area,
       ST_Area(ST_Union(piece) FILTER (
         WHERE kind = 'land_use_plan' AND NOT (code LIKE ANY(%(allowed)s)))) AS bad_area,
       ST_Area(ST_Union(piece) FILTER (
         WHERE (type = 'geohazard' AND level = 'high') OR (type = 'water_source' AND level = '1')
            OR (type = 'heritage' AND level = 'protection'))) AS severe_area,
       count(*) AS pieces
FROM hits GROUP BY kind
"""


def bench_postgis(ctx, projects, requests, url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone():
            print("PostGIS is not installed in this PostgreSQL: skipped")
            return None, None
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("DROP SCHEMA IF EXISTS bench_compliance CASCADE")
        conn.execute("CREATE SCHEMA bench_compliance")
        conn.execute(
            "CREATE TABLE bench_compliance.features (kind text, code text, type text, "
            "level text, geom geometry(Geometry, 0))"
        )
        t = time.perf_counter()
        with conn.cursor().copy(
            "COPY bench_compliance.features (kind, code, type, level, geom) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "bytea"])
            for ref in current_layers(ctx, RULE_ORDER):
                index = layer_index(ctx, ref)
                n = len(index)
                none = np.full(n, None, dtype=object)
                code = index.attributes.get("code", none)
                typ = index.attributes.get("type", none)
                level = index.attributes.get("level", none)
                for i, w in enumerate(shapely.to_wkb(index.geometries)):
                    copy.write_row((ref.kind, code[i], typ[i], level[i], w))
        conn.execute("CREATE INDEX ON bench_compliance.features USING gist (geom)")
        conn.execute("ANALYZE bench_compliance.features")
        print(f"PostGIS load + GiST index: {time.perf_counter() - t:.1f} s", flush=True)
        ruleset = get_ruleset(ctx)
        times, totals = [], []
        for project, body in zip(projects, requests, strict=True):
            _, allowed = allowed_classes(ruleset, body["land_use"])
            params = {"wkb": shapely.to_wkb(project), "allowed": [a + "%" for a in allowed]}
            t = time.perf_counter()
            rows = conn.execute(POSTGIS_SQL, params).fetchall()
            times.append(time.perf_counter() - t)
            totals.append({r[0]: (r[2] or 0.0) if r[0] == "land_use_plan" else r[1] for r in rows})
        conn.execute("DROP SCHEMA bench_compliance CASCADE")
    return times, totals


def report_areas(report) -> dict[str, float]:
    """Per kind, the area the baselines compute too (for the agreement check)."""
    out = {}
    for item in report["items"]:
        if item["rule"] == "control_line":
            continue  # counted types only; the baselines count every strip
        if item["rule"] == "land_use_plan":
            # PlanFuse ignores slivers; compare the sum of counted features instead.
            continue
        out[item["rule"]] = item["overlap_area_m2"]
    return out


def compare(reports, baseline, name):
    worst = 0.0
    for report, base in zip(reports, baseline, strict=False):
        for rule, area in report_areas(report).items():
            other = base.get(rule, 0.0) or 0.0
            if rule == "urban_boundary" or rule in base:
                worst = max(worst, abs(area - other) / max(1.0, other))
    print(f"  areas agree with {name}: largest relative difference {worst:.2e}")


# --- the API under load -------------------------------------------------------------------


WRK_SCRIPT = """
local bodies = {}
local i = 0
local file = io.open(os.getenv("PF_BODIES"), "r")
for line in file:lines() do bodies[#bodies + 1] = line end
file:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("PF_AUTH")
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, "/api/v1/compliance/check", nil, bodies[i])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON %d %d %d %d %d %d %.3f %.3f %.3f %.3f\\n",
    summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_api(
    ctx,
    db: Path,
    requests,
    seconds: int,
    connections: list[int],
    workers: int,
    warmup_s: float,
    cpu_ms: float,
    threads: int = 4,
):
    """`planfuse serve --workers N --threads T` over the database, loaded by wrk at each number of
    connections; prints the time from start to the first answer, req/s, p50/p99 and the
    throughput the CPU time per check allows on the cores (cores / CPU ms per check)."""
    from planfuse.auth.apps import create_host_app

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): API load test skipped")
        return
    record, secret = create_host_app(ctx, "bench host", ["http://127.0.0.1:9"])
    auth = "Basic " + base64.b64encode(f"{record.id}:{secret}".encode()).decode()
    port = free_port()
    env = {
        **os.environ,
        "PLANFUSE_DATABASE_URL": f"sqlite:///{db}",
        "PLANFUSE_SECRET_KEY": SECRET,
        "PLANFUSE_LOG_LEVEL": "WARNING",
        "PLANFUSE_INDEX_CACHE_SIZE": "64",
    }
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/planfuse"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    warm = [orjson.dumps(b) for b in requests]

    def post(body: bytes) -> None:
        req = urllib.request.Request(
            base + "/api/v1/compliance/check",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": auth},
        )
        with urllib.request.urlopen(req, timeout=300) as response:
            assert response.status == 201

    try:
        while True:
            try:
                post(warm[0])
                break
            except OSError:
                if time.perf_counter() - started > 900:
                    raise
                time.sleep(0.1)
        first = time.perf_counter() - started
        # Warm up until a pass over 60 projects is no faster than the one before (what a
        # worker still builds on first use: dissolved layers not stored yet).
        t = time.perf_counter()
        previous = float("inf")
        while time.perf_counter() - t < 600:
            pass_started = time.perf_counter()
            for body in warm[:60]:
                post(body)
            elapsed = time.perf_counter() - pass_started
            if elapsed > 0.9 * previous and time.perf_counter() - t > warmup_s:
                break
            previous = elapsed
            time.sleep(1)
        print(
            f"API {workers} worker(s): first answer {first:.1f} s after start, steady after "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        allowed = (os.cpu_count() or 1) / (cpu_ms / 1000)
        for count in connections:
            rps, p50, p99, worst, n, errors = run_wrk(base, requests, auth, count, seconds)
            print(
                f"API POST /compliance/check   {rps:8.1f} req/s   p50 {p50:7.1f} ms   "
                f"p99 {p99:7.1f} ms   max {worst:7.1f} ms   {n:,} requests, "
                f"errors {errors} ({errors / max(n, 1):.2%})   "
                f"[{count} connections, {seconds} s, {workers} worker(s) × {threads} "
                f"thread(s), loopback]   "
                f"{rps / allowed:.0%} of the {allowed:.0f} req/s the CPU time per check "
                f"({cpu_ms:.2f} ms) allows on {os.cpu_count()} cores",
                flush=True,
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def run_wrk(base: str, requests, auth: str, connections: int, seconds: int):
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "check.lua"
        script.write_text(WRK_SCRIPT)
        lines = Path(tmp) / "bodies.jsonl"
        lines.write_text("\n".join(json.dumps(b, separators=(",", ":")) for b in requests))
        out = subprocess.run(
            [
                "wrk",
                "-t",
                "2",
                "-c",
                str(connections),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base,
            ],
            env={**os.environ, "PF_BODIES": str(lines), "PF_AUTH": auth},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    stats = next(x for x in out.splitlines() if x.startswith("JSON "))
    (n, connect, read, write, status, timeout, duration, p50, p99, worst) = stats.split()[1:]
    n = int(n)
    errors = int(connect) + int(read) + int(write) + int(status) + int(timeout)
    return n / float(duration), float(p50), float(p99), float(worst), n, errors


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=["synthetic", "demo"], default="synthetic")
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--naive-projects", type=int, default=5)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--api", action="store_true")
    parser.add_argument("--api-seconds", type=int, default=30)
    parser.add_argument(
        "--connections", default="16,64", help="Comma-separated connection counts for wrk."
    )
    parser.add_argument("--workers", default="1,2", help="Comma-separated web worker counts.")
    parser.add_argument("--threads", type=int, default=4, help="Threads per web worker.")
    parser.add_argument(
        "--api-warmup", type=float, default=10.0, help="Least warm-up of the server, s."
    )
    parser.add_argument("--prepare-only", action="store_true", help="Import the data and stop.")
    parser.add_argument(
        "--profile", action="store_true", help="Profile the slowest tenth of the checks."
    )
    args = parser.parse_args()

    ctx, db = prepare(args.source, args.scale)
    if args.prepare_only:
        ctx.close()
        return
    refs = current_layers(ctx, RULE_ORDER)
    counts = {}
    t = time.perf_counter()
    for ref in refs:
        counts[ref.kind] = counts.get(ref.kind, 0) + len(layer_index(ctx, ref))
    print(f"layer indexes built in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    flagged = 0
    for ref in refs:
        mask = overlap_masks(ctx).get((ref.layer_id, ref.version), layer_index(ctx, ref), wait=True)
        flagged += int(mask.sum())
    print(
        f"self-overlap masks built in {time.perf_counter() - t:.1f} s "
        f"({flagged:,} features may overlap another of their layer)"
    )
    total = sum(counts.values())
    print(
        f"control layers: {total:,} features — "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )

    projects = random_projects(ctx, args.projects)
    requests = bodies(ctx, projects)
    # Warm-up: ruleset, key and caches; the dense-overlap queries also request the
    # dissolved layers they need, which build in the background — wait for them.
    t = time.perf_counter()
    bench_planfuse(ctx, requests, store=False)
    while dissolved_layers(ctx).pending():
        time.sleep(0.2)
    print(f"warm-up incl. dissolved layers: {time.perf_counter() - t:.1f} s")
    cpu: list[float] = []
    times, reports = bench_planfuse(ctx, requests, cpu=cpu)
    pieces = [sum(i["feature_count"] for i in r["items"]) for r in reports]
    line(
        "PlanFuse check() end to end",
        times,
        f"(median {int(np.median(pieces))} overlap pieces per project, report stored + signed)",
    )
    line("  … CPU time of the same checks", cpu)
    bare_cpu: list[float] = []
    bare, _ = bench_planfuse(ctx, requests, store=False, cpu=bare_cpu)
    line("  … without store+sign", bare)
    line("  … without store+sign, CPU time", bare_cpu)
    if args.profile:
        profile_slowest(ctx, requests)
    verdicts = {}
    for r in reports:
        verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
    print(f"  verdicts: {verdicts}")

    naive_times, naive_totals = bench_naive(ctx, projects[: args.naive_projects], requests)
    line("naive shapely loop", naive_times)
    compare(reports, naive_totals, "the naive loop")
    speedup = statistics.median(naive_times) / statistics.median(times[: len(naive_times)])
    print(f"  PlanFuse speed-up over the naive loop (median, same projects): {speedup:,.0f}×")

    if not args.no_postgis:
        pg_times, pg_totals = bench_postgis(ctx, projects, requests, args.postgres_url)
        if pg_times:
            line("PostGIS (overlay SQL only)", pg_times)
            compare(reports, pg_totals, "PostGIS")
            print(f"  PlanFuse vs PostGIS (p95): {pct(pg_times, 95) / pct(times, 95):.1f}×")
    verdict = "met" if pct(times, 95) <= 10.0 else "NOT met"
    print(
        f"target p95 ≤ 10 ms end to end: {verdict} (wall {pct(times, 95):.2f} ms, "
        f"CPU {pct(cpu, 95):.2f} ms)"
    )
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    if args.api:
        connections = [int(c) for c in args.connections.split(",")]
        for workers in (int(w) for w in args.workers.split(",")):
            bench_api(
                ctx,
                db,
                requests,
                args.api_seconds,
                connections,
                workers,
                args.api_warmup,
                pct(cpu, 50),
                args.threads,
            )
    ctx.close()


if __name__ == "__main__":
    main()
