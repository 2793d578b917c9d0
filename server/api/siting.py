"""辅助选址 over HTTP: search and siting plans (server/api/openapi/siting.yaml).

Callers: the `siting` widget (session token) or a host's backend (HTTP Basic). Parameters
the embed token locked are enforced here: a request may narrow them (one of the locked
districts, a sub-class of the locked land-use class) but never widen them (403).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from planfuse.auth.caller import Caller, apply_locked_params
from planfuse.http.caller import require_caller, widened_lock
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.heavy_requests import heavy_request
from planfuse.services.siting import plans as siting_plans
from planfuse.services.siting.options import siting_options
from planfuse.services.siting.search import parse_basic_request, parse_request, run_query

routes = RouteTable()

WIDGET = "siting"
#: Quoted when a request's body is not a JSON object.
EXAMPLE_BODY = '{"scope": {"districts": ["500112"]}, "land_use": "1001"}'


def enforce_locks(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """The request body with the caller's locked parameters applied.

    `districts` (a list of adcodes): the scope must be a subset of them (default: all of
    them); a drawn polygon cannot be checked against them and is refused. `land_use`: the
    requested code must start with the locked one (default: the locked one). Any other
    locked parameter (`output_crs`, …) must be equal, via :func:`apply_locked_params`.
    """
    locked = dict(caller.params or {})
    body = dict(body)
    values: dict[str, Any] = {}
    if "districts" in locked:
        allowed = locked["districts"]
        allowed_set = set(allowed) if isinstance(allowed, list) else {allowed}
        scope = body.get("scope")
        if scope is None:
            body["scope"] = {"districts": sorted(allowed_set)}
        elif isinstance(scope, dict) and scope.get("geometry") is not None:
            raise widened_lock(
                "districts",
                f"the search is limited to districts {', '.join(sorted(allowed_set))}; "
                "search by district instead of a drawn area",
            )
        elif isinstance(scope, dict) and isinstance(scope.get("districts"), list):
            wider = [d for d in scope["districts"] if d not in allowed_set]
            if wider:
                raise widened_lock(
                    "districts",
                    f"district(s) {', '.join(map(str, wider[:5]))} are outside the locked "
                    f"districts {', '.join(sorted(allowed_set))}",
                )
        values["districts"] = allowed  # narrowing is not a contradiction
        del locked["districts"]
    if "land_use" in locked:
        lock = str(locked.pop("land_use"))
        requested = body.get("land_use")
        if requested in (None, ""):
            body["land_use"] = lock
        elif not (isinstance(requested, str) and requested.startswith(lock)):
            raise widened_lock(
                "land_use",
                f"land use {requested!r} is not within the locked class {lock!r}",
            )
    for name in locked:
        values[name] = body.get(name)
    merged = apply_locked_params(
        Caller(app_id=caller.app_id, user=caller.user, params=locked), values
    )
    for name in locked:
        body[name] = merged[name]
    return body


def _owner(caller: Caller) -> siting_plans.Owner:
    return siting_plans.Owner(app_id=caller.app_id, user_id=caller.user or "")


@routes.post("/siting/search")
def siting_search():
    """Ranked candidate parcels for a siting request."""
    caller = require_caller(widget=WIDGET)
    ctx = planfuse()
    with heavy_request(ctx, caller.app_id, caller.user):
        query = parse_request(ctx, enforce_locks(caller, json_body(example=EXAMPLE_BODY)))
        result = run_query(ctx, query)
    return json_response(result)


@routes.post("/siting/search/basic")
def siting_search_basic():
    """辅助选址-基础条件: candidates by scope, land use and area range only."""
    caller = require_caller(widget=WIDGET)
    ctx = planfuse()
    query = parse_basic_request(ctx, enforce_locks(caller, json_body(example=EXAMPLE_BODY)))
    return json_response(run_query(ctx, query))


@routes.get("/siting/options")
def siting_options_view():
    """What a siting form offers: districts, land-use classes, layers, classes and types."""
    require_caller(widget=WIDGET)
    return json_response(siting_options(planfuse()))


@routes.get("/siting/plans")
def siting_plans_list():
    """The caller's siting plans, newest first."""
    caller = require_caller(widget=WIDGET)
    return json_response({"plans": siting_plans.list_plans(planfuse(), _owner(caller))})


@routes.post("/siting/plans")
def siting_plans_create():
    """Save a siting plan: `{"name": …, <the search request>}`; runs it and keeps the result."""
    caller = require_caller(widget=WIDGET)
    ctx = planfuse()
    body = json_body(example=EXAMPLE_BODY)
    name = siting_plans.check_name(body.pop("name", None))
    with heavy_request(ctx, caller.app_id, caller.user):
        query = parse_request(ctx, enforce_locks(caller, body))
        plan = siting_plans.save_plan(ctx, _owner(caller), name, query)
    return json_response(plan, 201)


@routes.get("/siting/plans/<int:id>")
def siting_plans_get(id: int):
    """One of the caller's plans with its result and the last re-run's changes."""
    caller = require_caller(widget=WIDGET)
    return json_response(siting_plans.get_plan(planfuse(), _owner(caller), id))


@routes.post("/siting/plans/<int:id>/run")
def siting_plans_run(id: int):
    """Re-run a plan on the current data; the response shows what changed (`diff`)."""
    caller = require_caller(widget=WIDGET)
    ctx = planfuse()
    owner = _owner(caller)
    stored = siting_plans.plan_query(ctx, owner, id)
    # Locks of today's token apply to a plan saved under another token too.
    query = parse_request(ctx, enforce_locks(caller, stored.to_dict()))
    with heavy_request(ctx, caller.app_id, caller.user):
        result = siting_plans.run_plan(ctx, owner, id, query)
    return json_response(result)


@routes.delete("/siting/plans/<int:id>")
def siting_plans_delete(id: int):
    """Delete one of the caller's plans."""
    caller = require_caller(widget=WIDGET)
    siting_plans.delete_plan(planfuse(), _owner(caller), id)
    return Response(status=204)
