"""The OWS interfaces on a 1,000,000-polygon layer, each beside the OGC API – Features call
that answers the same question, in the same run, through the same Flask app:

- WFS 2.0 GetFeature of 10,000 features in GML 3.2 and in GeoJSON: time and bytes, beside
  the OGC API items page of the same 10,000 features;
- ArcGIS REST `query` with an envelope (~1 km squares): median and p95, beside OGC API items
  with the same bbox (the counts must agree);
- WMS GetMap PNG 256×256 and 1024×768 at city (~40 km), district (~8 km) and street
  (~1 km) scale: median and p95; with `--mapserver`, beside MapServer drawing the very same
  maps.

    .venv/bin/python tests/benchmarks/bench_ows.py [--features 1000000] [--queries 50]
        [--postgres] [--sqlite /tmp/planfuse-bench.db] [--fresh]
        [--mapserver] [--wms-only] [--save-maps DIR] [--no-overview]

The layer and databases are bench_layer.py's (shared with bench_tiles.py and bench_ogc.py).

`--mapserver` (implies `--postgres`) runs Debian's MapServer (`mapserv`, packages
`mapserver-bin cgi-mapserver`, a benchmark-only dependency) as its CGI — one process per
request, `QUERY_STRING` and `MS_MAPFILE` in its environment — on bench_layer.py's PostGIS
copy of the same polygons (table `bench_mvt`, GiST-indexed), with a mapfile written into a
temporary folder that gives each class the fill, stroke, width and opacity of
`map_styles.json` (AGG, PNG). Every GetMap is asked of PlanFuse and then of MapServer (same
bbox, size and CRS, alternating so machine noise hits both; each warmed once, as PlanFuse's
own figures always were); the rows give both medians and p95s, the p95 ratio, the share of
non-background pixels of each server's maps and the mean difference of their colours (0–255
per channel; the images must be alike for the figures to compare). MapServer's per-process
start — a GetCapabilities and a GetMap of an empty area — is measured and printed first: it
is inside every MapServer figure, and a FastCGI deployment would pay it once per process
instead. `--save-maps DIR` keeps the first map
pair of each row to look at.

City-scale maps of the 1,000,000-parcel layer are drawn from its map overview
(`planfuse.services.maps.overview`): before the WMS rows a city map is asked for and the
overview awaited (built in about a minute on first use, stored with the layer version and
loaded by later runs). `--no-overview` draws every map feature by feature, as before.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.services.maps import overview
from planfuse.services.maps.styles import colour, style_for
from tests.benchmarks.bench_layer import (
    CODES,
    LAYER_ID,
    PG_BENCH_DSN,
    PG_TABLE,
    add_layer_arguments,
    bench_app,
    pct_ms,
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


# --- MapServer as the GetMap peer -------------------------------------------------------------

APT_INSTALL = "sudo apt-get install -y mapserver-bin cgi-mapserver"


def mapserv_binary() -> str:
    """The MapServer CGI program, or exit saying how to install it (a benchmark-only
    dependency, not part of bootstrap)."""
    found = shutil.which("mapserv") or (
        "/usr/lib/cgi-bin/mapserv" if Path("/usr/lib/cgi-bin/mapserv").exists() else None
    )
    if found is None:
        sys.exit(
            "--mapserver needs MapServer's CGI program `mapserv`; install it with:\n"
            f"  {APT_INSTALL}"
        )
    return found


def _ms_colour(spec: str | None) -> tuple[str, int] | None:
    """A style colour as MapServer's hex RGB and STYLE OPACITY (percent)."""
    rgba = colour(spec)
    if rgba is None:
        return None
    return "#{:02X}{:02X}{:02X}".format(*rgba[:3]), round(rgba[3] / 255 * 100)


def _ms_class(expression: str | None, style: dict) -> str:
    lines = ["    CLASS"]
    if expression is not None:
        lines.append(f'      EXPRESSION "{expression}"')
    fill, stroke = _ms_colour(style.get("fill")), _ms_colour(style.get("stroke"))
    if fill:
        lines.append(f'      STYLE COLOR "{fill[0]}" OPACITY {fill[1]} END')
    if stroke:
        width = float(style.get("width") or 1)
        lines.append(
            f'      STYLE OUTLINECOLOR "{stroke[0]}" WIDTH {width:g} OPACITY {stroke[1]} END'
        )
    lines.append("    END")
    return "\n".join(lines)


