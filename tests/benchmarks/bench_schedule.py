"""Construction timing at scale: 2,000 projects × 10 years × 38 districts, the MILP's
solve time and optimality gap beside the greedy baseline's objective, in the same run.

    nice .venv/bin/python tests/benchmarks/bench_schedule.py [--projects 2000]
        [--years 10] [--time-limit 60] [--seed 13] [--runs 1]

The instance is synthetic and deterministic (seeded): the 38 real district adcodes;
priorities 1–5; new construction land 5,000–80,000 m² per project; funds 100–3,000 万元 in
each of its first one to three years from a planned year; a start window of a few years
around it; one project in ten depending on an earlier one. A district's yearly quota is
1.2 × its projects' total need ÷ the years; a year's budget 0.7 × the funds planned for it:
the schedule has to choose. Printed: per
run the three stages' status and seconds, the total, the gap, and the objective (priority
sum, weighted delay) of the optimum and of greedy; medians when --runs > 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from planfuse.services.reserve.timing import (
    TimingProblem,
    TimingProject,
    greedy,
    objective,
    solve,
    violations,
)

DISTRICTS_FILE = Path(__file__).resolve().parents[2] / "server" / "demo" / "data"
FIRST_YEAR = 2026


def adcodes() -> list[str]:
    path = DISTRICTS_FILE / "chongqing-districts.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    return sorted(str(f["properties"]["adcode"]) for f in data["features"])


def instance(n: int, n_years: int, seed: int) -> TimingProblem:
    rng = np.random.default_rng(seed)
    districts = adcodes()
    years = tuple(range(FIRST_YEAR, FIRST_YEAR + n_years))
    projects = []
    for pid in range(1, n + 1):
        planned = int(rng.integers(FIRST_YEAR, FIRST_YEAR + n_years))
        span = int(rng.integers(1, 4))
        funds = {
            y: float(rng.integers(100, 3000)) for y in range(planned, planned + span) if y in years
        }
        lo = planned - int(rng.integers(0, 2))
        hi = planned + int(rng.integers(0, 4))
        deps = ()
        if pid > 10 and rng.random() < 0.1:
            deps = (int(rng.integers(max(1, pid - 200), pid)),)
        projects.append(
            TimingProject(
                id=pid,
                priority=int(rng.integers(1, 6)),
                district=districts[int(rng.integers(0, len(districts)))],
                quota_m2=float(rng.integers(5_000, 80_000)),
                funds=funds,
                depends_on=deps,
                earliest_year=max(lo, FIRST_YEAR),
                latest_year=hi,
            )
        )
    demand: dict[str, float] = {}
    for p in projects:
        demand[p.district] = demand.get(p.district, 0.0) + p.quota_m2
    quotas = {d: {y: round(1.2 * demand.get(d, 0.0) / n_years) for y in years} for d in districts}
    planned = {y: sum(p.funds.get(y, 0.0) for p in projects) for y in years}
    budget = {y: round(0.7 * planned[y]) for y in years}
    return TimingProblem(years, quotas, budget, tuple(projects))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=2000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    problem = instance(args.projects, args.years, args.seed)
    print(
        f"instance: {args.projects} projects × {args.years} years × {len(problem.quotas)} "
        f"districts, seed {args.seed}, time limit {args.time_limit:g} s"
    )
    t0 = time.perf_counter()
    baseline = greedy(problem)
    greedy_s = time.perf_counter() - t0
    assert violations(problem, baseline) == []
    gs, gd, _ = objective(problem, baseline)
    print(f"greedy: {len(baseline)} scheduled, priority sum {gs}, weighted delay {gd}", end="")
    print(f", {greedy_s:.3f} s")
    totals, gaps = [], []
    for run in range(args.runs):
        solution = solve(problem, args.time_limit)
        assert violations(problem, solution.starts) == []
        totals.append(solution.time_s)
        gaps.append(solution.gap if solution.gap is not None else float("nan"))
        stages = ", ".join(
            f"{s['stage']} {s['time_s']:.2f} s (status {s['status']}, gap {s['gap']})"
            for s in solution.stages
        )
        print(
            f"run {run + 1}: {len(solution.starts)} scheduled, priority sum "
            f"{solution.priority_sum} ({solution.priority_sum - gs:+d} vs greedy, "
            f"{100 * (solution.priority_sum - gs) / gs:+.2f} %), weighted delay "
            f"{solution.weighted_delay} (greedy {gd}); optimal {solution.optimal}, gap "
            f"{solution.gap}; {solution.time_s:.2f} s: {stages}"
        )
    if args.runs > 1:
        print(
            f"median solve {statistics.median(totals):.2f} s, median gap {statistics.median(gaps)}"
        )


if __name__ == "__main__":
    main()
