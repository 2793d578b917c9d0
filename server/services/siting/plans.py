"""Siting plans (选址方案): save, list, open, re-run and delete, per host app and user.

A plan keeps its canonical request and the exact JSON text of its last result. Re-running
it searches again with the same request: on unchanged data the new result is byte for byte
the stored one; on changed data the plan records what changed (:func:`diff_results`):
candidates added and removed, rank and score changes, the recommended parcel, and the data
versions before and after.

Every function takes the :class:`Owner` (app id and user id from the caller); a plan of any
other owner behaves exactly like a plan that does not exist (NotFound), so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, func, select

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.siting.query import SitingQuery
from planfuse.services.siting.search import parse_request, result_json, run_query
from planfuse.storage.models.base import utcnow
from planfuse.storage.models.siting import PLAN_NAME_MAX, SitingPlan

#: Most plans one user (or one app's backend) may keep.
PLANS_PER_OWNER_MAX = 1000


@dataclass(frozen=True)
class Owner:
    """Whose plans: the host app, and the host's user id ("" for the app's backend)."""

    app_id: str
    user_id: str = ""


def check_name(name: Any) -> str:
    """The plan name, trimmed; InvalidInput when missing, not text or longer than 200 characters.
    Markup is kept as it is: it is data, and every view shows it as text."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            "a siting plan needs a name (text, 1 to 200 characters)",
            code="invalid_siting_plan",
            errors=[{"field": "name", "message": "required"}],
        )
    name = name.strip()
    if len(name) > PLAN_NAME_MAX:
        raise InvalidInput(
            f"the plan name is {len(name):,} characters long; at most {PLAN_NAME_MAX} are kept",
            code="invalid_siting_plan",
            errors=[{"field": "name", "message": f"at most {PLAN_NAME_MAX} characters"}],
        )
    return name


def _not_found(plan_id: int) -> NotFound:
    return NotFound("siting plan", plan_id, message=f"siting plan {plan_id} does not exist")


def _load(session, owner: Owner, plan_id: int) -> SitingPlan:
    plan = session.scalars(
        select(SitingPlan).where(
            SitingPlan.id == plan_id,
            SitingPlan.app_id == owner.app_id,
            SitingPlan.user_id == owner.user_id,
        )
    ).first()
    if plan is None:
        raise _not_found(plan_id)
    return plan


def _summary(plan: SitingPlan) -> dict[str, Any]:
    return {
        "id": plan.id,
        "name": plan.name,
        "scope": plan.query.get("scope"),
        "total": plan.total,
        "data_versions": plan.data_versions,
        "runs": plan.runs,
        "created_at": plan.created_at.isoformat(),
        "updated_at": plan.updated_at.isoformat(),
        "run_at": plan.run_at.isoformat(),
    }


def plan_dict(plan: SitingPlan) -> dict[str, Any]:
    """A plan with its request, its stored result and the last re-run's changes."""
    query = dict(plan.query)
    return {
        **_summary(plan),
        "conditions": {
            k: v for k, v in query.items() if k not in ("scope", "weights", "limit", "output_crs")
        },
        "weights": query.get("weights"),
        "limit": query.get("limit"),
        "output_crs": query.get("output_crs"),
        "result": orjson.loads(plan.result),
        "diff": plan.last_diff,
    }


def save_plan(ctx: PlanFuse, owner: Owner, name: Any, query: SitingQuery) -> dict[str, Any]:
    """Run `query` now and keep it with its result as a new plan of `owner`."""
    name = check_name(name)
    result = run_query(ctx, query)
    now = utcnow()
    with ctx.db.write_session() as session:
        count = session.scalar(
            select(func.count(SitingPlan.id)).where(
                SitingPlan.app_id == owner.app_id, SitingPlan.user_id == owner.user_id
            )
        )
        if count >= PLANS_PER_OWNER_MAX:
            raise Conflict(
                f"you keep {count} siting plans, the most allowed; delete some first",
                code="too_many_plans",
                title="Too many plans",
            )
        plan = SitingPlan(
            app_id=owner.app_id,
            user_id=owner.user_id,
            name=name,
            query=query.to_dict(),
            result=result_json(result).decode(),
            total=result["total"],
            data_versions=result["data_versions"],
            last_diff=None,
            runs=1,
            created_at=now,
            updated_at=now,
            run_at=now,
        )
        session.add(plan)
        session.flush()
        return plan_dict(plan)


