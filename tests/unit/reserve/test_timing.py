"""Construction timing (建设时序): known answers on small instances, every one checked
against brute force (all assignments enumerated), and properties that hold for any
instance: the schedule never breaks a constraint and is never worse than greedy."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planfuse.services.reserve.timing import (
    TimingProblem,
    TimingProject,
    allowed_years,
    eligible,
    greedy,
    objective,
    solve,
    violations,
)

D = "500112"


def brute_force(problem: TimingProblem) -> tuple[tuple[int, int, int], list[dict[int, int]]]:
    """The best (priority sum, −delay, −tie) by enumeration, and every schedule achieving it."""
    projects, _ = eligible(problem)
    choices = [[None, *allowed_years(problem, p)] for p in projects]
    best, winners = None, []
    for combo in itertools.product(*choices):
        starts = {p.id: y for p, y in zip(projects, combo, strict=True) if y is not None}
        if violations(problem, starts):
            continue
        s, d, t = objective(problem, starts)
        key = (s, -d, -t)
        if best is None or key > best:
            best, winners = key, [starts]
        elif key == best:
            winners.append(starts)
    return best, winners


def check_against_brute_force(problem: TimingProblem) -> dict[int, int]:
    solution = solve(problem, time_limit_s=30)
    assert solution.optimal
    assert violations(problem, solution.starts) == []
    best, winners = brute_force(problem)
    s, d, t = objective(problem, solution.starts)
    assert (s, -d, -t) == best
    assert (solution.priority_sum, solution.weighted_delay, solution.tie_break) == (s, d, t)
    assert solution.starts in winners
    return solution.starts


def test_the_optimum_that_greedy_by_priority_misses():
    # A (priority 5) could start in either year; B (priority 4) only in 2026, and the quota
    # holds one of them a year. Greedy puts A first in 2026 and loses B.
    problem = TimingProblem(
        years=(2026, 2027),
        quotas={D: {2026: 100.0, 2027: 100.0}},
        budget=None,
        projects=(
            TimingProject(1, 5, D, 100.0, earliest_year=2026, latest_year=2027),
            TimingProject(2, 4, D, 100.0, earliest_year=2026, latest_year=2026),
        ),
    )
    assert greedy(problem) == {1: 2026}
    starts = check_against_brute_force(problem)
    assert starts == {1: 2027, 2: 2026}
    _, winners = brute_force(problem)
    assert winners == [{1: 2027, 2: 2026}]  # the optimum is unique


def test_dependencies_hold_and_delay_is_minimised():
    # 3 depends on 2 depends on 1; the budget lets one project start a year.
    problem = TimingProblem(
        years=(2026, 2027, 2028),
        quotas={D: {2026: 1e6, 2027: 1e6, 2028: 1e6}},
        budget={2026: 100.0, 2027: 200.0, 2028: 300.0},
        projects=(
            TimingProject(3, 5, D, 10.0, {2026: 100, 2027: 100, 2028: 100}, depends_on=(2,)),
            TimingProject(2, 3, D, 10.0, {2026: 100, 2027: 100, 2028: 100}, depends_on=(1,)),
            TimingProject(1, 1, D, 10.0, {2026: 100, 2027: 100, 2028: 100}),
        ),
    )
    starts = check_against_brute_force(problem)
    assert starts == {1: 2026, 2: 2027, 3: 2028}


def test_ties_go_to_the_smaller_id():
    problem = TimingProblem(
        years=(2026, 2027),
        quotas={D: {2026: 50.0, 2027: 50.0}},
        budget=None,
        projects=(TimingProject(8, 3, D, 50.0), TimingProject(5, 3, D, 50.0)),
    )
    assert check_against_brute_force(problem) == {5: 2026, 8: 2027}


def test_what_cannot_be_placed_says_why():
    problem = TimingProblem(
        years=(2026, 2027),
        quotas={D: {2026: 10.0, 2027: 10.0}},
        budget=None,
        projects=(
            TimingProject(1, 3, D, 5.0, earliest_year=2030),
            TimingProject(2, 3, "500101", 5.0),
            TimingProject(3, 3, D, 5.0, depends_on=(1,)),
            TimingProject(4, 3, D, 5.0, depends_on=(99,)),
        ),
    )
    solution = solve(problem)
    assert solution.starts == {}
    reasons = {pid: e["reason"] for pid, e in solution.excluded.items()}
    assert reasons == {1: "window", 2: "no_quota", 3: "dependency", 4: "dependency"}


@st.composite
def problems(draw) -> TimingProblem:
    years = tuple(range(2026, 2026 + draw(st.integers(1, 3))))
    districts = draw(
        st.lists(
            st.sampled_from(["500101", "500112", "500113"]), min_size=1, max_size=2, unique=True
        )
    )
    quotas = {
        d: {y: float(draw(st.sampled_from([0, 50, 100, 150]))) for y in years} for d in districts
    }
    has_budget = draw(st.booleans())
    budget = (
        {y: float(draw(st.sampled_from([0, 100, 200, 400]))) for y in years} if has_budget else None
    )
    n = draw(st.integers(1, 5))
    ids = draw(st.lists(st.integers(1, 40), min_size=n, max_size=n, unique=True))
    projects = []
    for i, pid in enumerate(ids):
        lo = draw(st.sampled_from([None, *years]))
        hi = draw(st.sampled_from([None, *[y for y in years if lo is None or y >= lo]]))
        deps = tuple(draw(st.lists(st.sampled_from(ids[:i]), max_size=2, unique=True))) if i else ()
        projects.append(
            TimingProject(
                id=pid,
                priority=draw(st.integers(1, 5)),
                district=draw(st.sampled_from([*districts, "500199"])),
                quota_m2=float(draw(st.sampled_from([0, 50, 100]))),
                funds={y: float(draw(st.sampled_from([0, 50, 100, 200]))) for y in years},
                depends_on=deps,
                earliest_year=lo,
                latest_year=hi,
            )
        )
    return TimingProblem(years, quotas, budget, tuple(projects))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_instances_match_brute_force(problem):
    check_against_brute_force(problem)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_constraints_always_hold_and_greedy_is_never_better(problem):
    solution = solve(problem)
    assert violations(problem, solution.starts) == []
    baseline = greedy(problem)
    assert violations(problem, baseline) == []
    s, d, _ = objective(problem, solution.starts)
    gs, gd, _ = objective(problem, baseline)
    assert (s, -d) >= (gs, -gd)
