"""What counting requests for the service catalogue costs. A script that prints figures;
not part of the test suite.

    .venv/bin/python tests/benchmarks/bench_service_metrics.py [--requests 20000] [--postgres]

1. `MetricsRecorder.record` alone (lock, minute key, histogram bucket, counters), and
   with the endpoint's attribution (`RequestMetrics`), in ns: what a request pays.
2. A whole request (`GET /healthz` through the Flask test client) with the recording and
   without it, interleaved in rounds; the difference is the per-request cost, flushes
   every `service_metrics_flush_s` (10 s) included.
3. One flush: 14 services × 3 minutes of counts added to the table (SQLite; PostgreSQL too
   with --postgres).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

SECRET = "bench-secret-key-" + "x" * 40


def bench_record(n: int = 1_000_000) -> None:
    from types import SimpleNamespace

    from planfuse.services.monitoring.metrics import MetricsRecorder

    ctx = SimpleNamespace(
        db=None,
        settings=SimpleNamespace(service_metrics_flush_s=1e9, service_metrics_retention_days=7),
    )
    recorder = MetricsRecorder(ctx)
    services = ("ogc_features", "vector_tiles", "compliance_check", "layer_catalogue")
    record = recorder.record
    started = time.perf_counter_ns()
    for i in range(n):
        record(services[i & 3], 200 if i % 50 else 404, (i % 997) * 0.37)
    per_call = (time.perf_counter_ns() - started) / n
    print(f"MetricsRecorder.record: {per_call:.0f} ns per call (n={n:,})")


def bench_requests(database_url: str, requests: int, rounds: int = 20) -> None:
    from planfuse.app import create_app
    from planfuse.storage.database import Database
    from planfuse.web import metrics

    db = Database(database_url)
    db.upgrade()
    db.dispose()
    config = {"database_url": database_url, "secret_key": SECRET}
    with_hook = create_app(config)
    # The same app with nothing recorded: register_web finds no RequestMetrics to hand
    # to the request hooks.
    metrics.RequestMetrics, real = (lambda _context: None), metrics.RequestMetrics
    try:
        without_hook = create_app(config)
    finally:
        metrics.RequestMetrics = real
    clients = {"with": with_hook.test_client(), "without": without_hook.test_client()}
    per_round = max(1, requests // rounds)
    timings: dict[str, list[float]] = {"with": [], "without": []}
    for client in clients.values():  # warm up
        for _ in range(200):
            client.get("/healthz").close()
    for round_ in range(rounds):
        order = list(clients.items())
        for name, client in order[:: 1 if round_ % 2 else -1]:  # neither always goes first
            started = time.perf_counter_ns()
            for _ in range(per_round):
                client.get("/healthz").close()
            timings[name].append((time.perf_counter_ns() - started) / per_round)
    with_ns = statistics.median(timings["with"])
    without_ns = statistics.median(timings["without"])
    print(
        f"GET /healthz (test client, {rounds} rounds × {per_round}, median of rounds): "
        f"{with_ns / 1000:.1f} µs with the hook, {without_ns / 1000:.1f} µs without → "
        f"{with_ns - without_ns:+.0f} ns per request ({(with_ns / without_ns - 1) * 100:+.1f}%)"
    )
    # The work the hook adds to a request, alone: attribution by endpoint and record().
    record = metrics.RequestMetrics(with_hook.extensions["planfuse"])
    record.recorder._flush_s = 1e9
    with with_hook.test_request_context("/ogc/collections"):
        endpoint, _args = with_hook.url_map.bind("localhost").match("/ogc/collections")
        response = with_hook.response_class("ok")
        n = 200_000
        started = time.perf_counter_ns()
        for _ in range(n):
            record(response, endpoint, 3.2)
        per_call = (time.perf_counter_ns() - started) / n
    print(f"RequestMetrics per request (attribution + record): {per_call:.0f} ns (n={n:,})")
    for app in (with_hook, without_hook):
        app.extensions["planfuse"].close()


def bench_flush(database_url: str, label: str, repeats: int = 20) -> None:
    from planfuse.context import build_context
    from planfuse.services.monitoring.catalogue import SERVICES
    from planfuse.services.monitoring.metrics import MetricsRecorder
    from planfuse.settings import load_settings

    ctx = build_context(load_settings({"database_url": database_url}, environ={}))
    ctx.db.upgrade()
    now = [time.time()]
    recorder = MetricsRecorder(ctx, clock=lambda: now[0])
    recorder.flush()  # the first flush prunes; time the ordinary ones
    times = []
    for _ in range(repeats):
        for minute in range(3):
            now[0] += 20
            for service in SERVICES:
                for i in range(10):
                    recorder.record(service.id, 200, i * 3.1 + minute)
        started = time.perf_counter()
        assert recorder.flush()
        times.append((time.perf_counter() - started) * 1000)
    rows = len(SERVICES) * 3
    print(
        f"flush of ≈{rows} (minute, service) rows to {label}: median "
        f"{statistics.median(times):.2f} ms, max {max(times):.2f} ms (n={repeats})"
    )
    ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    bench_record()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        bench_requests(url, args.requests)
        bench_flush(url, "SQLite")
    if args.postgres:
        from conftest import _postgres_schema_url

        schema = _postgres_schema_url()
        url = next(schema)
        try:
            bench_flush(url, "PostgreSQL")
        finally:
            next(schema, None)


if __name__ == "__main__":
    main()
