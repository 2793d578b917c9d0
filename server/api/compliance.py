"""Compliance review over HTTP: checks, reports and their exports, red-line uploads,
registered projects, rulesets (admin) and the JWKS of the report signatures.

Views only adapt: they authenticate, enforce the parameters the host locked in the embed
token, and call `planfuse.services.compliance`.
"""

from __future__ import annotations

from typing import Any

from flask import request

from planfuse.auth.caller import Caller, apply_locked_params
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin, require_caller
from planfuse.http.context import planfuse
from planfuse.http.parsing import LOCALES, form_flag, int_arg, json_body, request_locale
from planfuse.http.problems import ProblemError, bad_request
from planfuse.http.responses import CSV_TYPE, NO_STORE, XLSX_TYPE, download, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.compliance.check import check, report_bytes
from planfuse.services.compliance.projects import (
    get_project,
    list_projects,
    project_check_input,
    register_project,
)
from planfuse.services.compliance.reports import (
    export_csv,
    export_xlsx,
    get_report,
    list_reports,
    report_json,
)
from planfuse.services.compliance.rulesets import (
    get_ruleset_document,
    list_rulesets,
    save_ruleset,
)
from planfuse.services.compliance.uploads import parse_upload
from planfuse.services.heavy_requests import heavy_request
from planfuse.services.layers.land_use import classification
from planfuse.signing.server_keys import jwks

routes = RouteTable()

WIDGET = "compliance"
#: Body members of a check request (anything else is refused: a typo must not be ignored).
CHECK_FIELDS = {"geometry", "crs", "land_use", "project_type", "ruleset", "repair", "project"}
#: Parameters of the widget that a host may lock and that steer a check.
LOCKABLE = ("project", "land_use", "project_type", "ruleset", "crs")
MAX_LEVEL_MESSAGE = "max_level must be 1, 2 or 3"


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"`{name}` must be true or false", field=name)
    return value


def report_owner(caller: Caller) -> str | None:
    """Whose reports a caller may read: a widget session only its own user's; a host
    backend (Basic) every report of its app (None)."""
    return caller.user if caller.via == "session" else None


def _locale() -> str:
    return request_locale(request.accept_languages.best_match(LOCALES))


def check_request(caller: Caller, body: dict[str, Any]) -> dict[str, Any]:
    """Run a check for an HTTP caller (plain function; the view only adapts).

    Locked parameters win and cannot be contradicted (403). A locked `project` also locks
    the red line: a request that sends its own `geometry` is refused.
    """
    unknown = sorted(set(body) - CHECK_FIELDS)
    if unknown:
        raise bad_request(
            f"unknown member(s) {', '.join(unknown)}; a check takes "
            + ", ".join(sorted(CHECK_FIELDS)),
            field=unknown[0],
        )
    values = apply_locked_params(caller, {name: body.get(name) for name in LOCKABLE})
    repair = _flag(body.get("repair"), "repair")
    ctx = planfuse()
    project_id = values.get("project")
    if project_id not in (None, ""):
        if caller.via == "session" and "project" not in caller.params:
            # A widget reaches a registered project's red line only through the project
            # its embed token locked (as GET /projects/{id} does); the host's backend
            # may check any project of its app.
            raise ProblemError(
                403,
                "forbidden",
                "this widget session is not locked to a project; the host locks "
                "`project` in the embed token to check a registered project, or the "
                "widget sends the red line as `geometry`",
                title="Forbidden",
                errors=[{"field": "project", "message": "not locked by the embed token"}],
            )
        if body.get("geometry") is not None:
            if "project" in caller.params:
                raise ProblemError(
                    403,
                    "forbidden",
                    "the host locked this widget to project "
                    f"{project_id!r}; its red line cannot be replaced",
                    title="Forbidden",
                    errors=[{"field": "geometry", "message": "locked by the embed token"}],
                )
            raise bad_request("send either `project` or `geometry`, not both", field="geometry")
        stored = project_check_input(ctx, caller.app_id, project_id)
        for name in ("land_use", "project_type", "crs"):
            given = values.get(name)
            if given not in (None, "") and given != stored[name] and name != "crs":
                raise bad_request(
                    f"project {project_id} was registered with {name} {stored[name]!r}; "
                    f"register a new project to check it as {given!r}",
                    field=name,
                )
        return check(
            ctx,
            stored["project"],
            stored["crs"],
            stored["land_use"],
            stored["project_type"],
            values.get("ruleset"),
            caller=caller,
            repair=repair,
            project_id=stored["project_id"],
            project_name=stored["project_name"],
        )
    return check(
        ctx,
        body.get("geometry"),
        values.get("crs"),
        values.get("land_use"),
        values.get("project_type"),
        values.get("ruleset"),
        caller=caller,
        repair=repair,
    )


@routes.post("/compliance/check")
def compliance_check():
    """Check a red line (or a registered project); the signed report, 201."""
    caller = require_caller(widget=WIDGET)
    with heavy_request(planfuse(), caller.app_id, caller.user):
        report = check_request(caller, json_body())
    return json_response(
        report_bytes(report), 201, NO_STORE, location=f"compliance/reports/{report['id']}"
    )


@routes.get("/compliance/reports")
def compliance_reports():
    """The caller's app's reports, newest first (`project`, `user`, `limit`)."""
    caller = require_caller(widget=WIDGET)
    limit = int_arg("limit", 50)
    project = request.args.get("project") or None
    user = request.args.get("user") or None
    if caller.via == "session":
        # A widget user sees their own checks (and only the locked project, if any).
        user = caller.user
        project = caller.params.get("project", project)
    rows = list_reports(planfuse(), caller.app_id, project_id=project, user=user, limit=limit)
    return json_response({"reports": rows}, headers=NO_STORE)


