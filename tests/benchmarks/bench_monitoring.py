"""Plan-implementation monitoring: every indicator × 38 districts × 5 years, cold and warm,
beside the same figures computed by PostGIS SQL in the same run, with both answers compared.

    nice .venv/bin/python tests/benchmarks/bench_monitoring.py [--scale 1] [--db PATH]
        [--no-postgis | --postgis-sample N]

Data: the demo dataset at `--scale` with its five land-use status versions and indicator
set (built once into var/bench/monitoring-demo-<scale>.db, or `--db` a copy of one already
built). PlanFuse: `measure_values` (per district and city) of every indicator for every
year — cold (a fresh context: every layer version read and split by the district
boundaries) and warm (the same context again) — and one indicator's 38 districts for one
year warm. PostGIS: the area indicators (`area_of` a kind, optionally with code prefixes)
as one statement per indicator and year: `sum(ST_Area(ST_Intersection(f.geom,
d.geom)::geography))` grouped by district over a GiST index, on the same features (loaded
as EPSG:4490 geometries). Printed: the medians and totals, the ratio, and the largest
relative difference between the two answers per district.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from planfuse.context import build_context  # noqa: E402
from planfuse.services.plan_monitoring import measure as M  # noqa: E402
from planfuse.services.plan_monitoring.indicators import AREA_UNITS, list_indicators  # noqa: E402
from planfuse.services.plan_monitoring.values import measure_values  # noqa: E402
from planfuse.services.plan_monitoring.years import (  # noqa: E402
    status_years,
    versions_at_year_end,
)
from planfuse.settings import load_settings  # noqa: E402

BENCH_DIR = ROOT / "var" / "bench"
SECRET = "monitoring-benchmark-secret-key-0123456789"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def context(db: Path):
    settings = load_settings({"database_url": f"sqlite:///{db}", "secret_key": SECRET}, environ={})
    ctx = build_context(settings)
    ctx.db.upgrade()
    return ctx


def demo_db(scale: float, db: Path | None) -> Path:
    if db is not None:
        return db
    path = BENCH_DIR / f"monitoring-demo-{scale:g}.db"
    ctx = context(path)
    if status_years(ctx):
        print(f"reusing {path}")
        ctx.close()
        return path
    from planfuse.demo.build import build_demo

    t = time.perf_counter()
    build_demo(ctx, scale=scale)
    print(f"demo at scale {scale:g} built in {time.perf_counter() - t:.0f} s into {path}")
    ctx.close()
    return path


def planfuse_pass(ctx, indicators, years):
    """Seconds per (indicator, year) and the district values of each."""
    times, values = {}, {}
    for indicator in indicators:
        for year in years:
            t = time.perf_counter()
            per, _city = measure_values(ctx, indicator, year)
            times[(indicator["id"], year)] = time.perf_counter() - t
            values[(indicator["id"], year)] = per
    return times, values


def postgis(ctx, indicators, years):
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
        ).fetchone():
            print("PostGIS is not installed in this PostgreSQL: skipped")
            return None
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("DROP SCHEMA IF EXISTS bench_monitoring CASCADE")
        conn.execute("CREATE SCHEMA bench_monitoring")
        conn.execute(
            "CREATE TABLE bench_monitoring.features (layer text, version int, code text, "
            "geom geometry(Geometry, 4490))"
        )
        conn.execute(
            "CREATE TABLE bench_monitoring.districts (adcode text, geom geometry(Geometry, 4490))"
        )
        t = time.perf_counter()
        table = M.districts(ctx)
        with conn.cursor().copy(
            "COPY bench_monitoring.districts (adcode, geom) FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "bytea"])
            for adcode, wkb in zip(table.adcodes, shapely.to_wkb(table.geoms), strict=True):
                copy.write_row((adcode, wkb))
        refs = set()
        for indicator in indicators:
            for year in years:
                refs.update(versions_at_year_end(ctx, indicator["measure"]["area_of"], year))
        with conn.cursor().copy(
            "COPY bench_monitoring.features (layer, version, code, geom) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "int4", "text", "bytea"])
            for ref in sorted(refs):
                pieces = M.layer_pieces(ctx, ref)
                for code, wkb in zip(pieces.codes, shapely.to_wkb(pieces.geoms), strict=True):
                    copy.write_row((ref[0], ref[1], code, wkb))
        conn.execute("UPDATE bench_monitoring.features SET geom = ST_SetSRID(geom, 4490)")
        conn.execute("UPDATE bench_monitoring.districts SET geom = ST_SetSRID(geom, 4490)")
        conn.execute("CREATE INDEX ON bench_monitoring.features USING gist (geom)")
        conn.execute("CREATE INDEX ON bench_monitoring.features (layer, version)")
        conn.execute("ANALYZE bench_monitoring.features")
        print(f"PostGIS load + GiST index: {time.perf_counter() - t:.1f} s", flush=True)
        times, values = {}, {}
        for indicator in indicators:
            codes = indicator["measure"].get("codes")
            like = [c + "%" for c in codes] if codes else ["%"]
            for year in years:
                layer_versions = versions_at_year_end(ctx, indicator["measure"]["area_of"], year)
                t = time.perf_counter()
                rows = conn.execute(
                    """
                    SELECT d.adcode,
                           sum(ST_Area(ST_Intersection(f.geom, d.geom)::geography))
                    FROM bench_monitoring.features f
                    JOIN bench_monitoring.districts d ON ST_Intersects(f.geom, d.geom)
                    WHERE (f.layer, f.version) IN (SELECT * FROM unnest(%s::text[], %s::int[]))
                      AND f.code LIKE ANY(%s)
                    GROUP BY d.adcode
                    """,
                    (
                        [r[0] for r in layer_versions],
                        [r[1] for r in layer_versions],
                        like,
                    ),
                ).fetchall()
                times[(indicator["id"], year)] = time.perf_counter() - t
                values[(indicator["id"], year)] = {a: float(v or 0.0) for a, v in rows}
        conn.execute("DROP SCHEMA bench_monitoring CASCADE")
    return times, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument(
        "--postgis-sample",
        type=int,
        default=0,
        help="ask PostGIS only for the first N area indicators in the last year (at scale 20 "
        "the whole set takes PostGIS hours); PlanFuse is compared on the same indicator-years",
    )
    args = parser.parse_args()
    db = demo_db(args.scale, args.db)
    ctx = context(db)
    indicators = list_indicators(ctx)
    years = status_years(ctx)
    features = M.districts(ctx)
    print(f"{len(indicators)} indicators × {len(features.adcodes)} districts × {len(years)} years")
    t = time.perf_counter()
    cold, values = planfuse_pass(ctx, indicators, years)
    cold_total = time.perf_counter() - t
    t = time.perf_counter()
    warm, _ = planfuse_pass(ctx, indicators, years)
    warm_total = time.perf_counter() - t
    print(f"PlanFuse, the whole set: cold {cold_total:.2f} s, warm {warm_total:.3f} s")
    print(
        f"PlanFuse, one indicator × 38 districts × one year, warm: median "
        f"{statistics.median(warm.values()) * 1000:.1f} ms, max {max(warm.values()) * 1000:.1f} ms"
    )
    if args.no_postgis:
        return
    simple = [i for i in indicators if "area_of" in i["measure"] and "inside" not in i["measure"]]
    pg_years = years
    if args.postgis_sample:
        simple, pg_years = simple[: args.postgis_sample], years[-1:]
        print(f"PostGIS asked for a sample: {len(simple)} area indicators × {pg_years} only")
    result = postgis(ctx, simple, pg_years)
    if result is None:
        return
    pg_times, pg_values = result
    ours_cold = sum(cold[k] for k in pg_times)
    ours_warm = sum(warm[k] for k in pg_times)
    pg_total = sum(pg_times.values())
    print(
        f"the {len(simple)} area indicators × {len(pg_years)} years: PostGIS {pg_total:.2f} s "
        f"(median {statistics.median(pg_times.values()) * 1000:.0f} ms per indicator-year); "
        f"PlanFuse cold {ours_cold:.2f} s ({pg_total / ours_cold:.1f}× faster), warm "
        f"{ours_warm:.3f} s ({pg_total / max(ours_warm, 1e-9):.0f}× faster)"
    )
    worst = 0.0
    for key, theirs in pg_values.items():
        unit = next(i["unit"] for i in simple if i["id"] == key[0])
        scale = AREA_UNITS[unit]
        for adcode, ours in values[key].items():
            other = theirs.get(adcode, 0.0) / scale
            if max(ours or 0.0, other) * scale > 1e4:
                worst = max(worst, abs((ours or 0.0) - other) / max(other, 1e-9))
    print(f"answers agree: largest relative difference per district {worst:.2e}")
    ctx.close()


if __name__ == "__main__":
    main()
