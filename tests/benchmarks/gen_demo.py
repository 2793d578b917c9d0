"""Generate the demo dataset at a scale and print what it took (not a timed test).

    .venv/bin/python tests/benchmarks/gen_demo.py --scale 20 [--out DIR] [--import]

Prints features per layer, generation wall and CPU time, file sizes and, with --import,
the import time per layer into a fresh SQLite database (PLANFUSE_DATABASE_URL or a
temporary file).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from planfuse.context import build_context
from planfuse.demo import DEFAULT_SEED, cache_folder, generate_files, import_files
from planfuse.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--import", dest="do_import", action="store_true")
    args = parser.parse_args()
    folder = args.out or cache_folder(None, args.seed, args.scale)
    wall, cpu = time.perf_counter(), time.process_time()
    files = generate_files(folder, seed=args.seed, scale=args.scale, echo=print, reuse=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    size = sum(e["bytes"] for e in files.manifest["layers"])
    print(f"\n{'layer':<20} {'CRS':<10} {'features':>10}")
    for e in files.manifest["layers"]:
        print(f"{e['layer']:<20} {e['crs']:<10} {e['features']:>10,}")
    print(f"{'total':<31} {files.feature_count:>10,}")
    print(
        f"generation: {wall:.1f} s wall, {cpu:.1f} s CPU, {size / 1e6:.0f} MB, "
        f"{files.feature_count / wall:,.0f} features/s"
    )
    if args.do_import:
        url = os.environ.get("PLANFUSE_DATABASE_URL") or (
            f"sqlite:///{tempfile.mkdtemp(prefix='planfuse-gen-')}/demo.db"
        )
        ctx = build_context(load_settings({"database_url": url}))
        ctx.db.upgrade()
        started = time.perf_counter()
        summaries = import_files(ctx, files, print)
        seconds = time.perf_counter() - started
        total = sum(s.feature_count for s in summaries)
        print(f"import: {total:,} features in {seconds:.1f} s ({total / seconds:,.0f}/s) → {url}")
        ctx.close()


if __name__ == "__main__":
    main()
