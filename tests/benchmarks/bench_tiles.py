"""Vector-tile throughput on a 1,000,000-polygon layer: tiles/s cold and cached at zooms 8,
12 and 16, through the Flask app (routing, access check, cache, rendering, encoding),
beside PostGIS `ST_AsMVT` on the same polygons in the same run (with --postgres).

    .venv/bin/python tests/benchmarks/bench_tiles.py [--features 1000000] [--tiles 100]
        [--postgres] [--sqlite /tmp/planfuse-bench.db] [--fresh]
    .venv/bin/python tests/benchmarks/bench_tiles.py --demo 20 [--tiles 30] [--postgres]

SQLite (default) keeps its database in --sqlite between runs; --postgres uses (and keeps)
the database `planfuse_bench` on 127.0.0.1:5432 with PostGIS. The first run imports the
layer (a few minutes). "cold" is a tile never rendered before (empty tile cache; the layer's
in-memory index already built — its one-off build time is printed separately); "cached"
is the same tile requested again; "render only" is the tile work without HTTP, access
check or cache, comparable with the PostGIS peer's SQL. The PostGIS peers run ST_AsMVTGeom
+ ST_AsMVT over a GiST index: "plain" encodes every feature meeting the tile
(ST_AsMVTGeom clips and snaps to the grid); "same rule" adds PlanFuse's tiny-feature rule
(below z14, features smaller than a screen pixel left out) so both encode the same
features.

With --demo SCALE the workload is a map view of the demo dataset: for each sampled tile
position (at random parcels of the largest layer, i.e. where the data is) the tile of every
layer is requested, as the map widget does; throughput is counted in layer tiles per second
(no PostGIS peer).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.ogc import tiles
from tests.benchmarks.bench_layer import (
    LAYER_ID,
    PG_BENCH_DSN,
    PG_TABLE,
    add_layer_arguments,
    bench_app,
    context,
    demo_database_url,
    ensure_demo,
    ensure_pg_demo_database,
    pct_ms,
    prepare_layer,
)

ZOOMS = (8, 12, 16)


def tile_range(bbox, z):
    def tile_of(lon, lat):
        n = 1 << z
        lat_r = math.radians(lat)
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.log(math.tan(lat_r) + 1 / math.cos(lat_r)) / math.pi) / 2 * n)
        return x, y

    (x0, y1), (x1, y0) = tile_of(bbox[0], bbox[1]), tile_of(bbox[2], bbox[3])
    return x0, x1, y0, y1


def sample_tiles(bbox, z, count, seed=5):
    x0, x1, y0, y1 = tile_range(bbox, z)
    every = [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    if len(every) <= count:
        return every
    rng = np.random.default_rng(seed + z)
    picks = rng.choice(len(every), size=count, replace=False)
    return [every[i] for i in sorted(picks)]


def run_http(client, coords, layers=(LAYER_ID,)):
    times, sizes, empty = [], [], 0
    for z, x, y in coords:
        for layer in layers:
            t = time.perf_counter()
            r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
            times.append(time.perf_counter() - t)
            assert r.status_code in (200, 204), r.status_code
            sizes.append(len(r.data))
            empty += r.status_code == 204
    return times, sizes, empty


def run_render(pf, coords):
    """The tile work alone (`render_tile`: index query, clipping, encoding), without HTTP,
    the access check or the cache — what the PostGIS peer's SQL corresponds to."""
    from planfuse.ogc.features import collection_ref

    ref = collection_ref(pf, LAYER_ID)
    times = []
    for z, x, y in coords:
        t = time.perf_counter()
        tiles.render_tile(pf, ref, z, x, y)
        times.append(time.perf_counter() - t)
    return times


def line(name, times, sizes=None, empty=None):
    total = sum(times)
    extra = ""
    if sizes is not None:
        extra = f"  mean {statistics.mean(sizes) / 1024:7.1f} KB"
    if empty:
        extra += f"  {empty} empty"
    print(
        f"  {name:<26} {len(times) / total:9.1f} tiles/s  median {pct_ms(times, 50):9.2f} ms"
        f"  p95 {pct_ms(times, 95):9.2f} ms  n={len(times)}{extra}"
    )
    return statistics.median(times)


POSTGIS_SQL = """
WITH bounds AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
                       ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096) AS wide),
mvtgeom AS (
  SELECT ST_AsMVTGeom(t.geom, bounds.env, 4096, 64, true) AS geom, t.fid, t.code, t.district
  FROM {table} t, bounds
  WHERE t.geom && bounds.wide {rule}
)
SELECT ST_AsMVT(mvtgeom.*, 'layer', 4096, 'geom', 'fid') FROM mvtgeom
"""
SIZE_RULE = (
    "AND (%(z)s >= 14 OR greatest(ST_XMax(t.geom) - ST_XMin(t.geom), "
    "ST_YMax(t.geom) - ST_YMin(t.geom)) >= %(pixel)s)"
)