def list_plans(ctx: PlanFuse, owner: Owner) -> list[dict[str, Any]]:
    """`owner`'s plans, newest first (without their results)."""
    with ctx.db.session() as session:
        plans = session.scalars(
            select(SitingPlan)
            .where(SitingPlan.app_id == owner.app_id, SitingPlan.user_id == owner.user_id)
            .order_by(SitingPlan.updated_at.desc(), SitingPlan.id.desc())
        ).all()
        return [_summary(p) for p in plans]


def get_plan(ctx: PlanFuse, owner: Owner, plan_id: int) -> dict[str, Any]:
    """One of `owner`'s plans; NotFound for any other."""
    with ctx.db.session() as session:
        return plan_dict(_load(session, owner, plan_id))


def plan_query(ctx: PlanFuse, owner: Owner, plan_id: int) -> SitingQuery:
    """The stored request of one of `owner`'s plans, parsed again with today's limits."""
    with ctx.db.session() as session:
        stored = dict(_load(session, owner, plan_id).query)
    return parse_request(ctx, stored)


def run_plan(
    ctx: PlanFuse, owner: Owner, plan_id: int, query: SitingQuery | None = None
) -> dict[str, Any]:
    """Search again with the plan's request; keep the new result and what changed."""
    if query is None:
        query = plan_query(ctx, owner, plan_id)
    result = run_query(ctx, query)
    text = result_json(result).decode()
    now = utcnow()
    with ctx.db.write_session() as session:
        plan = _load(session, owner, plan_id)
        before = orjson.loads(plan.result)
        diff = diff_results(before, result)
        diff["changed"] = text != plan.result
        plan.result = text
        plan.total = result["total"]
        plan.data_versions = result["data_versions"]
        plan.last_diff = diff
        plan.runs = plan.runs + 1
        plan.run_at = now
        plan.updated_at = now
        session.flush()
        return plan_dict(plan)


def delete_plan(ctx: PlanFuse, owner: Owner, plan_id: int) -> None:
    """Delete one of `owner`'s plans; NotFound (and nothing deleted) for any other."""
    with ctx.db.session() as session:
        deleted = session.execute(
            delete(SitingPlan).where(
                SitingPlan.id == plan_id,
                SitingPlan.app_id == owner.app_id,
                SitingPlan.user_id == owner.user_id,
            )
        ).rowcount
        if not deleted:
            raise _not_found(plan_id)


def _brief(candidate: dict[str, Any]) -> dict[str, Any]:
    return {
        "parcel_key": candidate.get("parcel_key"),
        "feature_id": candidate["feature_id"],
        "rank": candidate["rank"],
        "score": candidate["score"],
        "area_m2": candidate["area_m2"],
        "land_use": candidate.get("land_use"),
    }


def diff_results(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What changed between two results of the same request.

    Candidates are matched by `parcel_key` (their geometry), because a re-imported layer
    numbers its features afresh. Only listed candidates are compared (the top `limit`);
    `total` shows how many parcels passed each time.
    """
    old = {c["parcel_key"]: c for c in before.get("candidates", [])}
    new = {c["parcel_key"]: c for c in after.get("candidates", [])}
    added = [_brief(c) for k, c in new.items() if k not in old]
    removed = [_brief(c) for k, c in old.items() if k not in new]
    rank_changes = []
    modified = []
    for key, c in new.items():
        if key not in old:
            continue
        o = old[key]
        if o["rank"] != c["rank"] or o["score"] != c["score"]:
            rank_changes.append(
                {
                    "parcel_key": key,
                    "feature_id": c["feature_id"],
                    "rank_before": o["rank"],
                    "rank_after": c["rank"],
                    "score_before": o["score"],
                    "score_after": c["score"],
                }
            )
        fields = [
            f for f in ("feature_id", "land_use", "area_m2", "district") if o.get(f) != c.get(f)
        ]
        if fields:
            modified.append(
                {
                    "parcel_key": key,
                    "fields": {f: {"before": o.get(f), "after": c.get(f)} for f in fields},
                }
            )
    versions_before = before.get("data_versions", {})
    versions_after = after.get("data_versions", {})
    layers = sorted(set(versions_before) | set(versions_after))

    def recommended(result):
        first = result.get("candidates") or []
        return _brief(first[0]) if first else None

    return {
        "changed": before != after,
        "total": {"before": before.get("total"), "after": after.get("total")},
        "data_versions": {
            "before": versions_before,
            "after": versions_after,
            "changed": [
                {
                    "layer": layer,
                    "before": versions_before.get(layer),
                    "after": versions_after.get(layer),
                }
                for layer in layers
                if versions_before.get(layer) != versions_after.get(layer)
            ],
        },
        "recommended": {"before": recommended(before), "after": recommended(after)},
        "added": added,
        "removed": removed,
        "rank_changes": rank_changes,
        "modified": modified,
    }
