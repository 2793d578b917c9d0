"""The service catalogue (服务目录) over HTTP: `GET /api/v1/catalogue`, one service with
its endpoints' input and output schemas from the OpenAPI document, and the publishing
departments (server/api/openapi/catalogue.yaml).

An administrator's token sees every service; a host app (its backend's Basic credentials
or one of its widget sessions) sees the services it is granted.
"""

from __future__ import annotations

from flask import request

from planfuse.http.caller import require_admin_or_caller
from planfuse.http.chains import with_chain_inputs
from planfuse.http.context import planfuse
from planfuse.http.openapi import with_schemas
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.admin_tokens import Admin
from planfuse.services.monitoring.departments import list_departments
from planfuse.services.monitoring.listing import Reader, catalogue_entry, list_catalogue

routes = RouteTable()


def _reader() -> Reader:
    who = require_admin_or_caller()
    if isinstance(who, Admin):
        return Reader.administrator()
    return Reader.host_app(who.app_id)


@routes.get("/catalogue")
def catalogue_list():
    """The services the caller may use; filters `kind`, `dept`, `status`, `q`."""
    reader = _reader()
    args = request.args
    body = list_catalogue(
        planfuse(),
        reader,
        kind=args.get("kind") or None,
        dept=args.get("dept") or None,
        status=args.get("status") or None,
        q=args.get("q") or None,
    )
    return json_response(body, headers=NO_STORE)


@routes.get("/catalogue/<service_id>")
def catalogue_get(service_id: str):
    """One service with its endpoints' schemas and an example."""
    ctx = planfuse()
    service, entry = catalogue_entry(ctx, _reader(), service_id)
    return json_response(with_chain_inputs(ctx, with_schemas(service, entry)), headers=NO_STORE)


@routes.get("/departments")
def departments_list():
    """The publishing departments (发布部门)."""
    _reader()
    departments = [d.describe() for d in list_departments(planfuse())]
    return json_response({"departments": departments, "total": len(departments)})
