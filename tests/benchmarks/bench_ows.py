"""The OWS interfaces on a 1,000,000-polygon layer, each beside the OGC API – Features call
that answers the same question, in the same run, through the same Flask app:

- WFS 2.0 GetFeature of 10,000 features in GML 3.2 and in GeoJSON: time and bytes, beside
  the OGC API items page of the same 10,000 features;
- ArcGIS REST `query` with an envelope (~1 km squares): median and p95, beside OGC API items
  with the same bbox (the counts must agree);
- WMS GetMap PNG 256×256 and 1024×768 at city (~40 km), district (~8 km) and street
  (~1 km) scale: median and p95.

    .venv/bin/python tests/benchmarks/bench_ows.py [--features 1000000] [--queries 50]
        [--postgres] [--sqlite /tmp/planfuse-bench.db] [--fresh]

The layer and databases are bench_layer.py's (shared with bench_tiles.py and bench_ogc.py).
MapServer as the GetMap peer is not part of this script: it needs the layer in PostGIS and a
mapfile with the same styles.
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
    add_layer_arguments,
    bench_app,
    prepare_layer,
    random_boxes,
    summary_line,
)

MAP_SCALES_DEG = {"city ~40 km": 0.4, "district ~8 km": 0.08, "street ~1 km": 0.01}
MAP_SIZES = ((256, 256), (1024, 768))


def timed(client, url: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - t
    assert r.status_code == 200, (url, r.get_data(as_text=True)[:500])
    return elapsed, r.get_data()


def bench_wfs(client, repeats: int) -> None:
    count = 10_000
    calls = {
        "WFS GetFeature GML 3.2": (
            f"/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:{LAYER_ID}"
            f"&count={count}&srsName=urn:ogc:def:crs:EPSG::4490"
        ),
        "WFS GetFeature GeoJSON": (
            f"/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:{LAYER_ID}"
            f"&count={count}&outputFormat=application/json"
        ),
        "OGC API items (same 10,000)": f"/ogc/collections/{LAYER_ID}/items?limit={count}",
    }
    medians, sizes = {}, {}
    for name, url in calls.items():
        timed(client, url)  # warm: the layer's index and the connection pool
        times, size = [], 0
        for _ in range(repeats):
            elapsed, body = timed(client, url)
            times.append(elapsed)
            size = len(body)
        medians[name], sizes[name] = statistics.median(times), size
        print(summary_line(name, times, f"{size / 1e6:6.2f} MB"))
    base = "OGC API items (same 10,000)"
    for name in calls:
        if name != base:
            print(
                f"  {name} / OGC API page: time {medians[name] / medians[base]:.2f}×, "
                f"bytes {sizes[name] / sizes[base]:.2f}×"
            )


def bench_arcgis(client, bbox, queries: int) -> None:
    boxes = random_boxes(bbox, 0.01, queries, seed=7)
    arcgis, ogc, agree = [], [], True
    for w, s, e, n in boxes:
        envelope = f"{w},{s},{e},{n}"
        elapsed, _ = timed(
            client,
            f"/arcgis/rest/services/{LAYER_ID}/FeatureServer/0/query?geometry={envelope}"
            "&geometryType=esriGeometryEnvelope&inSR=4490&spatialRel=esriSpatialRelIntersects"
            "&outFields=*&returnGeometry=true&resultRecordCount=100&f=json",
        )
        arcgis.append(elapsed)
        count_a = client.get(
            f"/arcgis/rest/services/{LAYER_ID}/FeatureServer/0/query?geometry={envelope}"
            "&geometryType=esriGeometryEnvelope&inSR=4490&returnCountOnly=true&f=json"
        ).get_json()["count"]
        elapsed, _ = timed(client, f"/ogc/collections/{LAYER_ID}/items?bbox={envelope}&limit=100")
        ogc.append(elapsed)
        matched = client.get(
            f"/ogc/collections/{LAYER_ID}/items?bbox={envelope}&limit=1"
        ).get_json()["numberMatched"]
        agree = agree and count_a == matched
    print(summary_line("ArcGIS query envelope ~1 km, 100 records", arcgis))
    print(summary_line("OGC API items bbox ~1 km, limit 100", ogc))
    ratio = statistics.quantiles(arcgis, n=20)[18] / statistics.quantiles(ogc, n=20)[18]
    print(f"  p95 ratio ArcGIS / OGC API: {ratio:.2f}×   (counts agree: {agree})")


def bench_wms(client, bbox, queries: int) -> None:
    for label, size_deg in MAP_SCALES_DEG.items():
        boxes = random_boxes(bbox, size_deg, queries, seed=int(size_deg * 1000) + 1)
        for width, height in MAP_SIZES:
            times = []
            for w, s, e, n in boxes:
                # WMS 1.3.0 with CRS=EPSG:4490 takes latitude first.
                url = (
                    f"/ows?service=WMS&version=1.3.0&request=GetMap&layers={LAYER_ID}&styles="
                    f"&crs=EPSG:4490&bbox={s},{w},{n},{e}&width={width}&height={height}"
                    "&format=image/png"
                )
                r = client.get(url)
                if r.status_code != 200:
                    # A city-scale map over the feature limit is refused, as the docs say.
                    assert b"zoom in" in r.data or b"wms_max_features" in r.data, r.data[:300]
                    break
                t = time.perf_counter()
                r = client.get(url)
                times.append(time.perf_counter() - t)
            if times:
                print(summary_line(f"WMS GetMap {width}×{height} {label}", times))
            else:
                print(f"WMS GetMap {width}×{height} {label}: refused (over wms_max_features)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_layer_arguments(parser)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    url, bbox = prepare_layer(args)
    app = bench_app(url)
    client = app.test_client()
    print(f"\ndatabase: {app.extensions['planfuse'].db.dialect}; layer {LAYER_ID}; bbox {bbox}")
    bench_wfs(client, args.repeats)
    bench_arcgis(client, bbox, args.queries)
    bench_wms(client, bbox, args.queries)
    app.extensions["planfuse"].close()


if __name__ == "__main__":
    main()
