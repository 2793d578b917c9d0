"""The construction timing request (`POST /api/v1/reserve/schedule`): checked input, the
reserve's landable projects as a :class:`~planfuse.services.reserve.timing.TimingProblem`,
the optimal schedule, and what the answer explains — why each other project is not
scheduled (which constraint), the funds left idle (资金闲置) and the quota each district
uses per year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from planfuse.context import PlanFuse
from planfuse.services.reserve.fields import Problems, check_year
from planfuse.services.reserve.projects import Scope, district_codes, load_many
from planfuse.services.reserve.timing import (
    SOLVER,
    TimingProblem,
    TimingProject,
    TimingSolution,
    allowed_years,
    solve,
)
from planfuse.storage.models.reserve import ReserveProject

#: Most years one horizon may span.
YEARS_MAX = 30
#: Most projects one schedule may place.
PROJECTS_MAX = 20000
FIELDS = ("years", "quotas", "budget", "projects", "time_limit_s")


@dataclass(frozen=True)
class ScheduleRequest:
    years: tuple[int, ...]
    quotas: dict[str, dict[int, float]]
    budget: dict[int, float] | None
    projects: list[int] | None  # None: all of the scope's
    time_limit_s: float


def _amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _by_year(value: Any, years: tuple[int, ...], name: str, unit: str, problems: Problems):
    if not isinstance(value, Mapping):
        problems.add(name, f'{unit} by year, e.g. {{"{years[0] if years else 2026}": …}}')
        return {}
    out: dict[int, float] = {}
    for key, amount in value.items():
        year = check_year(key, f"{name}.{key}", problems)
        if year is None:
            continue
        if year not in years:
            problems.add(f"{name}.{key}", f"year {year} is not in `years`")
        elif not _amount(amount) or amount != amount or amount == float("inf"):
            problems.add(f"{name}.{key}", f"an amount in {unit}, 0 or more, not {amount!r}")
        else:
            out[year] = float(amount)
    for year in years:
        if year not in out and not any(p["field"] == f"{name}.{year}" for p in problems.items):
            problems.add(f"{name}.{year}", f"missing: give every year of the horizon ({unit})")
    return out


def parse_request(ctx: PlanFuse, body: Any) -> ScheduleRequest:
    """The checked request, or InvalidInput naming every bad field."""
    problems = Problems()
    if not isinstance(body, Mapping):
        problems.add("body", "a JSON object with years, quotas, budget and projects")
        problems.raise_if_any("the schedule request", "invalid_schedule_request")
    for name in sorted(set(body) - set(FIELDS)):
        problems.add(name, f"unknown field; expected one of {', '.join(FIELDS)}")
    raw_years = body.get("years")
    years: tuple[int, ...] = ()
    if not isinstance(raw_years, list) or not 1 <= len(raw_years) <= YEARS_MAX:
        problems.add("years", f"a list of 1 to {YEARS_MAX} years, e.g. [2026, 2027, 2028]")
    else:
        checked = [check_year(y, f"years[{i}]", problems) for i, y in enumerate(raw_years)]
        if len(set(raw_years)) != len(raw_years):
            problems.add("years", "each year once")
        years = tuple(sorted(y for y in checked if y is not None))
    quotas: dict[str, dict[int, float]] = {}
    raw_quotas = body.get("quotas")
    known = district_codes(ctx)
    if not isinstance(raw_quotas, Mapping):
        problems.add("quotas", 'new construction land quotas: {"500112": {"2026": 50000, …}}')
    else:
        for district, by_year in raw_quotas.items():
            if not (isinstance(district, str) and district.isdigit() and len(district) == 6):
                problems.add(f"quotas.{district}", "a district adcode of 6 digits")
                continue
            if known is not None and district not in known:
                problems.add(f"quotas.{district}", f"unknown district {district!r}")
                continue
            quotas[district] = _by_year(by_year, years, f"quotas.{district}", "m²", problems)
    budget = None
    if body.get("budget") is not None:
        budget = _by_year(body["budget"], years, "budget", "万元", problems)
    projects = body.get("projects", "all")
    ids: list[int] | None = None
    if projects != "all":
        if (
            not isinstance(projects, list)
            or not projects
            or len(projects) > PROJECTS_MAX
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in projects)
        ):
            problems.add("projects", f'a list of 1 to {PROJECTS_MAX} project ids, or "all"')
        else:
            ids = sorted(set(projects))
    limit = float(ctx.settings.reserve_schedule_time_limit_s)
    time_limit = body.get("time_limit_s", limit)
    if not _amount(time_limit) or not 0 < time_limit <= limit:
        problems.add("time_limit_s", f"seconds, more than 0 and at most {limit:g}")
    problems.raise_if_any("the schedule request", "invalid_schedule_request")
    return ScheduleRequest(years, quotas, budget, ids, float(time_limit))


def _funds(row: ReserveProject) -> dict[int, float]:
    return {int(y): float(v) for y, v in (row.funds or {}).items()}


def timing_project(row: ReserveProject) -> TimingProject:
    study = row.pre_study or {}
    return TimingProject(
        id=row.id,
        priority=row.priority,
        district=row.district,
        quota_m2=float(study.get("quota_m2", row.area_m2) or 0.0),
        funds=_funds(row),
        depends_on=tuple(row.depends_on or ()),
        earliest_year=row.earliest_year,
        latest_year=row.latest_year,
    )


class _Ledger:
    """Quota and budget left once a schedule is placed."""

    def __init__(self, problem: TimingProblem, starts: Mapping[int, int]):
        self.problem = problem
        self.starts = starts
        self.by_id = {p.id: p for p in problem.projects}
        self.quota_left = {
            d: {y: float(by_year.get(y, 0.0)) for y in problem.years}
            for d, by_year in problem.quotas.items()
        }
        self.budget_left = (
            {y: float(problem.budget.get(y, 0.0)) for y in problem.years}
            if problem.budget is not None
            else None
        )
        for pid, year in starts.items():
            p = self.by_id[pid]
            if p.quota_m2 > 0:
                self.quota_left[p.district][year] -= p.quota_m2
            if self.budget_left is not None:
                for t in problem.years:
                    if t >= year:
                        self.budget_left[t] -= float(p.funds.get(t, 0.0))

    def blocking(self, p: TimingProject, year: int) -> list[dict[str, Any]]:
        """What stops `p` from starting in `year` with everything else where it is (for a
        scheduled `p`, as if it moved there from its own start year)."""
        out: list[dict[str, Any]] = []
        own = self.starts.get(p.id)
        if year not in allowed_years(self.problem, p):
            out.append(
                {
                    "constraint": "window",
                    "earliest_year": p.earliest_year,
                    "latest_year": p.latest_year,
                }
            )
            return out
        for dep in p.depends_on:
            if dep not in self.starts:
                out.append({"constraint": "dependency", "project_id": dep, "starts": None})
            elif self.starts[dep] > year:
                out.append(
                    {"constraint": "dependency", "project_id": dep, "starts": self.starts[dep]}
                )
        if p.quota_m2 > 0:
            left = self.quota_left.get(p.district, {}).get(year, 0.0)
            if p.quota_m2 > left + 1e-6:
                out.append(
                    {
                        "constraint": "quota",
                        "district": p.district,
                        "year": year,
                        "needed_m2": round(p.quota_m2, 2),
                        "remaining_m2": round(left, 2),
                    }
                )
        if self.budget_left is not None:
            for t in self.problem.years:
                # Moving earlier adds this project's funds of the years in between.
                if t < year or (own is not None and t >= own):
                    continue
                need = float(p.funds.get(t, 0.0))
                if need > self.budget_left[t] + 1e-6:
                    out.append(
                        {
                            "constraint": "budget",
                            "year": t,
                            "needed": round(need, 2),
                            "remaining": round(self.budget_left[t], 2),
                        }
                    )
        return out


def _describe_block(block: dict[str, Any]) -> str:
    kind = block["constraint"]
    if kind == "window":
        return f"outside its window {block['earliest_year']}–{block['latest_year']}"
    if kind == "dependency":
        if block["starts"] is None:
            return f"project {block['project_id']} (a dependency) is not scheduled"
        return f"project {block['project_id']} (a dependency) starts in {block['starts']}"
    if kind == "quota":
        return (
            f"district {block['district']}'s {block['year']} quota has {block['remaining_m2']:,.2f}"
            f" m² left, {block['needed_m2']:,.2f} m² needed"
        )
    return (
        f"the {block['year']} budget has {block['remaining']:,.2f} 万元 left, "
        f"{block['needed']:,.2f} 万元 needed"
    )


def _explain(ledger: _Ledger, p: TimingProject, years: list[int]) -> tuple[list, str]:
    by_year = [{"year": y, "blocked_by": ledger.blocking(p, y)} for y in years]
    parts = [
        f"{entry['year']}: " + "; ".join(_describe_block(b) for b in entry["blocked_by"])
        for entry in by_year
        if entry["blocked_by"]
    ]
    return by_year, " | ".join(parts)


def schedule(ctx: PlanFuse, scope: Scope, body: Any) -> dict[str, Any]:
    """The optimal schedule of the scope's landable projects for a request body."""
    req = parse_request(ctx, body)
    rows = load_many(ctx, scope, req.projects)
    landable = [r for r in rows if r.pre_study_status == "landable"]
    problem = TimingProblem(
        years=req.years,
        quotas=req.quotas,
        budget=req.budget,
        projects=tuple(timing_project(r) for r in landable),
    )
    solution = solve(problem, req.time_limit_s)
    return answer(problem, solution, rows, req)


