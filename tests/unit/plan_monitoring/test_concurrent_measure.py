"""Measuring in parallel: a widget asks for every indicator of a year at once, and a
threaded server answers those requests side by side. The derived state they share (the
districts, each layer version split by district, a year's changes) is built once, one
build at a time, and every answer equals the one measured alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.services.plan_monitoring.measure import _Cache
from planfuse.services.plan_monitoring.values import indicator_values


def test_parallel_requests_measure_once_and_agree(demo_ctx):
    ids = [i["id"] for i in list_indicators(demo_ctx)]
    jobs = [("values", i, year) for i in ids for year in (2024, 2025)]
    jobs += [("changes", None, 2025), ("changes", None, 2024)]

    def run(job):
        kind, indicator, year = job
        if kind == "changes":
            return list_changes(demo_ctx, year, geometry=False)
        return indicator_values(demo_ctx, indicator, year, by="district")

    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(run, jobs * 2))
    # Built once: the answers measured alone (from the cache now) are the same.
    alone = [run(job) for job in jobs * 2]
    assert parallel == alone
    by_area = {r["area"]: r for r in parallel[ids.index("construction_land") * 2 + 1]["values"]}
    assert (by_area["500112"]["status"], by_area["500112"]["ratio"]) == ("warning", 0.95)


def test_a_build_waiting_for_another_finds_its_result():
    cache = _Cache()
    calls = []

    def build():
        calls.append(1)
        return len(calls)

    with ThreadPoolExecutor(max_workers=4) as pool:
        values = list(pool.map(lambda _: cache.get("key", build), range(8)))
    assert values == [1] * 8 and len(calls) == 1