def write_mapfile(folder: Path, kind: str, bbox) -> Path:
    """A mapfile drawing the PostGIS copy of the layer (bench_layer.PG_TABLE, GiST-indexed
    `geom4326`) with the fill, stroke, width and opacity PlanFuse gives each class of `kind`
    (map_styles.json), AGG PNG (RGBA, zlib level 1 as PlanFuse's PNGs), WMS in EPSG:4490.
    The data's SRID is 4326 and the layer is declared EPSG:4490 like the map, so, as in
    PlanFuse, EPSG:4490 and WGS 84 coordinates are taken as the same (no datum step)."""
    classes = [_ms_class(code, style_for(kind, {"code": code})) for code in CODES]
    classes.append(_ms_class(None, style_for(kind, {})))
    west, south, east, north = bbox
    text = f"""MAP
  NAME "planfuse_bench"
  EXTENT {west} {south} {east} {north}
  SIZE 256 256
  MAXSIZE 4096
  IMAGECOLOR 255 255 255
  PROJECTION "init=epsg:4490" END
  OUTPUTFORMAT
    NAME "png"
    DRIVER AGG/PNG
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    FORMATOPTION "COMPRESSION=1"
  END
  WEB
    METADATA
      "wms_title" "PlanFuse benchmark peer"
      "wms_onlineresource" "http://localhost/cgi-bin/mapserv?"
      "wms_srs" "EPSG:4490"
      "wms_enable_request" "*"
    END
  END
  LAYER
    NAME "{LAYER_ID}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{PG_BENCH_DSN}"
    DATA "geom4326 FROM {PG_TABLE} USING UNIQUE fid USING SRID=4326"
    PROJECTION "init=epsg:4490" END
    CLASSITEM "code"
    METADATA
      "wms_title" "{LAYER_ID}"
      "wms_extent" "{west} {south} {east} {north}"
    END
{chr(10).join(classes)}
  END
END
"""
    path = folder / "bench.map"
    path.write_text(text, "utf-8")
    config = folder / "mapserver.conf"
    config.write_text('CONFIG\n  ENV\n    MS_ERRORFILE "stderr"\n  END\nEND\n', "utf-8")
    return path


class MapServerCGI:
    """`mapserv` run as a CGI, one process per request, as a web server would."""

    def __init__(self, binary: str, mapfile: Path):
        self.binary = binary
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MAPSERVER_CONFIG_FILE": str(mapfile.parent / "mapserver.conf"),
            "MS_MAPFILE": str(mapfile),
            "REQUEST_METHOD": "GET",
        }

    def get(self, query: str) -> tuple[float, str, bytes]:
        """(seconds, content type, body) of one request."""
        t = time.perf_counter()
        done = subprocess.run(
            [self.binary], env={**self.env, "QUERY_STRING": query}, capture_output=True, check=False
        )
        elapsed = time.perf_counter() - t
        head, _, body = done.stdout.partition(b"\r\n\r\n")
        content_type = ""
        for line in head.decode("latin-1").splitlines():
            if line.lower().startswith("content-type:"):
                content_type = line.split(":", 1)[1].strip()
        if done.returncode != 0 or not content_type:
            raise RuntimeError(f"mapserv failed: {done.stdout[:300]!r} {done.stderr[:300]!r}")
        return elapsed, content_type, body


def wms_query(width: int, height: int, box) -> str:
    """The GetMap query both servers answer. WMS 1.3.0 with CRS=EPSG:4490 takes latitude
    first."""
    w, s, e, n = box
    return (
        f"service=WMS&version=1.3.0&request=GetMap&layers={LAYER_ID}&styles="
        f"&crs=EPSG:4490&bbox={s},{w},{n},{e}&width={width}&height={height}&format=image/png"
    )


def decoded(png: bytes, size: tuple[int, int]) -> np.ndarray:
    """A map's pixels as RGB on white (asserting its size)."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    assert image.size == size, (image.size, size)
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, image).convert("RGB")).astype(np.int16)


def painted(pixels: np.ndarray) -> float:
    """The fraction of a map's pixels that are not the white background."""
    return float(np.any(pixels != 255, axis=-1).mean())


def mapserver_start_cost(mapserver: MapServerCGI, bbox, repeats: int) -> float:
    """Median seconds of a request that draws nothing — GetCapabilities (no database) and a
    GetMap of an empty area (connect to PostGIS, query, encode a blank PNG): what a CGI
    pays per request that FastCGI pays once per process."""
    west, south, _, _ = bbox
    empty = (west - 1.0, south - 1.0, west - 0.9, south - 0.9)
    calls = {
        "MapServer CGI GetCapabilities": "service=WMS&version=1.3.0&request=GetCapabilities",
        "MapServer CGI GetMap of an empty area": wms_query(256, 256, empty),
    }
    medians = []
    for name, query in calls.items():
        mapserver.get(query)
        times = [mapserver.get(query)[0] for _ in range(repeats)]
        print(summary_line(name, times))
        medians.append(statistics.median(times))
    return medians[-1]


def ready_overview(client, app, bbox) -> None:
    """Ask for a city-scale map, so the layer's map overview is loaded (or, on the first
    run, built and stored), and wait for it: the rows measure the steady state."""
    west, south, _, _ = bbox
    t = time.perf_counter()
    client.get("/ows?" + wms_query(256, 256, (west, south, west + 0.4, south + 0.4)))
    overview.wait(app.extensions["planfuse"])
    print(
        f"map overview of {LAYER_ID} ready in {time.perf_counter() - t:.1f} s (built on "
        "first use and stored with the layer version; later runs load it)"
    )


