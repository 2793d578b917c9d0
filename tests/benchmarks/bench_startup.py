"""From `planfuse serve` to the first compliance answer, and resident memory per worker,
before and after sharing the layers' derived state, on 1,000,000 control features.

    .venv/bin/python tests/benchmarks/bench_startup.py [--workers 2]

Data: the synthetic database of bench_compliance.py (run that first, or with
`--prepare-only`). Two set-ups, in the same run, over copies of it:

* before — every worker builds what it needs itself, as before: no stored derived state
  (`layer_derived` emptied), no preloading (`PLANFUSE_PRELOAD_LAYERS=false`);
* after — the derived state stored by an earlier process (a first `planfuse serve`
  builds and stores it), preloaded by the gunicorn master before it forks its workers.

For each: seconds from the start of `planfuse serve` to the first answered
`POST /api/v1/compliance/check`, and to steady answers (a pass over 40 projects no
faster than the one before, i.e. every worker has what it needs); then each process's
memory from /proc/PID/smaps_rollup — RSS, PSS (shared pages divided among the sharers)
and USS (pages only it holds: what one more worker costs).
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_compliance import (  # noqa: E402
    BENCH_DIR,
    SECRET,
    bodies,
    free_port,
    prepare,
    random_projects,
)


def memory_kb(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        values[name] = int(value.split()[0])
    return {
        "rss": values["Rss"],
        "pss": values["Pss"],
        "uss": values["Private_Clean"] + values["Private_Dirty"],
    }


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def serve(db: Path, workers: int, preload: bool, requests: list[bytes], auth: str) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "PLANFUSE_DATABASE_URL": f"sqlite:///{db}",
        "PLANFUSE_SECRET_KEY": SECRET,
        "PLANFUSE_LOG_LEVEL": "WARNING",
        "PLANFUSE_INDEX_CACHE_SIZE": "64",
        "PLANFUSE_PRELOAD_LAYERS": "true" if preload else "false",
    }
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/planfuse"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1/compliance/check"

    def post(body: bytes) -> None:
        req = urllib.request.Request(
            base, data=body, headers={"Content-Type": "application/json", "Authorization": auth}
        )
        with urllib.request.urlopen(req, timeout=600) as response:
            assert response.status == 201

    try:
        while True:
            try:
                post(requests[0])
                break
            except OSError:
                time.sleep(0.05)
        first = time.perf_counter() - started
        previous = float("inf")
        while True:
            t = time.perf_counter()
            for body in requests[:40]:
                post(body)
            elapsed = time.perf_counter() - t
            if elapsed > 0.9 * previous:
                break
            previous = elapsed
            time.sleep(1)
        steady = time.perf_counter() - started
        master = memory_kb(server.pid)
        per_worker = [memory_kb(pid) for pid in children(server.pid)]
        return {"first_s": first, "steady_s": steady, "master": master, "workers": per_worker}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def report(name: str, run: dict) -> None:
    mb = 1024
    workers = run["workers"]
    print(
        f"{name:<8} first answer {run['first_s']:6.1f} s   steady {run['steady_s']:6.1f} s   "
        f"master RSS {run['master']['rss'] / mb:6.0f} MB"
    )
    for k, w in enumerate(workers):
        print(
            f"         worker {k + 1}: RSS {w['rss'] / mb:6.0f} MB   PSS {w['pss'] / mb:6.0f} MB   "
            f"USS (its own) {w['uss'] / mb:6.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    ctx, db = prepare("synthetic", 20.0)
    from planfuse.auth.apps import create_host_app

    record, secret = create_host_app(ctx, "startup bench", ["http://127.0.0.1:9"])
    auth = "Basic " + base64.b64encode(f"{record.id}:{secret}".encode()).decode()
    requests = [orjson.dumps(b) for b in bodies(ctx, random_projects(ctx, 60))]
    ctx.close()
    before_db = BENCH_DIR / "startup-before.db"
    after_db = BENCH_DIR / "startup-after.db"
    for target in (before_db, after_db):
        shutil.copyfile(db, target)
    with sqlite3.connect(before_db) as conn:
        conn.execute("DELETE FROM layer_derived")
    with sqlite3.connect(after_db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM layer_derived").fetchone()[0]
    print(f"derived state stored for the 'after' runs: {stored} entries")
    load = os.getloadavg()
    print(f"cores: {os.cpu_count()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    before = serve(before_db, args.workers, False, requests, auth)
    report("before", before)
    after = serve(after_db, args.workers, True, requests, auth)
    report("after", after)
    one = serve(after_db, 1, True, requests, auth)
    report("after, 1 worker", one)
    extra = sum(w["uss"] for w in after["workers"]) / len(after["workers"]) / 1024
    print(
        f"first answer: {before['first_s']:.1f} s → {after['first_s']:.1f} s; steady: "
        f"{before['steady_s']:.1f} s → {after['steady_s']:.1f} s; one more worker adds about "
        f"{extra:.0f} MB of its own (USS) after, "
        f"{sum(w['uss'] for w in before['workers']) / len(before['workers']) / 1024:.0f} MB before"
    )
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for target in (before_db, after_db):
        target.unlink()


if __name__ == "__main__":
    main()
