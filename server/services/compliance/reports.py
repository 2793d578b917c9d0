"""Stored compliance reports: read (scoped to the caller's host app), list, and export the
checklist as CSV or XLSX.

A report is visible only to the host app that ran the check: another app asking for it
gets the same NotFound as for an id that does not exist (nothing to probe). Within an
app, a widget user sees only their own reports (`user`), as with siting plans; the host's
backend sees all of its app's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.storage.models import ComplianceReport

#: 1 亩 = 10000/15 m² (666.67 m²): reviewers think in mu.
M2_PER_MU = 10_000.0 / 15.0
REPORT_ID_MAX = 40
LIST_LIMIT_MAX = 200


def _row(ctx: PlanFuse, report_id: str, app_id: str | None, user: str | None) -> ComplianceReport:
    if not isinstance(report_id, str) or len(report_id) > REPORT_ID_MAX:
        raise NotFound("report", str(report_id)[:REPORT_ID_MAX])
    with ctx.db.session() as session:
        row = session.get(ComplianceReport, report_id)
        if row is None or row.app_id is None or row.app_id != app_id:
            raise NotFound("report", report_id)
        # Another user's report answers as one that does not exist (nothing to probe).
        if user is not None and row.user != user:
            raise NotFound("report", report_id)
        session.expunge(row)
    return row


def report_json(
    ctx: PlanFuse, report_id: str, app_id: str | None, user: str | None = None
) -> bytes:
    """The stored report exactly as it was returned by the check (JSON bytes).

    `user`: when given (a widget session's user), only a report that user ran."""
    return bytes(_row(ctx, report_id, app_id, user).result)


def check_list_limit(limit: int) -> None:
    """InvalidInput unless `limit` (rows of a list of reports or projects) is 1–200."""
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(
            f"limit must be between 1 and {LIST_LIMIT_MAX}",
            errors=[{"field": "limit", "message": f"1–{LIST_LIMIT_MAX}"}],
        )


def get_report(
    ctx: PlanFuse, report_id: str, app_id: str | None, user: str | None = None
) -> dict[str, Any]:
    """The stored report as a dict (`user` as for `report_json`)."""
    return orjson.loads(report_json(ctx, report_id, app_id, user))


def list_reports(
    ctx: PlanFuse,
    app_id: str,
    *,
    project_id: str | None = None,
    user: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The app's reports, newest first (summaries, no geometry)."""
    check_list_limit(limit)
    query = (
        select(
            ComplianceReport.id,
            ComplianceReport.created_at,
            ComplianceReport.user,
            ComplianceReport.project_id,
            ComplianceReport.verdict,
            ComplianceReport.project_area_m2,
            ComplianceReport.land_use,
            ComplianceReport.project_type,
            ComplianceReport.ruleset_id,
            ComplianceReport.ruleset_version,
        )
        .where(ComplianceReport.app_id == app_id)
        .order_by(ComplianceReport.created_at.desc())
        .limit(limit)
    )
    if project_id:
        query = query.where(ComplianceReport.project_id == project_id)
    if user:
        query = query.where(ComplianceReport.user == user)
    with ctx.db.session() as session:
        rows = session.execute(query).all()
    return [
        {
            "id": r.id,
            "created_at": r.created_at.isoformat(),
            "user": r.user,
            "project_id": r.project_id,
            "verdict": r.verdict,
            "project_area_m2": r.project_area_m2,
            "land_use": r.land_use,
            "project_type": r.project_type,
            "ruleset": {"id": r.ruleset_id, "version": r.ruleset_version},
        }
        for r in rows
    ]


# --- export -----------------------------------------------------------------------------

EXPORT_COLUMNS = {
    "zh-CN": [
        "序号",
        "审查项",
        "规则",
        "结论",
        "状态码",
        "面积（m²）",
        "面积（亩）",
        "占项目面积比例",
        "涉及图斑数",
        "说明",
    ],
    "en": [
        "No.",
        "Item",
        "Rule",
        "Result",
        "Status code",
        "Area (m²)",
        "Area (mu)",
        "Share of project",
        "Features",
        "Explanation",
    ],
}
META_LABELS = {
    "zh-CN": {
        "report": "审查报告编号",
        "created": "审查时间",
        "verdict": "综合结论",
        "area": "项目面积（m²）",
        "area_mu": "项目面积（亩）",
        "land_use": "申请用途",
        "type": "项目类型",
        "crs": "坐标系",
        "ruleset": "审查规则",
        "fingerprint": "签名指纹",
    },
    "en": {
        "report": "Report",
        "created": "Checked at",
        "verdict": "Verdict",
        "area": "Project area (m²)",
        "area_mu": "Project area (mu)",
        "land_use": "Requested land use",
        "type": "Project type",
        "crs": "CRS",
        "ruleset": "Ruleset",
        "fingerprint": "Signature fingerprint",
    },
}


def _locale(locale: str | None) -> str:
    return locale if locale in EXPORT_COLUMNS else "zh-CN"


def export_rows(report: Mapping[str, Any], locale: str | None = None) -> list[list[Any]]:
    """The checklist as table rows (header first): one row per item with its status, area
    in m² and mu and share of the project."""
    loc = _locale(locale)
    rows: list[list[Any]] = [list(EXPORT_COLUMNS[loc])]
    for n, item in enumerate(report["items"], start=1):
        area = float(item["overlap_area_m2"])
        rows.append(
            [
                n,
                item["title"].get(loc) or item["title"]["zh-CN"],
                item["rule"],
                item["status_name"].get(loc) or item["status"],
                item["status"],
                round(area, 2),
                round(area / M2_PER_MU, 4),
                round(float(item["overlap_ratio"]), 6),
                int(item["feature_count"]),
                item["reason"].get(loc) or item["reason"]["zh-CN"],
            ]
        )
    return rows


def _meta(report: Mapping[str, Any], loc: str) -> list[tuple[str, Any]]:
    labels = META_LABELS[loc]
    land_use = report["land_use"]
    return [
        (labels["report"], report["id"]),
        (labels["created"], report["created_at"]),
        (labels["verdict"], f"{report['verdict_name'].get(loc)} ({report['verdict']})"),
        (labels["area"], report["project_area_m2"]),
        (labels["area_mu"], round(report["project_area_m2"] / M2_PER_MU, 4)),
        (labels["land_use"], f"{land_use['code']} {land_use['name'].get(loc)}"),
        (labels["type"], report["project_type"]),
        (labels["crs"], report["input"]["crs"]),
        (labels["ruleset"], f"{report['ruleset']['id']} v{report['ruleset']['version']}"),
        (labels["fingerprint"], (report.get("signature") or {}).get("fingerprint")),
    ]


def _safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe (CSV
    injection: report texts carry attribute values from imported data)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(report: Mapping[str, Any], locale: str | None = None) -> bytes:
    """The checklist as CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in export_rows(report, locale):
        writer.writerow([_safe_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(report: Mapping[str, Any], locale: str | None = None) -> bytes:
    """The checklist as an XLSX workbook: a summary block, then the items table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    loc = _locale(locale)
    wb = Workbook()
    ws = wb.active
    ws.title = "合规审查" if loc == "zh-CN" else "Compliance"
    bold = Font(bold=True)
    for label, value in _meta(report, loc):
        ws.append([label, _safe_cell(value)])
        ws.cell(row=ws.max_row, column=1).font = bold
    ws.append([])
    header_row = ws.max_row + 1
    for row in export_rows(report, loc):
        ws.append([_safe_cell(v) for v in row])
    for cell in ws[header_row]:
        cell.font = bold
    for row in ws.iter_rows(min_row=header_row + 1):
        row[5].number_format = "#,##0.00"
        row[6].number_format = "#,##0.0000"
        row[7].number_format = "0.00%"
        row[9].alignment = Alignment(wrap_text=True, vertical="top")
    widths = [8, 18, 20, 14, 16, 16, 14, 14, 10, 60]
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
