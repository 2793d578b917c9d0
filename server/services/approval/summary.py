"""The case summary (联合审查意见汇总): what the departments decided on which evidence, signed
by the server like a compliance report (ES256 JWS, keys at the JWKS URL) so a portal or an
archive can prove it later, and the same as an XLSX workbook.

The summary is signed when asked for; it names the evidence by its SHA-256 and the
compliance report by id, and each department's opinion, conditions and reasons.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Mapping
from typing import Any

import orjson

from planfuse.auth.caller import Caller
from planfuse.context import PlanFuse
from planfuse.services.approval.cases import case_evidence, case_history, get_case
from planfuse.signing.server_keys import ALGORITHM, fingerprint, sign_claims

JWKS_PATH = "/api/v1/compliance/jwks.json"
SIGNED_TYPE = "planfuse-approval+jwt"
#: A summary's signature is valid this long; ask again for a fresh one.
SUMMARY_TTL_S = 86_400
OPINION_NAMES = {
    "zh-CN": {
        "agree": "同意",
        "agree_with_conditions": "有条件同意",
        "disagree": "不同意",
        None: "待办",
    },
    "en": {
        "agree": "Agree",
        "agree_with_conditions": "Agree with conditions",
        "disagree": "Disagree",
        None: "Pending",
    },
}
STATE_NAMES = {
    "zh-CN": {
        "open": "办理中",
        "closed_approved": "已办结（通过）",
        "closed_rejected": "已办结（不通过）",
        "withdrawn": "已撤回",
    },
    "en": {
        "open": "Open",
        "closed_approved": "Closed: approved",
        "closed_rejected": "Closed: rejected",
        "withdrawn": "Withdrawn",
    },
}


def summary_claims(case: Mapping[str, Any], audience: str) -> dict[str, Any]:
    """The signed claims: the case, its outcome, the evidence's identity and every
    department's opinion (no geometry)."""
    now = int(time.time())
    return {
        "iss": "planfuse",
        "aud": audience,
        "sub": case["id"],
        "iat": now,
        "exp": now + SUMMARY_TTL_S,
        "jti": f"{case['id']}:{now}",
        "approval": {
            "id": case["id"],
            "state": case["state"],
            "app": case["app"],
            "project": case["project"],
            "due": case["due"],
            "opened_at": case["opened_at"],
            "closed_at": case["closed_at"],
            "outcome": case["outcome"],
            "outcome_rule": case["outcome_rule"],
            "evidence": case["evidence"],
            "departments": [
                {
                    "dept": d["dept"],
                    "app": d["app"],
                    "due": d["due"],
                    "overdue": d["overdue"],
                    "opinion": d["opinion"],
                    "revisions": d["revisions"],
                    "conditions": d["conditions"],
                    "reasons": d["reasons"],
                    "attachments": [
                        {"id": a["id"], "filename": a["filename"], "sha256": a["sha256"]}
                        for a in d["attachments"]
                    ],
                    "user": d["user"],
                    "answered_at": d["answered_at"],
                }
                for d in case["departments"]
            ],
        },
    }


