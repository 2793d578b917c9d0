"""Job functions the queue tests submit: importable by name, so a `planfuse worker`
process (started with tests/ on its path) finds them."""

from __future__ import annotations

import json
import time

from planfuse.services.jobs import PartitionedJob


def double(ctx, handle, params):
    handle.progress(0.5, "doubling")
    return {"answer": params["x"] * 2}


def _parts(ctx, params):
    return int(params["parts"])


def _run_part(ctx, handle, params, part, parts):
    """Sum of the squares of the numbers of this partition (numbers i with i % parts ==
    part), slowly when asked, checking for cancellation as a real partition does."""
    total = 0
    for i in range(part, int(params["n"]), parts):
        total += i * i
        if params.get("sleep_s"):
            time.sleep(float(params["sleep_s"]))
        handle.check()
    return {"sum": total, "part": part, "parts": parts}


def _merge(ctx, handle, params, answers):
    handle.progress(0.5, "adding")
    return {
        "sum": sum(a["sum"] for a in answers),
        "answered": sorted(a["part"] for a in answers),
    }


squares = PartitionedJob(
    path=f"{__name__}:squares",
    parts=_parts,
    run_part=_run_part,
    encode=lambda answer: json.dumps(answer).encode(),
    decode=lambda blob: json.loads(blob),
    merge=_merge,
)
