"""Running pre-studies of reserve projects: one at once (stored on the project, with what
changed since its previous pre-study), or many as a background job with progress; and
which stored pre-studies are stale because a layer they read has a new version."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import DomainError, InvalidInput
from planfuse.services import audit
from planfuse.services.compliance.rulesets import RULE_ORDER
from planfuse.services.jobs import JobHandle
from planfuse.services.layers.data import current_layers
from planfuse.services.reserve.prestudy import STATUS_KIND, StudySubject, study
from planfuse.services.reserve.projects import Scope, load, load_many
from planfuse.services.runners import job_runner
from planfuse.storage.models.base import utcnow
from planfuse.storage.models.reserve import ReserveProject

JOB_KIND = "reserve.pre_study"
#: Most projects one batch may name.
BATCH_MAX = 20000
#: The figures whose change a re-run reports.
FIGURES = (
    "compliance_verdict",
    "red_line_area_m2",
    "new_construction_land_m2",
    "farmland_m2",
    "basic_farmland_m2",
    "quota_m2",
)
#: The layer kinds a pre-study reads (siting adds the parcel layer and its conditions).
STUDY_KINDS = (*RULE_ORDER, STATUS_KIND)


@dataclass(frozen=True)
class Who:
    """Who runs a pre-study (recorded on the compliance reports it makes)."""

    app_id: str
    user: str | None = None
    name: str | None = None
    dept: str | None = None
    via: str | None = None


def who_of(caller: Any) -> Who:
    return Who(
        app_id=caller.app_id,
        user=getattr(caller, "user", None),
        name=getattr(caller, "name", None),
        dept=getattr(caller, "dept", None),
        via=getattr(caller, "via", None),
    )


def subject_of(row: ReserveProject) -> StudySubject:
    return StudySubject(
        name=row.name,
        project_type=row.project_type,
        land_use=row.land_use,
        district=row.district,
        area_m2=row.area_m2,
        geometry=row.source_geojson,
        crs=row.source_crs,
        project_ref=f"reserve:{row.id}",
    )


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, Any] | None:
    """What a re-run changed: the outcome, the layers read (versions) and the figures;
    None for a first pre-study."""
    if before is None:
        return None
    old_v, new_v = before.get("data_versions") or {}, after.get("data_versions") or {}
    layers = [
        {"layer": name, "before": old_v.get(name), "after": new_v.get(name)}
        for name in sorted(set(old_v) | set(new_v))
        if old_v.get(name) != new_v.get(name)
    ]
    figures = {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in FIGURES
        if before.get(name) != after.get(name)
    }
    outcome = None
    if before.get("outcome") != after.get("outcome"):
        outcome = {"before": before.get("outcome"), "after": after.get("outcome")}
    return {
        "changed": bool(layers or figures or outcome),
        "outcome": outcome,
        "layers": layers,
        "figures": figures,
        "previous_at": before.get("studied_at"),
    }


def run_pre_study(ctx: PlanFuse, scope: Scope, project_id: int, who: Who) -> dict[str, Any]:
    """Pre-study one project now; store the result on it and return it (with `changes`
    since its previous pre-study)."""
    with ctx.db.session() as session:
        row = load(session, scope, project_id)
        subject = subject_of(row)
        previous = row.pre_study
    result = study(ctx, subject, who)
    now = utcnow()
    result = {"project_id": project_id, **result, "studied_at": now.isoformat()}
    result["changes"] = changes(previous, result)
    with ctx.db.write_session() as session:
        row = load(session, scope, project_id)
        row.pre_study = result
        row.pre_study_status = result["outcome"]
        row.pre_study_at = now
    return result


def _current_versions(ctx: PlanFuse) -> dict[str, int]:
    return {r.layer_id: r.version for r in current_layers(ctx)}


def is_stale(
    stored: Mapping[str, Any] | None, current: Mapping[str, int], layers: set[str]
) -> bool:
    """True when a layer the pre-study read has another version now (or is gone), or a
    layer of a kind it reads was loaded since; True without a pre-study."""
    if not stored:
        return True
    read = stored.get("data_versions") or {}
    if any(current.get(layer) != version for layer, version in read.items()):
        return True
    return bool(layers - set(read))


def stale_ids(ctx: PlanFuse, scope: Scope) -> list[int]:
    """The scope's projects whose pre-study is missing or out of date."""
    current = _current_versions(ctx)
    layers = {r.layer_id for r in current_layers(ctx, STUDY_KINDS)}
    return [r.id for r in load_many(ctx, scope, None) if is_stale(r.pre_study, current, layers)]


def batch_ids(ctx: PlanFuse, scope: Scope, projects: Any) -> list[int]:
    """The ids a batch names: a list of ids, "all" or "stale"; InvalidInput otherwise."""
    if projects == "all":
        return [r.id for r in load_many(ctx, scope, None)]
    if projects == "stale":
        return stale_ids(ctx, scope)
    if (
        not isinstance(projects, list)
        or not projects
        or len(projects) > BATCH_MAX
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in projects)
    ):
        raise InvalidInput(
            f'`projects` is a list of 1 to {BATCH_MAX} project ids, "all" or "stale"',
            field="projects",
        )
    ids = sorted(set(projects))
    load_many(ctx, scope, ids)  # NotFound names the first id outside the scope
    return ids


def start_batch(ctx: PlanFuse, scope: Scope, projects: Any, who: Who) -> dict[str, Any]:
    """Queue the pre-study of many projects as a background job (returned, `queued`)."""
    ids = batch_ids(ctx, scope, projects)
    params = {"scope": asdict(scope), "ids": ids, "who": asdict(who)}
    return job_runner(ctx).submit(JOB_KIND, batch_job, params, app_id=scope.app_id, user=who.user)


def batch_job(ctx: PlanFuse, handle: JobHandle, params: dict[str, Any]) -> dict[str, Any]:
    """The job: each project in turn, progress after each; a project whose pre-study
    fails (a domain error) is reported and the others go on."""
    raw = params["scope"]
    scope = Scope(
        app_id=raw["app_id"],
        user_id=raw.get("user_id"),
        depts=tuple(raw["depts"]) if raw.get("depts") is not None else None,
        districts=tuple(raw["districts"]) if raw.get("districts") is not None else None,
    )
    who = Who(**params["who"])
    ids = params["ids"]
    counts = {"landable": 0, "needs_adjustment": 0, "not_landable": 0}
    results, failed = [], []
    for i, project_id in enumerate(ids):
        handle.progress(i / max(1, len(ids)), f"{i}/{len(ids)}")
        try:
            result = run_pre_study(ctx, scope, project_id, who)
        except DomainError as exc:
            failed.append({"project_id": project_id, "code": exc.code, "message": exc.message})
            continue
        counts[result["outcome"]] += 1
        audit.record(
            ctx,
            audit.Actor.app(who.app_id)
            if who.via == "basic"
            else audit.Actor.user(who.app_id, who.user, who.name),
            "reserve.pre_study",
            f"reserve_project:{project_id}",
            {"outcome": result["outcome"], "job": handle.id},
        )
        results.append(
            {
                "project_id": project_id,
                "outcome": result["outcome"],
                "compliance_report_id": result["compliance_report_id"],
                "changed": bool(result["changes"] and result["changes"]["changed"]),
            }
        )
    handle.progress(1.0, f"{len(ids)}/{len(ids)}")
    return {"total": len(ids), "counts": counts, "projects": results, "failed": failed}