def run_postgis(conn, coords, rule: bool):
    sql = POSTGIS_SQL.format(table=PG_TABLE, rule=SIZE_RULE if rule else "")
    times, sizes = [], []
    with conn.cursor() as cur:
        for z, x, y in coords:
            pixel = 2 * tiles.ORIGIN_M / (1 << z) / 256
            t = time.perf_counter()
            cur.execute(sql, {"z": z, "x": x, "y": y, "pixel": pixel})
            content = cur.fetchone()[0]
            times.append(time.perf_counter() - t)
            sizes.append(len(content or b""))
    return times, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_layer_arguments(parser)
    parser.add_argument("--tiles", type=int, default=100, help="tiles per zoom (sampled)")
    parser.add_argument("--demo", type=float, default=None, metavar="SCALE")
    args = parser.parse_args()
    if args.demo is not None:
        return demo_main(args)
    url, bbox = prepare_layer(args)

    app = bench_app(url)
    client = app.test_client()
    cache = app.extensions["planfuse_cache"]
    pf = app.extensions["planfuse"]
    print(f"\ndatabase: {pf.db.dialect}; layer {LAYER_ID}, bbox {[round(v, 3) for v in bbox]}")

    t = time.perf_counter()
    from planfuse.ogc.features import collection_ref

    tiles.tile_index(pf, collection_ref(pf, LAYER_ID))
    print(f"in-memory tile index build (once per layer version): {time.perf_counter() - t:.1f} s")

    samples = {z: sample_tiles(bbox, z, args.tiles) for z in ZOOMS}
    medians = {}
    for z in ZOOMS:
        coords = samples[z]
        print(f"\nzoom {z}: {len(coords)} tiles")
        cache.clear()
        times, sizes, empty = run_http(client, coords)
        medians[(z, "cold")] = line("PlanFuse cold", times, sizes, empty)
        times, sizes, empty = run_http(client, coords)
        medians[(z, "cached")] = line("PlanFuse cached", times, sizes, empty)
        times = run_render(pf, coords)
        medians[(z, "render")] = line("PlanFuse render only", times)
        if args.postgres:
            import psycopg

            with psycopg.connect(PG_BENCH_DSN) as conn:
                for rule in (False, True):
                    subset = coords if z > 8 or rule else coords[: max(1, min(len(coords), 4))]
                    times, sizes = run_postgis(conn, subset, rule)
                    name = "PostGIS ST_AsMVT " + ("same rule" if rule else "plain")
                    medians[(z, name)] = line(name, times, sizes)
            for peer in ("PostGIS ST_AsMVT plain", "PostGIS ST_AsMVT same rule"):
                for ours in ("cold", "render"):
                    ratio = medians[(z, peer)] / medians[(z, ours)]
                    print(f"  median ratio {peer} / PlanFuse {ours}: {ratio:6.2f}×")
    app.extensions["planfuse"].close()


def demo_main(args) -> None:
    if args.postgres:
        ensure_pg_demo_database()
    url = demo_database_url(args.postgres, args.demo)
    ctx = context(url)
    counts = ensure_demo(ctx, args.demo)
    from planfuse.ogc.features import collection_ref

    ctx.close()
    layers = [layer for layer, _ in counts]
    app = bench_app(url)
    client = app.test_client()
    cache = app.extensions["planfuse_cache"]
    pf = app.extensions["planfuse"]
    print(
        f"\ndatabase: {pf.db.dialect}; {len(layers)} layers: "
        + ", ".join(f"{layer} {n:,}" for layer, n in counts)
    )
    t = time.perf_counter()
    for layer in layers:
        tiles.tile_index(pf, collection_ref(pf, layer))
    print(f"in-memory tile indexes of every layer: {time.perf_counter() - t:.1f} s")
    # Where people look: tile positions at random parcels of the largest layer (its density
    # follows the towns), not uniformly over the mostly rural municipality.
    largest = tiles.tile_index(pf, collection_ref(pf, layers[0]))
    rng = np.random.default_rng(11)
    picks = rng.choice(len(largest), size=args.tiles, replace=False)
    centres = shapely.get_coordinates(shapely.point_on_surface(largest.geometries[picks]))
    for z in ZOOMS:
        size = 2 * tiles.ORIGIN_M / (1 << z)
        coords = sorted(
            {(z, int((mx + tiles.ORIGIN_M) // size), int((tiles.ORIGIN_M - my) // size))
             for mx, my in centres}
        )  # fmt: skip
        print(f"\nzoom {z}: {len(coords)} map views × {len(layers)} layers")
        cache.clear()
        times, sizes, empty = run_http(client, coords, layers)
        line("PlanFuse cold (layer tiles)", times, sizes, empty)
        view = [sum(times[i : i + len(layers)]) for i in range(0, len(times), len(layers))]
        print(f"  map view (all layers) cold: median {pct_ms(view, 50):.1f} ms")
        times, sizes, empty = run_http(client, coords, layers)
        line("PlanFuse cached (layer tiles)", times, sizes, empty)
    app.extensions["planfuse"].close()


if __name__ == "__main__":
    main()
