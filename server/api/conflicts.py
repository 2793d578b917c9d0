"""冲突检测与协调 and 台账 over HTTP (server/api/openapi/conflicts.yaml).

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

from planfuse.api import api_bp
from planfuse.api.common import (
    CSV_TYPE,
    XLSX_TYPE,
    download,
    json_body,
    json_response,
    request_locale,
    widened_lock,
)
from planfuse.app import planfuse
from planfuse.auth.caller import Caller, require_caller
from planfuse.errors import ProblemError, bad_request
from planfuse.services.conflicts.service import (
    Actor,
    change_status,
    conflict_district,
    conflict_history,
    conflict_options,
    get_conflict,
    list_conflicts,
    parse_change,
    parse_query,
    start_detection,
)
from planfuse.services.ledgers import build_ledger, parse_request
from planfuse.services.ledgers.export import ledger_csv, ledger_xlsx

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


def _narrow_district_arg(caller: Caller, args: dict[str, str]) -> None:
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


def _check_conflict_district(caller: Caller, conflict_id: int) -> None:
    allowed = locked_districts(caller)
    if allowed is None:
        return
    district = conflict_district(planfuse(), conflict_id)
    if district not in allowed:
        raise widened_lock(
            "districts",
            f"conflict {conflict_id} lies in district {district}, outside the locked "
            f"districts {', '.join(allowed)}",
        )


# --- detection -----------------------------------------------------------------------


@api_bp.post("/conflicts/detect")
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
    return json_response({"job": job}, 202, location=f"jobs/{job['id']}")


# --- conflicts -----------------------------------------------------------------------


@api_bp.get("/conflicts/options")
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


@api_bp.get("/conflicts")
def conflicts_list():
    """Conflict patches, area descending then id; filters and paging in the query."""
    caller = require_caller(WIDGET)
    args = request.args.to_dict()
    args.pop("locale", None)
    _narrow_district_arg(caller, args)
    analysis = narrow_analysis(caller, args.get("analysis"))
    if analysis:
        args["analysis"] = analysis
    ctx = planfuse()
    return json_response(list_conflicts(ctx, parse_query(ctx, args), request_locale(caller.locale)))


def _conflict_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"conflict id {raw!r} is not a number", field="id") from None
    if value < 1 or value > 2**62:
        raise bad_request(f"conflict id {raw!r} is out of range", field="id")
    return value


@api_bp.get("/conflicts/<conflict_id>")
def conflicts_get(conflict_id: str):
    """One conflict patch with its sources and geometry."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    _check_conflict_district(caller, cid)
    conflict = get_conflict(planfuse(), cid, request_locale(caller.locale))
    if (caller.params or {}).get("analysis") not in (None, conflict["analysis"]):
        raise widened_lock("analysis", f"conflict {cid} belongs to another analysis")
    return json_response(conflict)


@api_bp.patch("/conflicts/<conflict_id>")
def conflicts_patch(conflict_id: str):
    """A coordination step (status with note, opinions, effective date) or a note."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    body = json_body()
    require_coordinator(caller, "change a conflict's status")
    _check_conflict_district(caller, cid)
    actor = actor_of(caller, body)
    body.pop("user", None)
    change = parse_change(body)
    locale = request_locale(caller.locale)
    return json_response(change_status(planfuse(), cid, change, actor, locale))


@api_bp.get("/conflicts/<conflict_id>/history")
def conflicts_history(conflict_id: str):
    """The patch's coordination history, oldest first (append-only)."""
    caller = require_caller(WIDGET)
    cid = _conflict_id(conflict_id)
    _check_conflict_district(caller, cid)
    return json_response({"id": cid, "history": conflict_history(planfuse(), cid)})


# --- ledgers -------------------------------------------------------------------------

FORMATS = {"json", "csv", "xlsx"}


@api_bp.get("/ledgers/<name>")
def ledgers_get(name: str):
    """A ledger by district (`by=district`) or city-wide (`by=city`); `format=csv|xlsx`
    (or a `.csv`/`.xlsx` suffix on the name) downloads it."""
    caller = require_caller(WIDGET)
    fmt = request.args.get("format") or "json"
    for suffix in ("csv", "xlsx", "json"):
        if name.endswith("." + suffix):
            name, fmt = name[: -len(suffix) - 1], suffix
    if fmt not in FORMATS:
        raise bad_request(f"`format` must be json, csv or xlsx, not {fmt!r}", field="format")
    args = request.args.to_dict()
    args.pop("format", None)
    allowed = locked_districts(caller)
    if allowed is not None and args.get("by") == "city":
        raise widened_lock(
            "districts", f"a city-wide ledger is wider than districts {', '.join(allowed)}"
        )
    _narrow_district_arg(caller, args)
    locked_analysis = (caller.params or {}).get("analysis")
    if locked_analysis and name == "conflicts":
        args["analysis"] = narrow_analysis(caller, args.get("analysis"))
    args.setdefault("locale", request_locale(caller.locale))
    req = parse_request(name, args)
    body = build_ledger(planfuse(), req)
    if fmt == "json":
        return json_response(body)
    data = ledger_csv(body, req.locale) if fmt == "csv" else ledger_xlsx(body, req.locale)
    scope = {"city": ("全市", "city"), "district": ("分区县", "by-district")}[req.by]
    return download(
        data,
        CSV_TYPE if fmt == "csv" else XLSX_TYPE,
        f"ledger-{req.name}-{req.by}.{fmt}",
        title=f"{body['title']}-{scope[1 if req.locale == 'en' else 0]}.{fmt}",
    )
