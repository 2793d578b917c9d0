"""冲突检测与协调 over HTTP (server/api/openapi/conflicts.yaml); the ledgers (台账) are
`planfuse.api.ledgers`.

Callers: the `conflicts` widget (session token) or a host's backend (HTTP Basic).
Conflicts and their history are shared by every app; every change records the app and
the user. Starting a detection and changing a status need the coordinator role
(`conflict_coordinator_role`) in a session token; a host backend (Basic) acts for its
users and names the user in the body.

Locked parameters of the widget, enforced here (403 when a request widens them):
`districts` (the adcodes a caller may see and change; lists, ledgers and detections are
narrowed to them), `analysis` (one analysis only) and `readonly` (no detection, no status
change).
"""

from __future__ import annotations

from typing import Any

from flask import request

from planfuse.auth.caller import Caller
from planfuse.errors import NotFound
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_caller, widened_lock
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body, request_locale
from planfuse.http.problems import ProblemError, bad_request
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detection_jobs import start_detection
from planfuse.services.conflicts.queries import (
    conflict_history,
    conflict_options,
    conflict_scope,
    get_conflict,
    list_conflicts,
    parse_query,
)
from planfuse.services.conflicts.touching import conflicts_touching_red_line
from planfuse.services.conflicts.workflow import change_status, parse_change

routes = RouteTable()

WIDGET = "conflicts"
DETECT_FIELDS = {"analysis", "districts", "user"}


def locked_districts(caller: Caller) -> list[str] | None:
    value = (caller.params or {}).get("districts")
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def narrow_districts(caller: Caller, requested: list[str] | None, field: str) -> list[str] | None:
    """The districts a request may use: the requested ones, which must lie within the
    locked ones (403 otherwise); the locked ones when none are requested."""
    allowed = locked_districts(caller)
    if allowed is None or requested == []:
        return requested
    if requested is None:
        return allowed
    wider = [d for d in requested if d not in allowed]
    if wider:
        raise widened_lock(
            "districts",
            f"district(s) {', '.join(wider[:5])} are outside the locked districts "
            f"{', '.join(allowed)} (field {field})",
        )
    return requested


def narrow_district_arg(caller: Caller, args: dict[str, str]) -> None:
    """The `district` query argument (comma-separated adcodes) narrowed to the locked
    districts (all of them when it is empty); 403 when it names another."""
    requested = [d.strip() for d in args.get("district", "").split(",") if d.strip()]
    districts = narrow_districts(caller, requested or None, "district")
    if districts:
        args["district"] = ",".join(districts)


def narrow_analysis(caller: Caller, requested: Any) -> Any:
    locked = (caller.params or {}).get("analysis")
    if locked is None:
        return requested
    if requested not in (None, "") and requested != locked:
        raise widened_lock("analysis", f"the widget is locked to analysis {locked!r}")
    return locked


def actor_of(caller: Caller, body: dict[str, Any] | None = None) -> Actor:
    """Who acts: the session's user, or for a host backend the `user` it names."""
    user = caller.user
    if caller.via == "basic":
        named = (body or {}).get("user")
        if not isinstance(named, str) or not named.strip() or len(named) > 200:
            raise bad_request(
                "a host backend (HTTP Basic) names the user it acts for: send `user` "
                "(the host's user id) in the body",
                field="user",
                code="user_required",
            )
        user = named.strip()
    elif body is not None and "user" in body:
        raise bad_request("`user` comes from the session token; drop it", field="user")
    return Actor(app_id=caller.app_id, user=user, name=caller.name, dept=caller.dept)


def require_coordinator(caller: Caller, action: str) -> None:
    """403 unless the caller may change conflicts (the role, and not locked read-only)."""
    if (caller.params or {}).get("readonly") is True:
        raise ProblemError(
            403, "forbidden", f"the host embedded this widget read-only; it cannot {action}"
        )
    if caller.via == "basic":
        return
    role = planfuse().settings.conflict_coordinator_role
    if not caller.has_role(role):
        raise ProblemError(
            403,
            "forbidden",
            f"{action} needs the role {role!r}; the embed token gives this user "
            f"{', '.join(caller.roles) or 'no roles'}",
            title="Forbidden",
            errors=[{"field": "roles", "message": f"role {role!r} required"}],
        )


def check_conflict_scope(caller: Caller, conflict_id: int) -> None:
    """The one scope check of every route on one conflict: 403 when the conflict lies
    outside the caller's locked districts or belongs to another analysis than the
    locked one (404 when it does not exist)."""
    allowed = locked_districts(caller)
    locked_analysis = (caller.params or {}).get("analysis")
    if allowed is None and locked_analysis is None:
        return
    district, analysis = conflict_scope(planfuse(), conflict_id)
    if allowed is not None and district not in allowed:
        raise widened_lock(
            "districts",
            f"conflict {conflict_id} lies in district {district}, outside the locked "
            f"districts {', '.join(allowed)}",
        )
    if locked_analysis is not None and analysis != locked_analysis:
        raise widened_lock(
            "analysis",
            f"conflict {conflict_id} belongs to analysis {analysis!r}; the widget is "
            f"locked to analysis {locked_analysis!r}",
        )


