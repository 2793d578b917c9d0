"""OGC API – Features page latency on a 1,000,000-polygon layer: bbox queries of ~1 km and
~10 km (limit 10 and 100, and a deep page), a property filter, and an unfiltered page,
through the Flask app; beside PostGIS answering the same bbox pages in the same run (with
--postgres).

    .venv/bin/python tests/benchmarks/bench_ogc.py [--features 1000000] [--queries 100]
        [--postgres] [--sqlite /tmp/planfuse-bench.db] [--fresh]

Databases are shared with bench_tiles.py (see bench_layer.py). Each PlanFuse request is
the full HTTP response: parameter checks, numberMatched, the page in fid order, geometry
as GeoJSON, links. The PostGIS peer is what a PostGIS-backed OGC server runs for the same
page — `count(*)` with `&&` + `ST_Intersects` over a GiST index, then the page with
`ST_AsGeoJSON`, ordered by fid — timed at the database only (no HTTP, no JSON assembly),
so it is a lower bound for such a server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.bench_layer import (
    LAYER_ID,
    PG_BENCH_DSN,
    PG_TABLE,
    add_layer_arguments,
    bench_app,
    prepare_layer,
    random_boxes,
    summary_line,
)

# ~1 km and ~10 km squares at 29.5°N.
BOX_SIZES_DEG = {"1 km": 0.01, "10 km": 0.1}


def run_planfuse(client, urls):
    times, matched = [], []
    for url in urls:
        t = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.get_data(as_text=True)
        matched.append(r.get_json()["numberMatched"])
    return times, matched


POSTGIS_COUNT = (
    f"SELECT count(*) FROM {PG_TABLE} "
    "WHERE geom4326 && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) "
    "AND ST_Intersects(geom4326, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326))"
)
POSTGIS_PAGE = (
    f"SELECT fid, code, district, ST_AsGeoJSON(geom4326, 9) FROM {PG_TABLE} "
    "WHERE geom4326 && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326) "
    "AND ST_Intersects(geom4326, ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)) "
    "ORDER BY fid LIMIT %(limit)s OFFSET %(offset)s"
)


def run_postgis(conn, boxes, limit, offset):
    times, matched = [], []
    with conn.cursor() as cur:
        for w, s, e, n in boxes:
            params = {"w": w, "s": s, "e": e, "n": n, "limit": limit, "offset": offset}
            t = time.perf_counter()
            cur.execute(POSTGIS_COUNT, params)
            count = cur.fetchone()[0]
            cur.execute(POSTGIS_PAGE, params)
            cur.fetchall()
            times.append(time.perf_counter() - t)
            matched.append(count)
    return times, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_layer_arguments(parser)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    url, bbox = prepare_layer(args)

    app = bench_app(url)
    client = app.test_client()
    print(f"\ndatabase: {app.extensions['planfuse'].db.dialect}; layer {LAYER_ID}")
    items = f"/ogc/collections/{LAYER_ID}/items"
    client.get(f"{items}?limit=1")  # connection pool, caches

    conn = None
    if args.postgres:
        import psycopg

        conn = psycopg.connect(PG_BENCH_DSN)

    for label, size in BOX_SIZES_DEG.items():
        boxes = random_boxes(bbox, size, args.queries, seed=int(size * 1000))
        for limit, offset in ((10, 0), (100, 0), (10, 1000)):
            if offset and label == "1 km":
                continue
            urls = [
                f"{items}?bbox={w},{s},{e},{n}&limit={limit}&offset={offset}"
                for w, s, e, n in boxes
            ]
            times, matched = run_planfuse(client, urls)
            name = f"PlanFuse bbox {label} limit={limit} offset={offset}"
            print(summary_line(name, times, f"(mean matched {statistics.mean(matched):,.0f})"))
            if conn is not None:
                peer_times, peer_matched = run_postgis(conn, boxes, limit, offset)
                assert peer_matched == matched, "PostGIS and PlanFuse disagree on numberMatched"
                print(summary_line("  PostGIS count + page (DB only)", peer_times))
                ratio = statistics.median(times) / statistics.median(peer_times)
                print(f"  median ratio PlanFuse / PostGIS: {ratio:.2f}×   (numberMatched agree)")

    times, _ = run_planfuse(client, [f"{items}?code=0701&limit=10"] * 5)
    print(summary_line("PlanFuse property filter code=0701", times, "(scans the layer)"))
    times, _ = run_planfuse(
        client, [f"{items}?limit=100&offset={k * 9973}" for k in range(args.queries)]
    )
    print(summary_line("PlanFuse unfiltered page limit=100", times))
    if conn is not None:
        conn.close()
    app.extensions["planfuse"].close()


if __name__ == "__main__":
    main()
