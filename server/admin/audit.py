"""The audit log in the admin area: the admin API (`GET /api/v1/admin/audit`, `…/audit.csv`)
and the console page (审计日志, `/admin/audit`) with its cookie-signed-in twins. Both read
the same query arguments (`planfuse.services.audit.parse_query`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import g, render_template, request, url_for

from planfuse.admin.views import console_page, csrf_token, require_signed_in
from planfuse.errors import InvalidInput
from planfuse.http.caller import require_admin
from planfuse.http.context import planfuse
from planfuse.http.responses import NO_STORE, csv_stream, json_response
from planfuse.http.routes import RouteTable
from planfuse.services import audit

#: The console's routes (under /admin) and the admin API's (under /api/v1).
routes = RouteTable()
api_routes = RouteTable()

#: Query arguments of the page and the export (see `planfuse.services.audit.parse_query`).
FILTERS = ("action", "actor", "target", "since", "until", "before", "limit")
PAGE_SIZE = 50


def _events():
    return json_response(
        audit.list_events(planfuse(), audit.parse_query(request.args.to_dict())),
        headers=NO_STORE,
    )


def _export():
    query = audit.parse_query(request.args.to_dict())
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return csv_stream(audit.export_csv(planfuse(), query), f"audit-{stamp}.csv")


@api_routes.get("/admin/audit")
def admin_audit():
    """Audit events, newest first: filters `action` (app.create, or a thing: app),
    `actor`, `target` (app:app_1, or a kind: app:), `since`, `until`; paging `before`,
    `limit` (1–500)."""
    require_admin()
    return _events()


@api_routes.get("/admin/audit.csv")
def admin_audit_csv():
    """Every event the filters match as CSV (UTF-8 with BOM)."""
    require_admin()
    return _export()


@routes.get("/audit")
@console_page
def audit_page():
    """The audit log as a table, rendered on the server (no script): the filter form, one
    page of events, the link to older ones and the CSV export with the same filters."""
    args = {k: v for k, v in request.args.to_dict().items() if k in FILTERS and v}
    error = None
    try:
        query = audit.parse_query(args, default_limit=PAGE_SIZE)
        page = audit.list_events(planfuse(), query)
    except InvalidInput as exc:
        error, page = str(exc), {"events": [], "next_before": None}
    filters = {k: v for k, v in args.items() if k != "before"}
    older = (
        url_for("admin.audit_page", **filters, before=page["next_before"])
        if page["next_before"]
        else None
    )
    return render_template(
        "admin/audit.html",
        admin=g.admin,
        config={"csrf_token": csrf_token()},
        filters=filters,
        things=sorted({a.split(".")[0] for a in audit.ACTIONS}),
        actions=audit.ACTIONS,
        events=[
            {**e, "detail_text": json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else ""}
            for e in page["events"]
        ],
        error=error,
        older_url=older,
        export_url=url_for("admin.audit_csv", **filters),
    )


@routes.get("/audit.json")
def audit_json():
    require_signed_in()
    return _events()


@routes.get("/audit.csv")
def audit_csv():
    require_signed_in()
    return _export()
