"""Hostile geometry against the limits: how fast oversized input is refused, and whether
/healthz still answers while the heaviest requests run.

    nice .venv/bin/python tests/benchmarks/bench_geometry_limits.py [--heavy 8]
        [--vertices 20000] [--seconds 60]

Run it with two interpreters to compare two versions of the server: each imports and
serves the `planfuse` of its own environment (e.g. the main branch's `.venv` for the
figures before a change, the work tree's for after).

1. **Refusal** inside the geo core (`parse_features`), median of three: a 500,000-line
   界址点 list and a 300,000-vertex GeoJSON FeatureCollection (3,000 polygons of 100
   vertices), both over the 250,000-vertex cap.
2. **Starvation**: `planfuse serve` (2 workers × 4 threads, the defaults, SQLite, rate
   limits off) gets `--heavy` concurrent compliance checks of a self-intersecting
   `--vertices`-vertex zigzag red line with `"repair": true`; meanwhile /healthz is
   asked every 0.25 s. Printed: each heavy request's status and seconds, and the
   /healthz latencies (median, max) while they ran.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CENTRE = (106.52, 29.60)


def lines_500k() -> str:
    rows = (f"J{i},{3300000 + i * 0.01:.2f},{500000 + i % 7}.00" for i in range(500_000))
    return "点号,X,Y\n" + "\n".join(rows)


def geojson_300k() -> str:
    features = []
    for j in range(3000):
        ring = [[106.5 + j * 1e-3 + k * 1e-6, 29.5 + k * 1e-6] for k in range(99)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features})


def zigzag(vertices: int) -> dict:
    """A star whose spikes' bounding boxes all overlap, with a twist that makes it
    self-intersect: slow for GEOS to validate and to repair."""
    coords = []
    for i in range(vertices):
        angle = 2 * math.pi * i / vertices
        r = 0.001 if i % 2 == 0 else 0.0005
        coords.append([CENTRE[0] + r * math.cos(angle), CENTRE[1] + r * math.sin(angle)])
    coords[10:20] = coords[10:20][::-1]
    coords.append(coords[0])
    return {"type": "Polygon", "coordinates": [coords]}


def refusal() -> None:
    from planfuse.geo.parse import parse_features

    for name, data in (
        ("500,000-line list", lines_500k()),
        ("300,000-vertex GeoJSON", geojson_300k()),
    ):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            try:
                parse_features(data)
                outcome = "accepted"
            except Exception as exc:
                outcome = str(exc)[:70]
            times.append(time.perf_counter() - started)
        print(f"refuse {name:24s} median {statistics.median(times):6.2f} s  ({outcome})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def starvation(heavy: int, vertices: int, seconds: float) -> None:
    bindir = Path(sys.executable).parent
    planfuse = str(bindir / "planfuse")
    workdir = Path(tempfile.mkdtemp(prefix="pf-bench-limits-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PLANFUSE_")},
        "PLANFUSE_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "PLANFUSE_SECRET_KEY": "bench-secret-" + "x" * 40,
        "PLANFUSE_RATE_LIMITS_ENABLED": "false",
        "PLANFUSE_PRELOAD_LAYERS": "false",
    }
    subprocess.run([planfuse, "db", "upgrade"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [planfuse, "apps", "create", "bench", "--origin", "https://bench.example", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    app = json.loads(created.stdout)
    auth = "Basic " + base64.b64encode(f"{app['app_id']}:{app['secret']}".encode()).decode()
    port = free_port()
    server = subprocess.Popen(
        [planfuse, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        body = json.dumps(
            {
                "geometry": zigzag(vertices),
                "crs": "EPSG:4490",
                "land_use": "0701",
                "project_type": "urban",
                "repair": True,
            }
        ).encode()
        results: list[tuple[int, float]] = []

        def check() -> None:
            started = time.perf_counter()
            request = urllib.request.Request(
                base + "/api/v1/compliance/check",
                data=body,
                headers={"Content-Type": "application/json", "Authorization": auth},
            )
            try:
                with urllib.request.urlopen(request, timeout=seconds) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0  # no answer within --seconds
            results.append((status, time.perf_counter() - started))

        threads = [threading.Thread(target=check) for _ in range(heavy)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        health: list[float] = []
        while any(t.is_alive() for t in threads):
            started = time.perf_counter()
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + "/healthz", timeout=seconds).read()
            health.append(time.perf_counter() - started)
            time.sleep(0.25)
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()  # workers still busy with the zigzags
            server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
    statuses = sorted(results)
    print(
        f"{heavy} concurrent checks of a {vertices:,}-vertex self-intersecting zigzag "
        "(repair): " + ", ".join(f"{s} in {t:.1f} s" for s, t in statuses)
    )
    if health:
        print(
            f"/healthz while they ran: {len(health)} probes, median "
            f"{statistics.median(health):.3f} s, max {max(health):.3f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heavy", type=int, default=8)
    parser.add_argument("--vertices", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    import planfuse

    print(f"planfuse from {Path(planfuse.__file__).parent}")
    refusal()
    starvation(args.heavy, args.vertices, args.seconds)


if __name__ == "__main__":
    main()
