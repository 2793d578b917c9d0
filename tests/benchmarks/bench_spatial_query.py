"""Spatial query core: overlapping features and overlap areas for a 1–5 km² project
against a layer of N polygons (default 1,000,000).

    .venv/bin/python tests/benchmarks/bench_spatial_query.py [--features 1000000]
        [--projects 200] [--naive-projects 5] [--no-postgis]

Prints median and p95 over the projects for PlanFuse's LayerIndex, beside a naive shapely
loop and PostGIS (ST_Intersects + ST_Area(ST_Intersection) with a GiST index) measured in
the same run on the same polygons. Target: p95 ≤ 10 ms and ≥ 30× faster than naive.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.geo.index import LayerIndex
from tests.benchmarks.synthetic import random_projects, tessellation


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def report(name, times, extra=""):
    print(
        f"{name:<28} median {pct(times, 50):9.2f} ms   p95 {pct(times, 95):9.2f} ms"
        f"   n={len(times)} {extra}"
    )


def bench_index(index, projects):
    times, totals = [], []
    for project in projects:
        t = time.perf_counter()
        result = index.overlaps(project)
        totals.append(result.total_area_m2)
        times.append(time.perf_counter() - t)
    return times, totals


def bench_naive(geoms, projects):
    times, totals = [], []
    for project in projects:
        t = time.perf_counter()
        total = 0.0
        for g in geoms:
            if g.intersects(project):
                total += g.intersection(project).area
        totals.append(total)
        times.append(time.perf_counter() - t)
    return times, totals


def bench_postgis(geoms, projects, url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        has = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone()
        if not has:
            print("PostGIS is not installed in this PostgreSQL: skipped")
            return None, None
        conn.execute("DROP SCHEMA IF EXISTS bench_spatial CASCADE")
        conn.execute("CREATE SCHEMA bench_spatial")
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE TABLE bench_spatial.cells (id bigint, geom geometry(Polygon, 0))")
        t = time.perf_counter()
        wkb = shapely.to_wkb(geoms)
        with conn.cursor().copy(
            "COPY bench_spatial.cells (id, geom) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            # PostGIS's binary input format for geometry is (E)WKB.
            copy.set_types(["int8", "bytea"])
            for i, w in enumerate(wkb):
                copy.write_row((i, w))
        conn.execute("CREATE INDEX ON bench_spatial.cells USING gist (geom)")
        conn.execute("ANALYZE bench_spatial.cells")
        print(f"PostGIS load + GiST index: {time.perf_counter() - t:.1f} s")
        times, totals = [], []
        sql = (
            "SELECT coalesce(sum(ST_Area(ST_Intersection(geom, q))), 0) FROM "
            "bench_spatial.cells, (SELECT ST_GeomFromWKB(%s, 0) AS q) p "
            "WHERE ST_Intersects(geom, q)"
        )
        for project in projects:
            t = time.perf_counter()
            (total,) = conn.execute(sql, (shapely.to_wkb(project),)).fetchone()
            times.append(time.perf_counter() - t)
            totals.append(total)
        conn.execute("DROP SCHEMA bench_spatial CASCADE")
    return times, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--naive-projects", type=int, default=5)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    t = time.perf_counter()
    geoms = tessellation(args.features)
    print(f"{len(geoms):,} polygons generated in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    index = LayerIndex(np.arange(len(geoms)), geoms)
    print(f"LayerIndex built in {time.perf_counter() - t:.1f} s")
    projects = random_projects(args.projects, extent=index.bounds)

    # Warm-up, then the measured pass.
    bench_index(index, projects[:10])
    times, totals = bench_index(index, projects)
    hits = [len(index.query(p)) for p in projects]
    report("PlanFuse LayerIndex", times, f"(median {int(np.median(hits))} overlapping features)")

    naive_times, naive_totals = bench_naive(geoms, projects[: args.naive_projects])
    report("naive shapely loop", naive_times)
    for a, b in zip(totals, naive_totals, strict=False):
        assert abs(a - b) <= 1e-6 * max(1.0, b), (a, b)
    speedup = statistics.median(naive_times) / statistics.median(times[: len(naive_times)])
    print(f"speed-up over the naive loop (median, same projects): {speedup:,.0f}×")

    if not args.no_postgis:
        pg_times, pg_totals = bench_postgis(geoms, projects, args.postgres_url)
        if pg_times:
            report("PostGIS GiST", pg_times)
            for a, b in zip(totals, pg_totals, strict=True):
                assert abs(a - b) <= 1e-6 * max(1.0, b), (a, b)
            print(f"PlanFuse vs PostGIS (p95): {pct(pg_times, 95) / pct(times, 95):.1f}× faster")
    target = pct(times, 95) <= 10.0 and speedup >= 30
    print(f"target p95 ≤ 10 ms and ≥ 30× naive: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
