"""Measuring in parallel: a widget asks for every indicator of a year at once, and a
threaded server answers those requests side by side. The derived state they share (the
districts, each layer version split by district, a year's changes) is built once, one
build at a time, and every answer equals the one measured alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.services.plan_monitoring.measure import _Cache, area_by_district
from planfuse.services.plan_monitoring.values import indicator_values, indicators_values
from planfuse.services.plan_monitoring.years import versions_at_year_end


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


def test_a_batch_of_indicators_equals_each_alone_and_keeps_the_sums_intact(demo_ctx):
    ids = [i["id"] for i in list_indicators(demo_ctx)]
    batch = indicators_values(demo_ctx, ids, 2025, by="district")["results"]
    assert batch == [indicator_values(demo_ctx, i, 2025, by="district") for i in ids]
    # The sums per layer version are kept between calls; a caller adding into what it got
    # back must not change what the next caller reads.
    refs = versions_at_year_end(demo_ctx, "land_use_status", 2025)
    first = area_by_district(demo_ctx, refs, ["07"])
    first += 1e9
    assert (area_by_district(demo_ctx, refs, ["07"]) < 1e9).all()
    assert area_by_district(demo_ctx, refs, ["07"]).sum() > 0


def test_sums_need_no_build_lock_and_many_stay():
    sums = _Cache(4096, serial_builds=False)
    # A build that itself reads another cache entry (as a sum reads a split) cannot deadlock.
    outer = sums.get("outer", lambda: sums.get("inner", lambda: 1) + 1)
    assert outer == 2
    for n in range(4096):
        sums.get(("sum", n), lambda n=n: n)
    assert sums.get("outer", lambda: -1) == -1  # the oldest left once 4,096 newer came in
    assert sums.get(("sum", 4095), lambda: -1) == 4095
