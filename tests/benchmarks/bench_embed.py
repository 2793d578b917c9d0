"""Embedding benchmarks (issue 4). A script that prints figures; not part of the test suite.

    .venv/bin/python tests/benchmarks/bench_embed.py [--loads 30] [--seconds 20] [--clients 16]

1. `embed.js` size: minified and gzipped (budget 6 KB gzipped).
2. Host page load → widget `ready` in headless Chromium across two origins (the browser
   rig of the test suite, a fresh browser context per load so every load is cold): median
   and p95 over N loads, and the bytes transferred (host page + widget frame).
3. Token validation + session exchange under concurrent load on loopback: `planfuse serve`
   (gunicorn, 2 workers × 4 threads, SQLite) hammered by C keep-alive clients, each request
   a fresh embed token (unique jti) → `POST /embed/session`; requests per second,
   p50/p99 latency and error rate. Also the in-process cost of one validation.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def bench_size() -> None:
    from embed_browser import build_frontend

    build_frontend()
    raw = (ROOT / "static" / "build" / "embed.js").read_bytes()
    print("== embed.js")
    print(
        f"minified {len(raw)} B, gzipped {len(gzip.compress(raw, 9))} B (budget 6144 B; "
        "zoid 28.6 KB, post-robot 11.8 KB)"
    )


def bench_page_loads(loads: int) -> None:
    from embed_browser import EmbedRig

    with tempfile.TemporaryDirectory() as tmp:
        rig = EmbedRig(f"sqlite:///{tmp}/bench.db")
        try:
            times, host_bytes, frame_bytes = [], [], []
            for _ in range(loads + 1):  # the first load warms the server up, not counted
                page = rig.rig_page()
                rig.wait_for_event(page, "ready")
                ready_ms = page.evaluate("window.readyAt")
                transfer = """() => performance.getEntriesByType('navigation')
                    .concat(performance.getEntriesByType('resource'))
                    .reduce((n, e) => n + (e.transferSize || 0), 0)"""
                hb = page.evaluate(transfer)
                fb = rig.widget_frame(page).evaluate(transfer)
                page.context.close()
                times.append(ready_ms)
                host_bytes.append(hb)
                frame_bytes.append(fb)
            times, host_bytes, frame_bytes = times[1:], host_bytes[1:], frame_bytes[1:]
        finally:
            rig.close()
    print(f"== host page load → ready ({loads} cold loads, two origins, headless Chromium)")
    print(
        f"median {statistics.median(times):.0f} ms, p95 {pct(times, 95):.0f} ms, "
        f"min {min(times):.0f} ms, max {max(times):.0f} ms"
    )
    print(
        f"bytes transferred per load: host page {statistics.median(host_bytes):.0f} B "
        f"(incl. embed.js), widget frame {statistics.median(frame_bytes):.0f} B "
        f"(page, runtime+widget bundle, CSS, session exchange)"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_exchange(seconds: float, clients: int) -> None:
    from embed_support import claims_for, sign_hs256

    from planfuse.auth.apps import create_host_app, get_host_app
    from planfuse.auth.tokens import validate_embed_token
    from planfuse.context import build_context
    from planfuse.settings import load_settings

    tmp = tempfile.mkdtemp()
    env = {
        **os.environ,
        "PLANFUSE_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "PLANFUSE_SECRET_KEY": "bench-" + "s" * 40,
        "PLANFUSE_WIDGET_MODULES": "embed_support",
        "PLANFUSE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "tests"),
    }
    settings = load_settings(environ={k: v for k, v in env.items() if k.startswith("PLANFUSE_")})
    ctx = build_context(settings)
    ctx.db.upgrade()
    record, secret = create_host_app(ctx, "bench", ["https://host.example.com"])

    # In-process: one full validation (no replay store write).
    get_host_app(ctx, record.id)
    n = 2000
    tokens = [sign_hs256(claims_for(record.id), secret) for _ in range(n)]
    started = time.perf_counter()
    for token in tokens:
        validate_embed_token(ctx, token)
    per_op_us = (time.perf_counter() - started) / n * 1e6

    port = _free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "planfuse"), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        # Pre-sign enough tokens so that signing is not part of the measurement.
        budget = int(seconds * 1500) + 1000
        pool = [sign_hs256(claims_for(record.id), secret) for _ in range(budget)]
        lock = threading.Lock()
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds

        def worker() -> None:
            nonlocal errors
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while time.perf_counter() < deadline:
                with lock:
                    if not pool:
                        return
                    token = pool.pop()
                body = json.dumps({"token": token, "widget": "probe"})
                t0 = time.perf_counter()
                try:
                    conn.request(
                        "POST", "/embed/session", body, {"Content-Type": "application/json"}
                    )
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except OSError:
                    ok = False
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    errors += not ok

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
    finally:
        server.terminate()
        server.wait(10)
        ctx.close()
    total = len(latencies)
    ms = [x * 1000 for x in latencies]
    print(
        f"== token validation + session exchange ({clients} concurrent keep-alive clients, "
        f"{wall:.0f} s, gunicorn 2 workers × 4 threads, SQLite replay store, "
        f"{os.cpu_count()} CPUs shared with the load generator)"
    )
    print(
        f"{total / wall:.0f} exchanges/s, p50 {pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, "
        f"errors {errors}/{total} ({errors / max(total, 1):.2%})"
    )
    print(
        f"in-process validate_embed_token: {per_op_us:.0f} µs per token "
        "(size check, header, issuer lookup, HS256 signature, every claim)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    bench_size()
    if not args.skip_browser:
        bench_page_loads(args.loads)
    bench_exchange(args.seconds, args.clients)


if __name__ == "__main__":
    main()