# --- detection -----------------------------------------------------------------------


@routes.post("/conflicts/touching")
def conflicts_touching_view():
    """冲突图斑-按红线: the conflict patches a red line touches (a widget's locked districts
    and analysis narrow them)."""
    caller = require_caller(WIDGET)
    locked_analysis = (caller.params or {}).get("analysis")
    return json_response(
        conflicts_touching_red_line(
            planfuse(),
            json_body(),
            districts=locked_districts(caller),
            analysis=str(locked_analysis) if locked_analysis else None,
        )
    )


@routes.post("/conflicts/detect")
def conflicts_detect():
    """Start a detection job: `{"analysis": ..., "districts": [...]}` → 202 `{"job": …}`."""
    caller = require_caller(WIDGET)
    body = json_body()
    unknown = sorted(set(body) - DETECT_FIELDS)
    if unknown:
        raise bad_request(
            f"unknown field(s) {', '.join(unknown)}; expected analysis, districts",
            field=unknown[0],
        )
    require_coordinator(caller, "start a conflict detection")
    analysis = narrow_analysis(caller, body.get("analysis"))
    if analysis is None:
        raise bad_request(
            "`analysis` is required: two_plans, three_lines or plan_vs_controls",
            field="analysis",
        )
    districts = body.get("districts")
    if districts is not None and not isinstance(districts, list):
        raise bad_request("`districts` must be a list of adcodes", field="districts")
    districts = narrow_districts(
        caller, None if districts is None else [str(d) for d in districts], "districts"
    )
    job = start_detection(planfuse(), analysis, districts, actor_of(caller, body))
    audit_event(
        "conflict.detect",
        f"job:{job['id']}",
        {"analysis": analysis, "districts": districts, "user": body.get("user")},
    )
    return json_response({"job": job}, 202, location=f"jobs/{job['id']}")


# --- conflicts -----------------------------------------------------------------------


@routes.get("/conflicts/options")
def conflicts_options():
    """Analyses and types, statuses and transitions, districts, ledgers, the running
    detections, and what this caller may do (coordinate) and has locked."""
    caller = require_caller(WIDGET)
    body = conflict_options(planfuse())
    allowed = locked_districts(caller)
    if allowed is not None:
        body["districts"] = [d for d in body["districts"] if d["adcode"] in allowed]
    role = body["coordinator_role"]
    body["caller"] = {
        "can_coordinate": (caller.params or {}).get("readonly") is not True
        and (caller.via == "basic" or caller.has_role(role)),
        "locked": dict(caller.params or {}),
    }
    return json_response(body)


@routes.get("/conflicts")
def conflicts_list():
    """Conflict patches, area descending then id; filters and paging in the query."""
    caller = require_caller(WIDGET)
    args = request.args.to_dict()
    args.pop("locale", None)
    narrow_district_arg(caller, args)
    analysis = narrow_analysis(caller, args.get("analysis"))
    if analysis:
        args["analysis"] = analysis
    ctx = planfuse()
    return json_response(list_conflicts(ctx, parse_query(ctx, args), request_locale(caller.locale)))


def _conflict_id(value: int) -> int:
    # `<int:…>` took the digits (a word such as `detect` is another route, or a 404/405);
    # ids start at 1, so 0 is like any id that does not exist.
    if value < 1:
        raise NotFound("conflict", value)
    return value


@routes.get("/conflicts/<int:conflict_id>")
def conflicts_get(conflict_id: int):
    """One conflict patch with its sources and geometry."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    check_conflict_scope(caller, cid)
    return json_response(get_conflict(planfuse(), cid, request_locale(caller.locale)))


@routes.patch("/conflicts/<int:conflict_id>")
def conflicts_patch(conflict_id: int):
    """A coordination step (status with note, opinions, effective date) or a note."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    body = json_body()
    require_coordinator(caller, "change a conflict's status")
    check_conflict_scope(caller, cid)
    actor = actor_of(caller, body)
    body.pop("user", None)
    change = parse_change(body)
    locale = request_locale(caller.locale)
    changed = change_status(planfuse(), cid, change, actor, locale)
    audit_event(
        "conflict.change",
        f"conflict:{cid}",
        {"status": changed.get("status"), "user": actor.user if caller.via == "basic" else None},
    )
    return json_response(changed)


@routes.get("/conflicts/<int:conflict_id>/history")
def conflicts_history(conflict_id: int):
    """The patch's coordination history, oldest first (append-only)."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    check_conflict_scope(caller, cid)
    return json_response({"id": cid, "history": conflict_history(planfuse(), cid)})