def answer(
    problem: TimingProblem,
    solution: TimingSolution,
    rows: list[ReserveProject],
    req: ScheduleRequest,
) -> dict[str, Any]:
    """The response: schedule, unscheduled with reasons, idle funds, quota and budget use,
    and the objective with the solver's figures."""
    ledger = _Ledger(problem, solution.starts)
    by_id = {p.id: p for p in problem.projects}
    horizon = set(problem.years)
    unscheduled: list[dict[str, Any]] = []
    idle: list[dict[str, Any]] = []
    for row in rows:
        pid = row.id
        funds = {y: v for y, v in _funds(row).items() if y in horizon and v > 0}
        if pid in solution.starts:
            start = solution.starts[pid]
            for y in sorted(funds):
                if y >= start:
                    continue
                blocks, text = _explain(ledger, by_id[pid], [y])
                idle.append(
                    {
                        "project_id": pid,
                        "year": y,
                        "amount": funds[y],
                        "reason": "later_start",
                        "starts": start,
                        "blocked_by": blocks[0]["blocked_by"],
                        "message": f"planned for {y}, but the project starts in {start}: {text}",
                    }
                )
            continue
        if row.pre_study_status != "landable":
            status = row.pre_study_status or "not_studied"
            entry = {
                "project_id": pid,
                "reason": "pre_study",
                "pre_study_status": status,
                "message": f"only landable projects are scheduled; its pre-study says {status}",
            }
        elif pid in solution.excluded:
            entry = {"project_id": pid, **solution.excluded[pid]}
        else:
            p = by_id[pid]
            blocks, text = _explain(ledger, p, allowed_years(problem, p))
            entry = {
                "project_id": pid,
                "reason": "capacity",
                "years": blocks,
                "message": text or "not chosen before the solver's time limit",
            }
        unscheduled.append(entry)
        for y in sorted(funds):
            idle.append(
                {
                    "project_id": pid,
                    "year": y,
                    "amount": funds[y],
                    "reason": entry["reason"],
                    "message": f"planned for {y}, but the project is not scheduled: "
                    + entry["message"],
                }
            )
    names = {r.id: r.name for r in rows}
    placed = sorted(solution.starts.items(), key=lambda item: (item[1], item[0]))
    quota_use = []
    for district in sorted(problem.quotas):
        for y in problem.years:
            members = [pid for pid, yy in placed if yy == y and by_id[pid].district == district]
            quota = float(problem.quotas[district].get(y, 0.0))
            used = sum(by_id[pid].quota_m2 for pid in members)
            quota_use.append(
                {
                    "district": district,
                    "year": y,
                    "quota_m2": round(quota, 2),
                    "used_m2": round(used, 2),
                    "remaining_m2": round(quota - used, 2),
                    "projects": members,
                }
            )
    budget_use = []
    if problem.budget is not None:
        for y in problem.years:
            total = float(problem.budget.get(y, 0.0))
            budget_use.append(
                {
                    "year": y,
                    "budget": round(total, 2),
                    "used": round(total - ledger.budget_left[y], 2),
                    "remaining": round(ledger.budget_left[y], 2),
                }
            )
    return {
        "years": list(problem.years),
        "schedule": [
            {
                "project_id": pid,
                "year": year,
                "name": names[pid],
                "district": by_id[pid].district,
                "priority": by_id[pid].priority,
                "quota_m2": round(by_id[pid].quota_m2, 2),
            }
            for pid, year in placed
        ],
        "unscheduled": sorted(unscheduled, key=lambda u: u["project_id"]),
        "idle_funds": idle,
        "idle_funds_total": round(sum(i["amount"] for i in idle), 2),
        "quota_use": quota_use,
        "budget_use": budget_use,
        "objective": {
            "priority_sum": solution.priority_sum,
            "weighted_delay": solution.weighted_delay,
            "tie_break": solution.tie_break,
            "optimal": solution.optimal,
            "gap": solution.gap,
            "solver": SOLVER,
            "time_s": solution.time_s,
            "time_limit_s": req.time_limit_s,
            "stages": solution.stages,
        },
    }
