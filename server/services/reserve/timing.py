"""Construction timing (建设时序) as a mixed-integer program: which landable projects start
in which year, under each district's yearly quota of new construction land, the yearly
budget, dependencies and each project's year window.

Plain data in, plain data out (no database): :class:`TimingProblem` → :func:`solve` →
:class:`TimingSolution`. One binary x[p, y] per project and allowed start year:

- Σ_y x[p, y] ≤ 1                                     (a project starts at most once)
- Σ_{p in d} q_p · x[p, y] ≤ quota[d][y]                (its new construction land, in its
                                                        district, in its start year)
- Σ_p f_p[t] · Σ_{y ≤ t} x[p, y] ≤ budget[t]           (a started project spends the funds
                                                        it planned for each later year)
- Σ_{y ≤ t} x[b, y] ≤ Σ_{y ≤ t} x[a, y]  for every t    (b depends on a: a starts no later)

The objective is lexicographic: (1) maximise the sum of the priorities of the scheduled
projects; (2) among those, minimise Σ priority × (start year − first year); (3) break ties
by project id: minimise Σ w_p × delay_p, with w_p larger for smaller ids and an
unscheduled project counted as a delay of the whole horizon. (1) and (2) are one MILP on
HiGHS (scipy.optimize.milp) with the weight of (1) above the largest possible (2), exact in
integers; (3) is a second MILP keeping that optimum. Every stage has a share of the time limit
(`STAGE_SHARES`); the gap of a stage stopped by it is reported, and a stage stopped before
it found any schedule leaves the previous stage's (`optimal` is then false).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

SOLVER = "HiGHS (scipy.optimize.milp)"
#: Integer objectives: any relative gap would accept a worse schedule.
MIP_REL_GAP = 0.0
#: The share of the time left that each stage may take: the first decides what is
#: scheduled and gets the most; a stage stopped without a solution keeps the one before.
STAGE_SHARES = (0.8, 1.0)


@dataclass(frozen=True)
class TimingProject:
    """A project as the optimiser sees it: quota need (m²) and funds by year (万元)."""

    id: int
    priority: int
    district: str
    quota_m2: float
    funds: Mapping[int, float] = field(default_factory=dict)
    depends_on: tuple[int, ...] = ()
    earliest_year: int | None = None
    latest_year: int | None = None


@dataclass(frozen=True)
class TimingProblem:
    """Years of the horizon (ascending), quotas {district: {year: m²}}, budget {year: 万元}
    (None: no budget constraint) and the projects to place."""

    years: tuple[int, ...]
    quotas: Mapping[str, Mapping[int, float]]
    budget: Mapping[int, float] | None
    projects: tuple[TimingProject, ...]

    @property
    def first_year(self) -> int:
        return self.years[0]

    @property
    def horizon(self) -> int:
        return self.years[-1] - self.years[0] + 1


@dataclass
class TimingSolution:
    """Start years of the scheduled projects, the objective's three values, and how the
    solve went (optimal, gap, time)."""

    starts: dict[int, int]
    priority_sum: int
    weighted_delay: int
    tie_break: int
    optimal: bool
    gap: float | None
    time_s: float
    stages: list[dict[str, Any]]
    excluded: dict[int, dict[str, Any]] = field(default_factory=dict)


def allowed_years(problem: TimingProblem, project: TimingProject) -> list[int]:
    """The horizon's years within the project's window."""
    lo = project.earliest_year if project.earliest_year is not None else problem.years[0]
    hi = project.latest_year if project.latest_year is not None else problem.years[-1]
    return [y for y in problem.years if lo <= y <= hi]


def id_weights(ids: Sequence[int]) -> dict[int, int]:
    """Tie-break weights: the smallest id weighs most (n), the largest 1."""
    order = sorted(ids)
    return {pid: len(order) - i for i, pid in enumerate(order)}


def eligible(problem: TimingProblem) -> tuple[list[TimingProject], dict[int, dict[str, Any]]]:
    """The projects that can be placed at all, and why each other one cannot: no allowed
    year in the horizon, no quota for its district, or (transitively) a dependency that
    is not in the problem or cannot be placed."""
    by_id = {p.id: p for p in problem.projects}
    excluded: dict[int, dict[str, Any]] = {}
    for p in problem.projects:
        if not allowed_years(problem, p):
            excluded[p.id] = {
                "reason": "window",
                "message": f"its start window {p.earliest_year}–{p.latest_year} lies outside "
                f"the horizon {problem.years[0]}–{problem.years[-1]}",
            }
        elif p.quota_m2 > 0 and p.district not in problem.quotas:
            excluded[p.id] = {
                "reason": "no_quota",
                "district": p.district,
                "message": f"it needs {p.quota_m2:,.2f} m² of new construction land and "
                f"district {p.district} has no quota",
            }
    changed = True
    while changed:
        changed = False
        for p in problem.projects:
            if p.id in excluded:
                continue
            for dep in p.depends_on:
                if dep not in by_id or dep in excluded:
                    cause = excluded.get(dep, {}).get("reason", "not_in_schedule")
                    excluded[p.id] = {
                        "reason": "dependency",
                        "depends_on": dep,
                        "message": f"it depends on project {dep}, which cannot be scheduled "
                        f"({cause})",
                    }
                    changed = True
                    break
    return [p for p in problem.projects if p.id not in excluded], excluded


class _Model:
    """The binaries and constraint rows of one problem."""

    def __init__(self, problem: TimingProblem, projects: list[TimingProject]):
        self.problem = problem
        self.projects = projects
        year_index = {y: i for i, y in enumerate(problem.years)}
        self.var_project: list[int] = []
        self.var_year: list[int] = []
        self.columns: dict[int, list[tuple[int, int]]] = {}
        for p in projects:
            cols = []
            for y in allowed_years(problem, p):
                cols.append((len(self.var_project), y))
                self.var_project.append(p.id)
                self.var_year.append(y)
            self.columns[p.id] = cols
        self.n = len(self.var_project)
        self.year_index = year_index
        rows, cols, vals, upper = [], [], [], []

        def add_row(entries: list[tuple[int, float]], ub: float) -> None:
            r = len(upper)
            for c, v in entries:
                rows.append(r)
                cols.append(c)
                vals.append(v)
            upper.append(ub)

        for p in projects:
            add_row([(c, 1.0) for c, _ in self.columns[p.id]], 1.0)
        for district, by_year in sorted(problem.quotas.items()):
            members = [p for p in projects if p.district == district and p.quota_m2 > 0]
            for y in problem.years:
                entries = [
                    (c, p.quota_m2) for p in members for c, yy in self.columns[p.id] if yy == y
                ]
                if entries:
                    add_row(entries, float(by_year.get(y, 0.0)))
        if problem.budget is not None:
            for t in problem.years:
                entries = []
                for p in projects:
                    amount = float(p.funds.get(t, 0.0))
                    if amount > 0:
                        entries.extend((c, amount) for c, y in self.columns[p.id] if y <= t)
                if entries:
                    add_row(entries, float(problem.budget.get(t, 0.0)))
        by_id = {p.id: p for p in projects}
        for b in projects:
            for a_id in b.depends_on:
                a_cols = self.columns[by_id[a_id].id]
                for t in [y for _, y in self.columns[b.id]]:
                    entries = [(c, 1.0) for c, y in self.columns[b.id] if y <= t]
                    entries += [(c, -1.0) for c, y in a_cols if y <= t]
                    add_row(entries, 0.0)
        self.A = sparse.csr_matrix((vals, (rows, cols)), shape=(len(upper), self.n))
        self.upper = np.asarray(upper, dtype=np.float64)
        prio = {p.id: p.priority for p in projects}
        weights = id_weights([p.id for p in projects])
        first, horizon = problem.first_year, problem.horizon
        self.c_priority = np.array([-prio[p] for p in self.var_project], dtype=np.float64)
        self.c_delay = np.array(
            [prio[p] * (y - first) for p, y in zip(self.var_project, self.var_year, strict=True)],
            dtype=np.float64,
        )
        self.c_tie = np.array(
            [
                weights[p] * ((y - first) - horizon)
                for p, y in zip(self.var_project, self.var_year, strict=True)
            ],
            dtype=np.float64,
        )
        self.tie_constant = horizon * sum(weights.values())

    def starts(self, x: np.ndarray) -> dict[int, int]:
        chosen = np.flatnonzero(x > 0.5)
        return {self.var_project[i]: self.var_year[i] for i in chosen.tolist()}


def _stage(model: _Model, c: np.ndarray, extra: list[tuple[np.ndarray, float]], time_s: float):
    A, upper = model.A, model.upper
    if extra:
        A = sparse.vstack([A, sparse.csr_matrix(np.vstack([row for row, _ in extra]))])
        upper = np.concatenate([upper, [ub for _, ub in extra]])
    constraints = [LinearConstraint(A, -np.inf, upper)] if A.shape[0] else []
    return milp(
        c,
        integrality=np.ones(model.n),
        bounds=Bounds(0, 1),
        constraints=constraints,
        options={"time_limit": max(0.1, time_s), "mip_rel_gap": MIP_REL_GAP, "disp": False},
    )


def solve(problem: TimingProblem, time_limit_s: float = 60.0) -> TimingSolution:
    """The optimal schedule (see the module docstring); within `time_limit_s` in all."""
    started = time.perf_counter()
    projects, excluded = eligible(problem)
    model = _Model(problem, projects)
    if model.n == 0:
        return TimingSolution({}, 0, 0, 0, True, 0.0, 0.0, [], excluded)
    stages: list[dict[str, Any]] = []
    extra: list[tuple[np.ndarray, float]] = []
    x = np.zeros(model.n)
    optimal = True
    gaps: list[float] = []
    # Priority first, delay second, in one objective: the delay term can never outweigh one
    # unit of priority (it is below `big`), so the optimum is the lexicographic one.
    big = float(model.c_delay.sum() + 1.0)
    for k, (name, c) in enumerate(
        (
            ("priority_then_delay", big * model.c_priority + model.c_delay),
            ("tie_break", model.c_tie),
        )
    ):
        remaining = time_limit_s - (time.perf_counter() - started)
        t0 = time.perf_counter()
        res = _stage(model, c, extra, remaining * STAGE_SHARES[k])
        stage = {
            "stage": name,
            "status": int(res.status),
            "message": str(res.message),
            "time_s": round(time.perf_counter() - t0, 3),
            "gap": None if res.get("mip_gap") is None else float(res.mip_gap),
        }
        stages.append(stage)
        if res.x is None:  # stopped before any solution: keep the previous stage's
            optimal = False
            break
        x = np.round(res.x)
        if res.status != 0:
            optimal = False
        if stage["gap"] is not None:
            gaps.append(stage["gap"])
        value = float(c @ x)
        stage["value"] = round(value)
        # The next stages keep this one's value (integers: rounding is exact).
        extra.append((c.copy(), float(round(value))))
    starts = model.starts(x)
    priority_sum = round(float(-(model.c_priority @ x)))
    delay = round(float(model.c_delay @ x))
    tie = round(float(model.c_tie @ x + model.tie_constant))
    return TimingSolution(
        starts=starts,
        priority_sum=priority_sum,
        weighted_delay=delay,
        tie_break=tie,
        optimal=optimal,
        gap=max(gaps) if gaps else None,
        time_s=round(time.perf_counter() - started, 3),
        stages=stages,
        excluded=excluded,
    )


def objective(problem: TimingProblem, starts: Mapping[int, int]) -> tuple[int, int, int]:
    """(priority sum, weighted delay, tie-break) of any schedule, as :func:`solve` counts."""
    prio = {p.id: p.priority for p in problem.projects}
    weights = id_weights([p.id for p in eligible(problem)[0]])
    first, horizon = problem.first_year, problem.horizon
    priority_sum = sum(prio[p] for p in starts)
    delay = sum(prio[p] * (y - first) for p, y in starts.items())
    tie = sum(w * ((starts[p] - first) if p in starts else horizon) for p, w in weights.items())
    return priority_sum, delay, tie


def violations(problem: TimingProblem, starts: Mapping[int, int]) -> list[str]:
    """Every constraint a schedule breaks (empty for a feasible one)."""
    out = []
    by_id = {p.id: p for p in problem.projects}
    for pid, year in starts.items():
        p = by_id[pid]
        if year not in allowed_years(problem, p):
            out.append(f"project {pid} starts in {year}, outside its window")
        for dep in p.depends_on:
            if dep not in starts or starts[dep] > year:
                out.append(f"project {pid} starts in {year} before its dependency {dep}")
    for district, by_year in problem.quotas.items():
        for y in problem.years:
            used = sum(
                by_id[p].quota_m2
                for p, yy in starts.items()
                if yy == y and by_id[p].district == district
            )
            if used > float(by_year.get(y, 0.0)) + 1e-6:
                out.append(f"district {district} uses {used} m² of its {y} quota")
    for pid in starts:
        p = by_id[pid]
        if p.quota_m2 > 0 and p.district not in problem.quotas:
            out.append(f"project {pid} has no quota in district {p.district}")
    if problem.budget is not None:
        for t in problem.years:
            spent = sum(float(by_id[p].funds.get(t, 0.0)) for p, y in starts.items() if y <= t)
            if spent > float(problem.budget.get(t, 0.0)) + 1e-6:
                out.append(f"year {t} spends {spent} 万元 over its budget")
    return out


def greedy(problem: TimingProblem) -> dict[int, int]:
    """The greedy baseline: by priority (then id), each project in its earliest year that
    still fits, after its dependencies; a project whose dependencies are not placed yet
    waits for a later pass."""
    projects, _ = eligible(problem)
    order = sorted(projects, key=lambda p: (-p.priority, p.id))
    quota_left = {d: {y: float(v) for y, v in by.items()} for d, by in problem.quotas.items()}
    budget_left = dict(problem.budget) if problem.budget is not None else None
    starts: dict[int, int] = {}
    pending = list(order)
    progress = True
    while pending and progress:
        progress = False
        for p in list(pending):
            if any(d not in starts for d in p.depends_on):
                if any(d not in {q.id for q in pending} and d not in starts for d in p.depends_on):
                    pending.remove(p)
                continue
            pending.remove(p)
            progress = True
            after = max((starts[d] for d in p.depends_on), default=problem.years[0])
            for y in allowed_years(problem, p):
                if y < after:
                    continue
                if p.quota_m2 > 0 and quota_left[p.district].get(y, 0.0) < p.quota_m2 - 1e-9:
                    continue
                if budget_left is not None and any(
                    budget_left.get(t, 0.0) < float(p.funds.get(t, 0.0)) - 1e-9
                    for t in problem.years
                    if t >= y
                ):
                    continue
                starts[p.id] = y
                if p.quota_m2 > 0:
                    quota_left[p.district][y] -= p.quota_m2
                if budget_left is not None:
                    for t in problem.years:
                        if t >= y:
                            budget_left[t] -= float(p.funds.get(t, 0.0))
                break
    return starts
