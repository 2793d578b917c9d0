"""项目生成 over HTTP (server/api/openapi/reserve.yaml): the project reserve's CRUD, its
XLSX exchange and the pre-study (预研预控) of its projects.

Callers: the `projects` widget (session token) or a host's backend (HTTP Basic). A session
user sees and changes the projects they proposed; a host backend sees every project of its
app and names the proposing user (`user`) when it creates projects. Locked parameters of
the widget, enforced here: `dept` and `district` (one value or a list): a session sees
only those projects and cannot create or move one outside them (403).
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from planfuse.auth.caller import Caller
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_caller
from planfuse.http.context import planfuse
from planfuse.http.parsing import int_arg, json_body
from planfuse.http.problems import bad_request
from planfuse.http.responses import XLSX_TYPE, download, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.reserve import projects as reserve
from planfuse.services.reserve.schedule import schedule
from planfuse.services.reserve.studies import run_pre_study, start_batch, who_of
from planfuse.services.reserve.workbook import export_workbook, import_workbook

routes = RouteTable()

WIDGET = "projects"
LOCKS = ("dept", "district")
EXAMPLE_BODY = (
    '{"name": "…", "type": "urban", "dept": "housing_construction", "district": "500112", '
    '"land_use": "0801", "area_m2": 20000, "funds": {"2026": 500}, "priority": 3, '
    '"depends_on": []}'
)
#: Largest XLSX upload read (bytes).
WORKBOOK_MAX_BYTES = 20 * 1024 * 1024


def _locked(caller: Caller, name: str) -> tuple[str, ...] | None:
    value = (caller.params or {}).get(name)
    if value is None:
        return None
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def scope_of(caller: Caller) -> reserve.Scope:
    """The projects a caller may see: its app's, its own for a session, narrowed to the
    locked departments and districts."""
    return reserve.Scope(
        app_id=caller.app_id,
        user_id=caller.user if caller.via == "session" else None,
        depts=_locked(caller, "dept"),
        districts=_locked(caller, "district"),
    )


def proposer(caller: Caller, named: Any) -> str:
    """Who proposes: the session's user, or the `user` a host backend names."""
    if caller.via == "session":
        if named is not None:
            raise bad_request("`user` comes from the session token; drop it", field="user")
        return caller.user or ""
    if not isinstance(named, str) or not named.strip() or len(named) > 200:
        raise bad_request(
            "a host backend (HTTP Basic) names the user it acts for: send `user` (the "
            "host's user id)",
            field="user",
            code="user_required",
        )
    return named.strip()


def _filter_arg(name: str) -> tuple[str, ...] | None:
    raw = request.args.get(name, "")
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    return values or None


@routes.get("/reserve/projects")
def reserve_projects_list():
    """The reserve, by id: `dept`, `district`, `status` (comma-separated) narrow it."""
    caller = require_caller(widget=WIDGET)
    statuses = _filter_arg("status")
    allowed = (*reserve.STATUSES, reserve.NOT_STUDIED)
    for status in statuses or ():
        if status not in allowed:
            raise bad_request(
                f"status {status!r} is unknown; expected {', '.join(allowed)}", field="status"
            )
    flt = reserve.ListFilter(
        depts=_filter_arg("dept"),
        districts=_filter_arg("district"),
        statuses=statuses,
        limit=int_arg("limit", 1000),
        offset=int_arg("offset", 0),
    )
    return json_response(reserve.list_projects(planfuse(), scope_of(caller), flt))


@routes.post("/reserve/projects")
def reserve_projects_create():
    """Propose a project (the create body is the contract); 201 with its `id`."""
    caller = require_caller(widget=WIDGET)
    body = json_body(example=EXAMPLE_BODY)
    user = proposer(caller, body.pop("user", None))
    project = reserve.create_project(planfuse(), scope_of(caller), user, body)
    audit_event(
        "reserve.create",
        f"reserve_project:{project['id']}",
        {"name": project["name"], "dept": project["dept"], "user": user},
    )
    return json_response(project, 201, location=f"reserve/projects/{project['id']}")


@routes.get("/reserve/projects/<int:id>")
def reserve_projects_get(id: int):
    """One project with its red line and its latest pre-study."""
    caller = require_caller(widget=WIDGET)
    return json_response(reserve.get_project(planfuse(), scope_of(caller), id))


