"""Layer import throughput: features per second importing N polygons (default 1,000,000)
from a GeoJSON file in EPSG:4523 (CGCS2000 GK zone 35, prefixed eastings) into a fresh
SQLite database (or, with `--postgres`, a fresh schema of the PostgreSQL test database) —
parse, validate, reproject to EPSG:4490, measure, assign districts (the Chongqing
districts are imported first), write — beside `geopandas.read_file` +
`to_crs("EPSG:4490")` on the same file in the same run (which only reads and
reprojects). Prints the seconds of each import stage too.

    .venv/bin/python tests/benchmarks/bench_import.py [--features 1000000] [--postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.context import build_context
from planfuse.geo.crs import transform_geometry
from planfuse.services.layers.importer import ImportOptions, import_layer
from planfuse.settings import load_settings
from tests.benchmarks.synthetic import tessellation

ROOT = Path(__file__).resolve().parents[2]
DISTRICTS = ROOT / "server" / "demo" / "data" / "chongqing-districts.geojson"
PG_URL = os.environ.get(
    "PLANFUSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def write_geojson(path: Path, n: int) -> None:
    work = tessellation(n)
    from planfuse.geo.measure import work_projection

    geoms = transform_geometry(work_projection().to_storage(work), "EPSG:4490", "EPSG:4523")
    coords = shapely.to_geojson(shapely.set_precision(geoms, 0.001))
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type":"FeatureCollection","features":[\n')
        for i, g in enumerate(coords):
            sep = "," if i else ""
            props = json.dumps({"code": "0101" if i % 3 else "0701", "src_id": i})
            fh.write(f'{sep}{{"type":"Feature","properties":{props},"geometry":{g}}}\n')
        fh.write("]}\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="import into PostgreSQL")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "parcels_4523.geojson"
        t = time.perf_counter()
        write_geojson(src, args.features)
        size_mb = src.stat().st_size / 1e6
        print(
            f"wrote {args.features:,} polygons ({size_mb:,.0f} MB) in "
            f"{time.perf_counter() - t:.1f} s"
        )

        import geopandas

        t = time.perf_counter()
        frame = geopandas.read_file(src).to_crs("EPSG:4490")
        gpd_s = time.perf_counter() - t
        print(
            f"geopandas read_file + to_crs: {gpd_s:6.1f} s  {len(frame) / gpd_s:10,.0f} features/s"
        )
        del frame

        with database(args.postgres, Path(tmp)) as url:
            import_into(url, src, gpd_s, profile=args.profile)


def import_into(url: str, src: Path, gpd_s: float, *, profile: bool) -> None:
    """Import the districts, then time the import of `src` and print the figures."""
    ctx = build_context(load_settings({"database_url": url}, environ={}))
    try:
        ctx.db.upgrade()
        import_layer(
            ctx,
            DISTRICTS,
            ImportOptions(layer_id="bench_districts", kind="district", crs="EPSG:4490"),
        )
        options = ImportOptions(layer_id="bench_parcels", kind="land_use_plan", crs="EPSG:4523")
        stages = StageClock()
        profiler = cProfile.Profile() if profile else None
        t = time.perf_counter()
        if profiler:
            profiler.enable()
        summary = import_layer(ctx, src, options, progress=stages)
        if profiler:
            profiler.disable()
        ours_s = time.perf_counter() - t
    finally:
        ctx.close()
    print(
        f"planfuse layers import:       {ours_s:6.1f} s  "
        f"{summary.feature_count / ours_s:10,.0f} features/s  (version {summary.version})"
    )
    print(f"ratio (PlanFuse time / geopandas time): {ours_s / gpd_s:.2f}")
    print("import stages: " + stages.report())
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


class StageClock:
    """The import's progress callback: seconds spent in each stage, in order."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def __call__(self, stage: str, fraction: float) -> None:
        if not self.marks or self.marks[-1][0] != stage:
            self.marks.append((stage, time.perf_counter()))

    def report(self) -> str:
        spans = zip(self.marks, self.marks[1:], strict=False)
        return ", ".join(f"{a[0]} {b[1] - a[1]:.1f} s" for a, b in spans)


@contextmanager
def database(postgres: bool, tmp: Path) -> Iterator[str]:
    """A fresh database: SQLite in `tmp`, or a private schema of the PostgreSQL test
    database (dropped afterwards), so every run writes into empty tables."""
    if not postgres:
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    from tests.postgres_schema import private_schema_url

    yield from private_schema_url(PG_URL, "pf_bench_")


if __name__ == "__main__":
    main()
