"""Shared set-up of the data-service benchmarks (bench_tiles.py, bench_ogc.py): a database
holding a 1,000,000-polygon planning layer, imported through `store_features`, and the
same polygons in a PostGIS table for the peer measurements.

The layer is the synthetic Voronoi tessellation of tests/benchmarks/synthetic.py (~1 ha
irregular parcels with shared edges over ~100 km × 100 km around central Chongqing), with
用地用海 codes cycling through six classes. Databases are kept between runs (an import of
1,000,000 features takes a few minutes); pass --fresh to rebuild.

PostgreSQL runs use a database of their own (`planfuse_bench` on the local server, created
on first use with `CREATE EXTENSION postgis`), so PostGIS never touches `test`.

`--demo SCALE` uses the demo dataset instead (`planfuse.demo`, every layer kind on the real
Chongqing districts; scale 20 ≈ 1,000,000 features over 11 layers), generated once into
var/demo/ and imported into its own database (/tmp/planfuse-bench-demo-SCALE.db or
`planfuse_bench_demo`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from flask import Flask
from sqlalchemy import create_engine, select, text

from planfuse.app import create_app
from planfuse.context import PlanFuse, build_context
from planfuse.geo.crs import resolve_crs
from planfuse.geo.measure import work_projection
from planfuse.geo.parse import ParsedFeature
from planfuse.services.layers.importer import ImportOptions, store_features
from planfuse.settings import load_settings
from planfuse.storage.models import Layer
from tests.benchmarks.synthetic import tessellation

LAYER_ID = "bench_parcels"
CODES = ("0701", "0801", "0901", "1001", "1101", "0103")
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_BENCH_DB = "planfuse_bench"
PG_TABLE = "bench_mvt"
#: psycopg connection string of the benchmark database (the PostGIS peers' queries).
PG_BENCH_DSN = f"host=127.0.0.1 user=postgres dbname={PG_BENCH_DB}"
#: The benchmark servers' secret key (what is measured never depends on it).
BENCH_SECRET_KEY = "bench-" + "x" * 40


def add_layer_arguments(parser: argparse.ArgumentParser) -> None:
    """--features, --postgres, --sqlite, --fresh: which benchmark layer, in which database."""
    parser.add_argument("--features", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--sqlite", type=Path, default=Path("/tmp/planfuse-bench.db"))
    parser.add_argument("--fresh", action="store_true", help="re-import the layer")


def prepare_layer(args: argparse.Namespace) -> tuple[str, tuple[float, float, float, float]]:
    """The benchmark layer in the database `args` name (and on PostgreSQL the same polygons
    in the PostGIS peer table), built on first use. Returns (database URL, layer bbox)."""
    if args.postgres:
        ensure_pg_database()
    url = database_url(args.postgres, args.sqlite)
    ctx = context(url)
    ensure_layer(ctx, args.features, fresh=args.fresh)
    bbox = layer_bbox(ctx)
    if args.postgres:
        ensure_postgis_table(ctx)
    ctx.close()
    return url, bbox


def bench_app(url: str) -> Flask:
    """The PlanFuse server app on database `url`."""
    return create_app({"database_url": url, "secret_key": BENCH_SECRET_KEY})


def database_url(postgres: bool, sqlite_path: Path) -> str:
    return f"{PG_SERVER}/{PG_BENCH_DB}" if postgres else f"sqlite:///{sqlite_path}"


def ensure_pg_database() -> None:
    """Create the benchmark database with PostGIS, once."""
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_BENCH_DB}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{PG_BENCH_DB}"'))
    admin.dispose()
    engine = create_engine(f"{PG_SERVER}/{PG_BENCH_DB}", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()


def demo_database_url(postgres: bool, scale: float) -> str:
    if postgres:
        return f"{PG_SERVER}/{PG_BENCH_DB}_demo"
    return f"sqlite:////tmp/planfuse-bench-demo-{scale:g}.db"


def ensure_demo(ctx: PlanFuse, scale: float) -> list[tuple[str, int]]:
    """Generate (or reuse) the demo files at `scale` and import them unless the database
    holds them already; returns (layer id, feature count), largest first."""
    from planfuse.demo import DEFAULT_SEED, cache_folder, generate_files, import_files

    files = generate_files(
        cache_folder(None, DEFAULT_SEED, scale), seed=DEFAULT_SEED, scale=scale, echo=print
    )
    wanted = {entry["layer"]: entry["features"] for entry in files.manifest["layers"]}
    from planfuse.ogc.features import _current

    have = {ref.id: ref.feature_count for ref in _current(ctx)}
    if have != wanted:
        t = time.perf_counter()
        import_files(ctx, files, print)
        print(f"imported the demo dataset in {time.perf_counter() - t:.1f} s")
    analyze(ctx)
    counts = sorted(wanted.items(), key=lambda item: -item[1])
    print(f"demo dataset at scale {scale:g}: {sum(wanted.values()):,} features")
    return counts


def ensure_pg_demo_database() -> None:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = f"{PG_BENCH_DB}_demo"
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_pg_database() -> None:
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
    admin.dispose()


def context(url: str) -> PlanFuse:
    ctx = build_context(load_settings({"database_url": url}, environ={}))
    ctx.db.upgrade()
    return ctx


def ensure_layer(ctx: PlanFuse, features: int, *, fresh: bool = False) -> None:
    """Import the benchmark layer unless a layer of that size is there already."""
    with ctx.db.session() as session:
        layer = session.get(Layer, LAYER_ID)
    if layer is not None and not fresh:
        from planfuse.ogc.features import collection_ref

        if collection_ref(ctx, LAYER_ID).feature_count == features:
            print(f"reusing {LAYER_ID}: {features:,} features (version {layer.current_version})")
            analyze(ctx)
            return
    t = time.perf_counter()
    cells = tessellation(features)
    geoms = work_projection().to_storage(cells)
    parsed = [
        ParsedFeature(geometry=g, properties={"code": CODES[i % len(CODES)]}, index=i)
        for i, g in enumerate(geoms)
    ]
    print(f"generated {len(parsed):,} polygons in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    options = ImportOptions(layer_id=LAYER_ID, kind="land_use_plan", name="用地规划 (bench)")
    summary = store_features(ctx, parsed, resolve_crs("EPSG:4490"), options)
    print(
        f"imported {summary.feature_count:,} features in {time.perf_counter() - t:.1f} s "
        f"(version {summary.version})"
    )
    analyze(ctx)


def analyze(ctx: PlanFuse) -> None:
    """Planner statistics (and PostgreSQL's visibility map, for index-only scans) as a
    maintained production database would have them."""
    if ctx.db.dialect == "postgresql":
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE features"))
    else:
        with ctx.db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def ensure_postgis_table(ctx: PlanFuse) -> None:
    """The current version's geometries in a PostGIS table (EPSG:3857, GiST index), built
    from the same WKB, for ST_AsMVT and ST_Intersects peers."""
    with ctx.db.engine.connect() as conn:
        have = conn.scalar(text(f"SELECT to_regclass('{PG_TABLE}') IS NOT NULL"))
        version = conn.scalar(select(Layer.current_version).where(Layer.id == LAYER_ID))
        if have:
            rows = conn.scalar(
                text(f"SELECT count(*) FROM {PG_TABLE} WHERE version = :v"), {"v": version}
            )
            if rows:
                return
    t = time.perf_counter()
    with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {PG_TABLE}"))
        # EPSG:4490 treated as WGS 84 (as PlanFuse does): no datum step, only the projection.
        conn.execute(
            text(
                f"CREATE TABLE {PG_TABLE} AS SELECT fid, version, "
                "properties->>'code' AS code, district, "
                "ST_Transform(ST_SetSRID(ST_GeomFromWKB(geom), 4326), 3857) AS geom, "
                "ST_SetSRID(ST_GeomFromWKB(geom), 4326) AS geom4326 "
                "FROM features WHERE layer_id = :l AND version = :v"
            ),
            {"l": LAYER_ID, "v": version},
        )
        conn.execute(text(f"CREATE INDEX {PG_TABLE}_geom ON {PG_TABLE} USING gist (geom)"))
        conn.execute(text(f"CREATE INDEX {PG_TABLE}_geom4326 ON {PG_TABLE} USING gist (geom4326)"))
        conn.execute(text(f"CREATE UNIQUE INDEX {PG_TABLE}_fid ON {PG_TABLE} (fid)"))
        conn.execute(text(f"VACUUM ANALYZE {PG_TABLE}"))
    print(f"built PostGIS table {PG_TABLE} in {time.perf_counter() - t:.1f} s")


def layer_bbox(ctx: PlanFuse) -> tuple[float, float, float, float]:
    from planfuse.ogc.features import collection_ref

    return collection_ref(ctx, LAYER_ID).bbox


def pct_ms(values, q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000, q))


def summary_line(name: str, times: list[float], extra: str = "") -> str:
    return (
        f"{name:<44} median {pct_ms(times, 50):8.2f} ms  p95 {pct_ms(times, 95):8.2f} ms  "
        f"n={len(times)} {extra}"
    )


def random_boxes(
    bbox: tuple[float, float, float, float], size_deg: float, count: int, seed: int
) -> list[tuple[float, float, float, float]]:
    """`count` square lon/lat boxes of side `size_deg` inside `bbox`."""
    rng = np.random.default_rng(seed)
    west, south, east, north = bbox
    xs = rng.uniform(west, east - size_deg, count)
    ys = rng.uniform(south, north - size_deg, count)
    return [
        (float(x), float(y), float(x + size_deg), float(y + size_deg))
        for x, y in zip(xs, ys, strict=True)
    ]