def _update(id: int, replace: bool):
    caller = require_caller(widget=WIDGET)
    body = json_body(example=EXAMPLE_BODY)
    if caller.via == "session" and "user" in body:
        raise bad_request("`user` comes from the session token; drop it", field="user")
    body.pop("user", None)
    project = reserve.update_project(planfuse(), scope_of(caller), id, body, replace=replace)
    audit_event("reserve.update", f"reserve_project:{id}", {"fields": sorted(body)})
    return json_response(project)


@routes.put("/reserve/projects/<int:id>")
def reserve_projects_replace(id: int):
    """Replace a project with a whole create body."""
    return _update(id, replace=True)


@routes.patch("/reserve/projects/<int:id>")
def reserve_projects_patch(id: int):
    """Change some fields of a project (`geometry: null` removes its red line)."""
    return _update(id, replace=False)


@routes.delete("/reserve/projects/<int:id>")
def reserve_projects_delete(id: int):
    """Delete a project (409 while others depend on it)."""
    caller = require_caller(widget=WIDGET)
    reserve.delete_project(planfuse(), scope_of(caller), id)
    audit_event("reserve.delete", f"reserve_project:{id}")
    return Response(status=204)


@routes.get("/reserve/projects.xlsx")
def reserve_projects_export():
    """The caller's reserve as an XLSX workbook in the bureaus' layout."""
    caller = require_caller(widget=WIDGET)
    rows = reserve.load_many(planfuse(), scope_of(caller), None)
    return download(export_workbook(rows), XLSX_TYPE, "reserve.xlsx", title="项目储备库.xlsx")


@routes.post("/reserve/projects/import")
def reserve_projects_import():
    """Create or update projects from an XLSX workbook (multipart field `file`, or the
    workbook as the body); all rows or none."""
    caller = require_caller(widget=WIDGET)
    upload = request.files.get("file")
    if upload is not None:
        data = upload.read(WORKBOOK_MAX_BYTES + 1)
        named = request.form.get("user")
    else:
        data = request.get_data(cache=False)
        named = request.args.get("user")
    if not data:
        raise bad_request("send the workbook as multipart form field `file`", field="file")
    if len(data) > WORKBOOK_MAX_BYTES:
        raise bad_request(f"the workbook is larger than {WORKBOOK_MAX_BYTES:,} bytes", field="file")
    user = proposer(caller, named or None)
    result = import_workbook(planfuse(), scope_of(caller), user, data)
    audit_event(
        "reserve.import",
        "reserve_project:",
        {"created": result["created"], "updated": result["updated"], "user": user},
    )
    return json_response(result)


@routes.post("/reserve/projects/<int:id>/pre-study")
def reserve_project_pre_study(id: int):
    """Pre-study one project now (预研预控); the result is stored on the project."""
    caller = require_caller(widget=WIDGET)
    result = run_pre_study(planfuse(), scope_of(caller), id, who_of(caller))
    audit_event(
        "reserve.pre_study",
        f"reserve_project:{id}",
        {"outcome": result["outcome"], "compliance_report_id": result["compliance_report_id"]},
    )
    return json_response(result)


@routes.post("/reserve/pre-study")
def reserve_pre_study_batch():
    """Pre-study many projects as a background job: `{"projects": [ids] | "all" |
    "stale"}`; 202 with the job (progress at /api/v1/jobs/<id>)."""
    caller = require_caller(widget=WIDGET)
    body = json_body(example='{"projects": "stale"}')
    job = start_batch(planfuse(), scope_of(caller), body.get("projects"), who_of(caller))
    return json_response(job, 202, location=f"jobs/{job['id']}")


@routes.post("/reserve/schedule")
def reserve_schedule():
    """The optimal yearly schedule (建设时序) of the caller's landable projects."""
    caller = require_caller(widget=WIDGET)
    body = json_body(
        example='{"years": [2026, 2027], "quotas": {"500112": {"2026": 50000, '
        '"2027": 50000}}, "budget": {"2026": 8000, "2027": 8000}, "projects": "all"}'
    )
    return json_response(schedule(planfuse(), scope_of(caller), body))
