"""A bounded soak: a real day's mixed traffic against `planfuse serve` on PostgreSQL and
Redis, on loopback, for a few minutes; zero 5xx wanted, memory flat.

    nice .venv/bin/python tests/benchmarks/soak.py [--seconds 300] [--clients 8]
        [--out docs/benchmarks/soak.txt]

Builds the small demo dataset (the tests' scale) in a fresh PostgreSQL database on
127.0.0.1:5432, serves it with the default `planfuse serve` (2 workers × 4 threads) and
Redis 127.0.0.1:6379/13 as the shared cache, then `--clients` threads each loop over a
weighted mix: embed-token exchanges, widget page loads, compliance checks (HTTP Basic),
vector tiles, OGC item pages, siting searches and ledgers. Rate limits are off (every
client is 127.0.0.1). Printed and written to `--out`: requests and errors per route,
p50/p99 latency per route, and the server processes' resident memory at the start and the
end of the run.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/13"
SECRET = "soak-secret-" + "s" * 40


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children, in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def build(database_url: str) -> dict:
    from embed_support import claims_for  # noqa: F401 - checks the test helpers import

    from planfuse.auth.apps import create_host_app
    from planfuse.demo.build import build_demo
    from planfuse.demo.testing import TEST_SCALE, demo_context

    ctx = demo_context(database_url, secret_key=SECRET)
    try:
        ctx.db.upgrade()
        build_demo(ctx, scale=TEST_SCALE, cache_dir=ROOT / "var" / "demo")
        record, secret = create_host_app(ctx, "soak", ["https://soak.example"])
    finally:
        ctx.close()
    return {"app_id": record.id, "secret": secret}


class Client:
    def __init__(self, port: int, app: dict, layers: list[str], stats: dict) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.app, self.layers, self.stats = app, layers, stats
        raw = f"{app['app_id']}:{app['secret']}".encode()
        self.basic = {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def call(self, route: str, method: str, path: str, body=None, headers=None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        h = {**(headers or {}), **({"Content-Type": "application/json"} if data else {})}
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=h)
            response = self.conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            status = 0
        self.stats[route].append((status, time.perf_counter() - started))
        return status

    def token(self) -> str:
        from embed_support import claims_for, sign_hs256

        claims = claims_for(self.app["app_id"], "compliance", jti=secrets.token_urlsafe(12))
        return sign_hs256(claims, self.app["secret"])

    def step(self, rng: random.Random) -> None:
        from compliance_world import project

        kind = rng.choices(
            ["session", "widget", "check", "tile", "ogc", "siting", "ledger"],
            weights=[15, 10, 20, 30, 10, 10, 5],
        )[0]
        if kind == "session":
            self.call("POST /embed/session", "POST", "/embed/session", {"token": self.token()})
        elif kind == "widget":
            self.call("GET /embed/<widget>", "GET", f"/embed/compliance?app={self.app['app_id']}")
        elif kind == "check":
            x, y = rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)
            body = {
                "geometry": project(x, y, x + rng.uniform(50, 400), y + rng.uniform(50, 400)),
                "crs": "EPSG:4490",
                "land_use": "0701",
                "project_type": "urban",
            }
            self.call(
                "POST /api/v1/compliance/check",
                "POST",
                "/api/v1/compliance/check",
                body,
                self.basic,
            )
        elif kind == "tile":
            z = rng.choice([10, 11, 12])
            # Tiles around central Chongqing (106.55 E, 29.56 N).
            n = 2**z
            x = int((106.55 + 180) / 360 * n) + rng.randint(-1, 1)
            y = int((1 - (0.5160 / 3.14159)) / 2 * n) + rng.randint(-1, 1)
            layer = rng.choice(self.layers)
            self.call(
                "GET /tiles/<layer>/<z>/<x>/<y>.mvt", "GET", f"/tiles/{layer}/{z}/{x}/{y}.mvt"
            )
        elif kind == "ogc":
            layer = rng.choice(self.layers)
            bbox = "106.4,29.4,106.7,29.7"
            self.call(
                "GET /ogc/collections/<layer>/items",
                "GET",
                f"/ogc/collections/{layer}/items?limit=50&bbox={bbox}",
            )
        elif kind == "siting":
            body = {
                "scope": {"districts": ["500103"]},
                "land_use": "10",
                "area_min_m2": 8000,
                "area_max_m2": 60000,
                "controls": [{"kind": "basic_farmland", "mode": "outside"}],
            }
            self.call(
                "POST /api/v1/siting/search", "POST", "/api/v1/siting/search", body, self.basic
            )
        else:
            name = rng.choice(["urban_plan", "conflicts"])
            self.call(
                "GET /api/v1/ledgers/<name>", "GET", f"/api/v1/ledgers/{name}", None, self.basic
            )


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    name = "soak_" + secrets.token_hex(4)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    server = None
    try:
        t0 = time.perf_counter()
        app = build(database_url)
        print(f"demo data built in {time.perf_counter() - t0:.0f} s", flush=True)
        port = 18000 + secrets.randbelow(1000)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PLANFUSE_")},
            "PLANFUSE_DATABASE_URL": database_url,
            "PLANFUSE_REDIS_URL": REDIS_URL,
            "PLANFUSE_SECRET_KEY": SECRET,
            "PLANFUSE_RATE_LIMITS_ENABLED": "false",
        }
        planfuse = str(Path(sys.executable).parent / "planfuse")
        log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"{name}.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
            [planfuse, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        deadline = time.monotonic() + 180
        while True:
            try:
                probe.request("GET", "/api/v1/layers")
                layers = [entry["id"] for entry in json.loads(probe.getresponse().read())["layers"]]
                break
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                probe.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        rss_start = rss_mb(server.pid)
        stats: dict[str, list] = defaultdict(list)
        stop = time.monotonic() + args.seconds

        def loop(seed: int) -> None:
            rng = random.Random(seed)
            client = Client(port, app, layers, stats)
            while time.monotonic() < stop:
                client.step(rng)

        threads = [threading.Thread(target=loop, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        # Caches and pools fill in the first minute; flat memory is judged after it.
        time.sleep(min(60.0, args.seconds / 2))
        rss_warm = rss_mb(server.pid)
        for thread in threads:
            thread.join()
        rss_end = rss_mb(server.pid)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        admin.dispose()
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    lines = [
        f"soak: {args.seconds:.0f} s, {args.clients} clients on loopback, planfuse serve "
        "(2 workers x 4 threads), PostgreSQL, Redis cache, rate limits off",
        f"{'route':44s} {'requests':>8s} {'5xx':>5s} {'other':>14s} {'p50 ms':>8s} {'p99 ms':>8s}",
    ]
    total = errors = 0
    for route in sorted(stats):
        entries = stats[route]
        times = [t * 1000 for _, t in entries]
        five = sum(1 for s, _ in entries if s >= 500 or s == 0)
        others = sorted({s for s, _ in entries if s >= 300 and s < 500})
        total += len(entries)
        errors += five
        lines.append(
            f"{route:44s} {len(entries):8d} {five:5d} {','.join(map(str, others)) or '-':>14s} "
            f"{statistics.median(times):8.1f} {percentile(times, 99):8.1f}"
        )
    lines.append(f"total {total} requests, {errors} 5xx or no answer")
    lines.append(
        f"server RSS (master + workers): start {rss_start:.0f} MB, after the first minute "
        f"{rss_warm:.0f} MB, end {rss_end:.0f} MB"
    )
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
