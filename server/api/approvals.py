"""协同审批 (coordinated approval) over HTTP (server/api/openapi/approvals.yaml).

Callers: the `approval` widget (a session token of the portal's or a department's user)
or a host's backend (HTTP Basic). The portal (the opening app) opens, lists, closes and
withdraws its cases; a department's app sees a case only when the case names it, and a
department's user (token `dept` and role `approval_approver_role`) gives that department's
opinion. Locked parameters of the widget (`case`, `department`) are enforced in the
service (`planfuse.services.approval.access`).
"""

from __future__ import annotations

from flask import request

from planfuse.http.audit import audit_event
from planfuse.http.caller import require_caller
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body, request_locale
from planfuse.http.problems import bad_request
from planfuse.http.responses import NO_STORE, XLSX_TYPE, download, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.approval.attachments import add_attachment, get_attachment
from planfuse.services.approval.cases import (
    case_evidence,
    case_history,
    close_case,
    get_case,
    list_cases,
    open_case,
    withdraw_case,
)
from planfuse.services.approval.opinions import give_opinion
from planfuse.services.approval.summary import signed_summary, summary_xlsx

routes = RouteTable()

WIDGET = "approval"


@routes.post("/approvals")
def approvals_open():
    """Open a case for a registered project: `{"project", "departments", "due"}` → 201."""
    caller = require_caller(WIDGET)
    case = open_case(planfuse(), caller, json_body())
    audit_event(
        "approval.open",
        f"approval:{case['id']}",
        {"project": case["project"], "departments": [d["dept"] for d in case["departments"]]},
    )
    return json_response(case, 201, NO_STORE, location=f"approvals/{case['id']}")


@routes.get("/approvals")
def approvals_list():
    """The cases the caller may see, newest first (filters in the query)."""
    caller = require_caller(WIDGET)
    args = request.args.to_dict()
    args.pop("locale", None)
    return json_response(list_cases(planfuse(), caller, args), headers=NO_STORE)


@routes.get("/approvals/<case_id>")
def approvals_get(case_id: str):
    """One case: its state, departments with their opinions, deadlines and overdue marks."""
    caller = require_caller(WIDGET)
    return json_response(get_case(planfuse(), caller, case_id), headers=NO_STORE)


@routes.get("/approvals/<case_id>/evidence")
def approvals_evidence(case_id: str):
    """The evidence frozen when the case opened (compliance report, conflicts, project)."""
    caller = require_caller(WIDGET)
    return json_response(case_evidence(planfuse(), caller, case_id), headers=NO_STORE)


@routes.post("/approvals/<case_id>/opinions")
def approvals_opinion(case_id: str):
    """The caller's department's opinion (a new revision while the case is open)."""
    caller = require_caller(WIDGET)
    result = give_opinion(planfuse(), caller, case_id, json_body())
    opinion = result["opinion"]
    audit_event(
        "approval.opinion",
        f"approval:{case_id}",
        {"dept": opinion["dept"], "opinion": opinion["opinion"], "revision": opinion["revision"]},
    )
    return json_response(result, 201, NO_STORE)


@routes.get("/approvals/<case_id>/opinions")
def approvals_opinions(case_id: str):
    """Every opinion with every revision, oldest first."""
    caller = require_caller(WIDGET)
    ctx = planfuse()
    return json_response(
        {"id": case_id, "opinions": case_history(ctx, caller, case_id, "opinion")},
        headers=NO_STORE,
    )


@routes.get("/approvals/<case_id>/history")
def approvals_history(case_id: str):
    """The case's history (opened, opinions, closed or withdrawn), oldest first."""
    caller = require_caller(WIDGET)
    return json_response(
        {"id": case_id, "history": case_history(planfuse(), caller, case_id)}, headers=NO_STORE
    )


@routes.post("/approvals/<case_id>/close")
def approvals_close(case_id: str):
    """Close by the outcome rule, or override it: `{"state", "reason"}`."""
    caller = require_caller(WIDGET)
    case = close_case(planfuse(), caller, case_id, json_body(optional=True))
    audit_event("approval.close", f"approval:{case_id}", case["outcome"])
    return json_response(case, headers=NO_STORE)


@routes.post("/approvals/<case_id>/withdraw")
def approvals_withdraw(case_id: str):
    """Withdraw the case: `{"reason"}`."""
    caller = require_caller(WIDGET)
    return json_response(withdraw_case(planfuse(), caller, case_id, json_body()), headers=NO_STORE)


@routes.post("/approvals/<case_id>/attachments")
def approvals_attach(case_id: str):
    """Upload a file for the caller's department's opinion (multipart `file`; a backend
    also sends form field `dept`) → 201 with the attachment's id."""
    caller = require_caller(WIDGET)
    upload = request.files.get("file")
    if upload is None:
        raise bad_request(
            "send the file as multipart form field `file` (PDF, PNG, JPEG or a zipped shapefile)",
            field="file",
        )
    ctx = planfuse()
    # One byte over the cap is enough to refuse; the rest is never read into memory.
    data = upload.stream.read(int(ctx.settings.approval_attachment_max_bytes) + 1)
    result = add_attachment(
        ctx, caller, case_id, upload.filename, data, request.form.get("dept") or None
    )
    return json_response(
        result, 201, NO_STORE, location=f"approvals/{case_id}/attachments/{result['id']}"
    )


@routes.get("/approvals/<case_id>/attachments/<attachment_id>")
def approvals_attachment(case_id: str, attachment_id: str):
    """An attachment's bytes, as a download."""
    caller = require_caller(WIDGET)
    meta, data = get_attachment(planfuse(), caller, case_id, attachment_id)
    suffix = meta["filename"].rsplit(".", 1)[-1].lower()
    response = download(data, meta["media_type"], f"{meta['id']}.{suffix}", title=meta["filename"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@routes.get("/approvals/<case_id>/summary")
def approvals_summary(case_id: str):
    """The case summary (every department's opinion, the outcome, the evidence's identity),
    signed by the server (ES256 JWS; keys at /api/v1/compliance/jwks.json)."""
    caller = require_caller(WIDGET)
    return json_response(signed_summary(planfuse(), caller, case_id), headers=NO_STORE)


@routes.get("/approvals/<case_id>/summary.xlsx")
def approvals_summary_xlsx(case_id: str):
    """The case summary as an Excel workbook (`locale` zh-CN or en)."""
    caller = require_caller(WIDGET)
    body, name = summary_xlsx(planfuse(), caller, case_id, request_locale(caller.locale))
    return download(body, XLSX_TYPE, name)