@routes.get("/compliance/reports/<report_id>")
def compliance_report(report_id: str):
    """One report of the caller's app, exactly as the check returned it."""
    caller = require_caller(widget=WIDGET)
    return json_response(
        report_json(planfuse(), report_id, caller.app_id, report_owner(caller)), headers=NO_STORE
    )


@routes.get("/compliance/reports/<report_id>/items.csv")
def compliance_report_csv(report_id: str):
    """The checklist of a report as CSV (UTF-8 with BOM; `locale` zh-CN or en)."""
    caller = require_caller(widget=WIDGET)
    report = get_report(planfuse(), report_id, caller.app_id, report_owner(caller))
    return download(export_csv(report, _locale()), CSV_TYPE, f"{report_id}.csv")


@routes.get("/compliance/reports/<report_id>/items.xlsx")
def compliance_report_xlsx(report_id: str):
    """The checklist of a report as an Excel workbook (`locale` zh-CN or en)."""
    caller = require_caller(widget=WIDGET)
    report = get_report(planfuse(), report_id, caller.app_id, report_owner(caller))
    return download(export_xlsx(report, _locale()), XLSX_TYPE, f"{report_id}.xlsx")


@routes.post("/compliance/parse")
def compliance_parse():
    """Parse an uploaded red line file (multipart `file`; form `crs`, `repair`) for preview.

    Nothing is stored; send the returned `geometry` and `crs` to the check.
    """
    caller = require_caller(widget=WIDGET)
    upload = request.files.get("file")
    if upload is None:
        raise bad_request(
            "send the red line as multipart form field `file` (GeoJSON, a zipped "
            "shapefile, or a 界址点 coordinate list)",
            field="file",
        )
    repair = form_flag("repair")
    with heavy_request(planfuse(), caller.app_id, caller.user):
        _, preview = parse_upload(
            planfuse(),
            upload.read(),
            upload.filename or "upload",
            request.form.get("crs") or None,
            repair=repair,
        )
    return json_response(preview, headers=NO_STORE)


@routes.get("/compliance/land-use-classes")
def compliance_land_use_classes():
    """The 用地用海 classification (levels 1–3) with Chinese and English names."""
    level = int_arg("max_level", 3, message=MAX_LEVEL_MESSAGE)
    if level not in (1, 2, 3):
        raise bad_request(MAX_LEVEL_MESSAGE, field="max_level")
    return json_response(
        {"classes": classification(level)}, headers={"Cache-Control": "public, max-age=86400"}
    )


@routes.get("/compliance/jwks.json")
def compliance_jwks():
    """The public keys that verify report signatures (a JSON Web Key Set)."""
    return json_response(
        jwks(planfuse()),
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


# --- projects ---------------------------------------------------------------------------


def _host_backend() -> Caller:
    caller = require_caller()
    if caller.via != "basic":
        raise ProblemError(
            403,
            "forbidden",
            "projects are registered by the host's backend with its app credentials "
            "(HTTP Basic app_id:secret), not from a widget",
            title="Forbidden",
        )
    return caller


@routes.post("/projects")
def projects_create():
    """Register a project red line for the calling host app; 201 with its id."""
    caller = _host_backend()
    with heavy_request(planfuse(), caller.app_id, caller.user):
        project = register_project(planfuse(), caller.app_id, json_body())
    return json_response(project, 201, location=f"projects/{project['id']}")


@routes.get("/projects")
def projects_list():
    """The calling app's projects (`external_id`, `limit`), newest first."""
    caller = _host_backend()
    limit = int_arg("limit", 50)
    rows = list_projects(
        planfuse(), caller.app_id, external_id=request.args.get("external_id"), limit=limit
    )
    return json_response({"projects": rows})


@routes.get("/projects/<project_id>")
def projects_get(project_id: str):
    """One project: the host backend sees its app's projects; a widget session only the
    project its embed token locked."""
    caller = require_caller()
    if caller.via == "session" and str(caller.params.get("project")) != project_id:
        raise ProblemError(403, "forbidden", "this widget session is not locked to that project")
    return json_response(get_project(planfuse(), caller.app_id, project_id))


# --- rulesets (admin) ---------------------------------------------------------------------


@routes.get("/compliance/rulesets")
def rulesets_list():
    """Every ruleset with its versions (admin)."""
    require_admin()
    return json_response({"rulesets": list_rulesets(planfuse())})


@routes.post("/compliance/rulesets")
def rulesets_create():
    """Create a ruleset (version 1) from a document with `id` (admin)."""
    admin = require_admin()
    body = json_body()
    ruleset = save_ruleset(
        planfuse(), body.get("id"), body, created_by=f"admin:{admin.name}", create=True
    )
    audit_event("ruleset.create", f"ruleset:{ruleset.id}", {"version": ruleset.version})
    return json_response(ruleset.to_dict(), 201, location=f"compliance/rulesets/{ruleset.id}")


@routes.get("/compliance/rulesets/<ruleset_id>")
def rulesets_get(ruleset_id: str):
    """A ruleset's current version, or `?version=N` (admin)."""
    require_admin()
    version = int_arg("version")
    return json_response(get_ruleset_document(planfuse(), ruleset_id, version))


@routes.put("/compliance/rulesets/<ruleset_id>")
def rulesets_update(ruleset_id: str):
    """Save an edited ruleset as its next version (admin); earlier versions stay."""
    admin = require_admin()
    ruleset = save_ruleset(planfuse(), ruleset_id, json_body(), created_by=f"admin:{admin.name}")
    audit_event("ruleset.update", f"ruleset:{ruleset.id}", {"version": ruleset.version})
    return json_response(ruleset.to_dict())