def bench_wms(
    client, bbox, queries: int, mapserver: MapServerCGI | None, save: Path | None
) -> None:
    """GetMap at each scale and size; with `mapserver`, each map is also asked of MapServer
    right after PlanFuse (alternating, so machine noise hits both), and both images are
    checked to be the same size and compared pixel by pixel."""
    for label, size_deg in MAP_SCALES_DEG.items():
        boxes = random_boxes(bbox, size_deg, queries, seed=int(size_deg * 1000) + 1)
        for width, height in MAP_SIZES:
            name = f"WMS GetMap {width}×{height} {label}"
            ours, theirs, our_paint, their_paint, apart = [], [], [], [], []
            for box in boxes:
                query = wms_query(width, height, box)
                r = client.get("/ows?" + query)  # warm-up, and the feature-limit check
                if r.status_code != 200:
                    # A city-scale map over the feature limit is refused, as the docs say.
                    assert b"zoom in" in r.data or b"wms_max_features" in r.data, r.data[:300]
                    break
                if mapserver is not None:
                    mapserver.get(query)
                t = time.perf_counter()
                r = client.get("/ows?" + query)
                ours.append(time.perf_counter() - t)
                assert r.status_code == 200, r.data[:300]
                if mapserver is None:
                    continue
                elapsed, content_type, body = mapserver.get(query)
                assert content_type == "image/png", body[:300]
                theirs.append(elapsed)
                our_pixels = decoded(r.data, (width, height))
                their_pixels = decoded(body, (width, height))
                our_paint.append(painted(our_pixels))
                their_paint.append(painted(their_pixels))
                apart.append(float(np.abs(our_pixels - their_pixels).mean()))
                if save is not None and len(theirs) == 1:
                    stem = f"{width}x{height}-{label.split()[0]}"
                    (save / f"{stem}-planfuse.png").write_bytes(r.data)
                    (save / f"{stem}-mapserver.png").write_bytes(body)
            if not ours:
                print(f"{name}: refused (over wms_max_features)")
                continue
            print(summary_line(name, ours))
            if theirs:
                print(summary_line("  MapServer CGI, same maps", theirs))
                ratio = pct_ms(ours, 95) / pct_ms(theirs, 95)
                print(
                    f"  p95 ratio PlanFuse / MapServer: {ratio:.2f}×   painted pixels: "
                    f"PlanFuse {statistics.mean(our_paint):.1%}, "
                    f"MapServer {statistics.mean(their_paint):.1%}; mean colour difference "
                    f"{statistics.mean(apart):.1f}/255"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_layer_arguments(parser)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--mapserver",
        action="store_true",
        help="draw every GetMap with MapServer's CGI too (PostGIS; implies --postgres)",
    )
    parser.add_argument("--wms-only", action="store_true", help="skip the WFS and ArcGIS rows")
    parser.add_argument(
        "--no-overview",
        action="store_true",
        help="draw every map feature by feature (as before the layer overviews)",
    )
    parser.add_argument(
        "--save-maps", type=Path, help="write the first map pair of each row into this folder"
    )
    args = parser.parse_args()
    binary = None
    if args.mapserver:
        binary = mapserv_binary()
        args.postgres = True
    url, bbox = prepare_layer(args)
    app = bench_app(url)
    client = app.test_client()
    print(f"\ndatabase: {app.extensions['planfuse'].db.dialect}; layer {LAYER_ID}; bbox {bbox}")
    if not args.wms_only:
        bench_wfs(client, args.repeats)
        bench_arcgis(client, bbox, args.queries)
    if args.save_maps:
        args.save_maps.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="planfuse-mapserver-") as folder:
        mapserver = None
        if binary is not None:
            mapfile = write_mapfile(Path(folder), "land_use_plan", bbox)
            mapserver = MapServerCGI(binary, mapfile)
            version = subprocess.run([binary, "-v"], capture_output=True, text=True).stdout
            print(f"MapServer: {binary} ({version.split(' OUTPUT')[0].strip()})")
            start = mapserver_start_cost(mapserver, bbox, max(args.repeats, 10))
            print(
                f"  MapServer's per-process start (an empty-area GetMap, {start * 1000:.1f} ms) "
                "is in every MapServer figure below; FastCGI would pay it once per process"
            )
        if args.no_overview:
            overview.MIN_FEATURES = sys.maxsize
            print("map overviews off: every map drawn feature by feature")
        else:
            ready_overview(client, app, bbox)
        bench_wms(client, bbox, args.queries, mapserver, args.save_maps)
    app.extensions["planfuse"].close()


if __name__ == "__main__":
    main()