def signed_summary(ctx: PlanFuse, caller: Caller, case_id: Any) -> dict[str, Any]:
    """The case summary with its signature: `{"summary": …, "signature": {alg, kid, jws,
    jwks_url, fingerprint}}`; the JWS carries the same summary as its `approval` claim."""
    case = get_case(ctx, caller, case_id)
    claims = summary_claims(case, caller.app_id)
    jws = sign_claims(ctx, claims, typ=SIGNED_TYPE)
    header = orjson.loads(_b64(jws.split(".", 1)[0]))
    return {
        "summary": claims["approval"],
        "signature": {
            "alg": ALGORITHM,
            "kid": header["kid"],
            "jws": jws,
            "jwks_url": JWKS_PATH,
            "fingerprint": fingerprint(jws),
        },
    }


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _safe(value: Any) -> Any:
    """Text a spreadsheet would run as a formula gets a leading apostrophe (opinions and
    reasons are free text typed by users)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


LABELS = {
    "zh-CN": {
        "sheet": "联合审查意见",
        "title": "联合审查意见汇总",
        "case": "审批件编号",
        "project": "项目",
        "state": "办理状态",
        "opened": "开件时间",
        "due": "办理期限",
        "closed": "办结时间",
        "reason": "办结理由",
        "verdict": "合规审查结论",
        "report": "合规审查报告",
        "sha": "证据指纹（SHA-256）",
        "conflicts": "涉及红线的冲突图斑",
        "fingerprint": "签名指纹",
        "columns": [
            "序号",
            "部门",
            "办理期限",
            "是否超期",
            "意见",
            "修改次数",
            "附加条件",
            "理由",
            "附件",
            "经办人",
            "答复时间",
        ],
        "history": "办理记录",
        "history_columns": ["时间", "事项", "部门", "意见", "次数", "经办人", "说明"],
        "yes": "是",
        "no": "否",
    },
    "en": {
        "sheet": "Joint opinion",
        "title": "Joint review opinion summary",
        "case": "Case",
        "project": "Project",
        "state": "State",
        "opened": "Opened",
        "due": "Deadline",
        "closed": "Closed",
        "reason": "Closing reason",
        "verdict": "Compliance verdict",
        "report": "Compliance report",
        "sha": "Evidence fingerprint (SHA-256)",
        "conflicts": "Conflict patches touching the red line",
        "fingerprint": "Signature fingerprint",
        "columns": [
            "No.",
            "Department",
            "Deadline",
            "Overdue",
            "Opinion",
            "Revisions",
            "Conditions",
            "Reasons",
            "Attachments",
            "By",
            "Answered at",
        ],
        "history": "History",
        "history_columns": ["At", "Action", "Department", "Opinion", "Revision", "By", "Note"],
        "yes": "yes",
        "no": "no",
    },
}


def summary_xlsx(
    ctx: PlanFuse, caller: Caller, case_id: Any, locale: str | None = None
) -> tuple[bytes, str]:
    """The summary as an XLSX workbook (the case, every department's opinion, the history)
    and its file name."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    loc = locale if locale in LABELS else "zh-CN"
    labels = LABELS[loc]
    signed = signed_summary(ctx, caller, case_id)
    case = signed["summary"]
    evidence = orjson.loads(case_evidence(ctx, caller, case_id))
    history = case_history(ctx, caller, case_id)
    wb = Workbook()
    ws = wb.active
    ws.title = labels["sheet"]
    bold = Font(bold=True)
    ws.append([labels["title"]])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    outcome = case["outcome"] or {}
    meta = [
        (labels["case"], case["id"]),
        (labels["project"], f"{case['project']['name']} ({case['project']['id']})"),
        (labels["state"], STATE_NAMES[loc][case["state"]]),
        (labels["opened"], case["opened_at"]),
        (labels["due"], case["due"]),
        (labels["closed"], case["closed_at"] or ""),
        (labels["reason"], outcome.get("reason") or ""),
        (
            labels["verdict"],
            (evidence["compliance"].get("verdict_name") or {}).get(loc)
            or evidence["compliance"]["verdict"],
        ),
        (labels["report"], case["evidence"]["compliance_report"]),
        (labels["conflicts"], case["evidence"]["conflict_count"]),
        (labels["sha"], case["evidence"]["sha256"]),
        (labels["fingerprint"], signed["signature"]["fingerprint"]),
    ]
    for label, value in meta:
        ws.append([label, _safe(value)])
        ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    header_row = ws.max_row + 1
    ws.append(labels["columns"])
    for cell in ws[header_row]:
        cell.font = bold
    for n, d in enumerate(case["departments"], start=1):
        ws.append(
            [
                n,
                _safe(d["dept"]),
                d["due"],
                labels["yes"] if d["overdue"] else labels["no"],
                OPINION_NAMES[loc][d["opinion"]],
                d["revisions"],
                _safe("\n".join(f"{i}. {c}" for i, c in enumerate(d["conditions"], start=1))),
                _safe(d["reasons"] or ""),
                _safe("\n".join(a["filename"] for a in d["attachments"])),
                _safe(d["user"] or ""),
                d["answered_at"] or "",
            ]
        )
        for column in (7, 8, 9):
            ws.cell(row=ws.max_row, column=column).alignment = Alignment(
                wrap_text=True, vertical="top"
            )
    for i, width in enumerate([8, 22, 12, 10, 16, 10, 40, 40, 24, 16, 26], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    log = wb.create_sheet(labels["history"])
    log.append(labels["history_columns"])
    for cell in log[1]:
        cell.font = bold
    for e in history:
        log.append(
            [
                e["at"],
                e["action"],
                _safe(e.get("dept") or ""),
                OPINION_NAMES[loc].get(e.get("opinion"), "") if e["action"] == "opinion" else "",
                e.get("revision") or "",
                _safe(e.get("user_name") or e.get("user") or e["app"]),
                _safe(e.get("reasons") or e.get("note") or ""),
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), f"{case['id']}.xlsx"
