"""The annual evaluation report (年度评估报告) of a district or the city: every indicator
with its value, target, status and trend, the year's changes, and a summary a planner can
paste into the bureau's report. Stored as served and signed like compliance reports (ES256
over the figures; verify with `GET /api/v1/compliance/jwks.json`); read back, printed and
exported as XLSX. A report is visible only to the host app that made it.
"""

from __future__ import annotations

import base64
import hashlib
import io
import secrets
from typing import Any

import orjson
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.plan_monitoring import measure as M
from planfuse.services.plan_monitoring.changes import list_changes
from planfuse.services.plan_monitoring.indicators import CITY, list_indicators
from planfuse.services.plan_monitoring.status import STATUSES
from planfuse.services.plan_monitoring.values import CITY_NAMES, indicator_series
from planfuse.services.plan_monitoring.years import require_year, status_years
from planfuse.signing.server_keys import ALGORITHM, fingerprint, sign_claims
from planfuse.storage.models import MonitoringReport
from planfuse.storage.models.base import utcnow

SIGNED_TYPE = "planfuse-monitoring-report+jwt"
JWKS_PATH = "/api/v1/compliance/jwks.json"
STATUS_NAMES = {
    "normal": ("正常", "normal"),
    "warning": ("预警", "warning"),
    "exceeded": ("超标", "exceeded"),
    "below_target": ("不达标", "below target"),
    "no_target": ("无目标", "no target"),
    "no_data": ("无数据", "no data"),
}
ON_NAMES = {
    "basic_farmland": ("占用永久基本农田", "on basic farmland"),
    "ecological_redline": ("占用生态保护红线", "on the ecological red line"),
    "outside_urban_boundary": ("位于城镇开发边界外", "outside the urban boundary"),
}
TOP_CHANGES = 20
LIST_LIMIT = 100


def _area_name(ctx: PlanFuse, area: str) -> dict[str, str]:
    if area == CITY:
        return dict(CITY_NAMES)
    table = M.districts(ctx)
    if area not in table.adcodes:
        raise NotFound("district", area, code="unknown_district", hint="e.g. 500112")
    name = table.names[table.adcodes.index(area)]
    return {"zh-CN": name, "en": name}


def _indicator_rows(ctx: PlanFuse, year: int, area: str) -> list[dict[str, Any]]:
    first = status_years(ctx)[0]
    rows = []
    by = "city" if area == CITY else "district"
    districts = None if area == CITY else [area]
    for indicator in list_indicators(ctx):
        series = indicator_series(ctx, indicator["id"], first, year, by=by, districts=districts)
        (entry,) = series["series"]
        point = entry["points"][-1]
        projection = entry["projection"] or {}
        rows.append(
            {
                "id": indicator["id"],
                "version": indicator["version"],
                "name": indicator["name"],
                "unit": indicator["unit"],
                "direction": indicator["direction"],
                "value": point["value"],
                "target": point["target"],
                "target_year": point["target_year"],
                "ratio": point["ratio"],
                "status": point["status"],
                "change": point["change"],
                "rate_per_year": projection.get("rate_per_year"),
                "projected_year": projection.get("year"),
                "plan_target": projection.get("target"),
                "plan_target_year": projection.get("target_year"),
            }
        )
    return rows


def _change_summary(ctx: PlanFuse, year: int, area: str) -> dict[str, Any] | None:
    if not [y for y in status_years(ctx) if y < year]:
        return None
    districts = None if area == CITY else [area]
    found = list_changes(ctx, year, districts=districts, limit=5000, geometry=False)
    by_type: dict[str, float] = {}
    for c in found["changes"]:
        by_type[c["type"]] = round(by_type.get(c["type"], 0.0) + c["area_m2"], 2)
    return {
        "compared_with": found["compared_with"],
        "total": found["total"],
        "area_m2": found["area_m2"],
        "by_on": found["by_on"],
        "by_type": by_type,
        "largest": found["changes"][:TOP_CHANGES],
    }


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if unit in ("m2", "count") else f"{value:,.2f}"


def summary(
    year: int, name: dict[str, str], rows: list[dict[str, Any]], changes: dict[str, Any] | None
) -> dict[str, str]:
    """The report's summary in zh-CN and English, to paste into the bureau's report."""
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES}
    zh = [
        f"{year}年{name['zh-CN']}规划实施监测：{len(rows)}项约束性指标中，{counts['normal']}项正常，"
        f"{counts['warning']}项预警，{counts['exceeded']}项超标，{counts['below_target']}项不达标。"
    ]
    en = [
        f"Plan implementation in {name['en']}, {year}: of {len(rows)} binding indicators, "
        f"{counts['normal']} normal, {counts['warning']} warning, {counts['exceeded']} "
        f"exceeded, {counts['below_target']} below target."
    ]
    for r in rows:
        if r["status"] not in ("warning", "exceeded", "below_target"):
            continue
        zh_status, en_status = STATUS_NAMES[r["status"]]
        ratio = f"{r['ratio']:.1%}" if r["ratio"] is not None else "—"
        zh.append(
            f"{r['name']['zh-CN']}为{_number(r['value'], r['unit'])}（{r['unit']}），"
            f"{r['target_year']}年目标{_number(r['target'], r['unit'])}，"
            f"为目标的{ratio}，{zh_status}。"
        )
        en.append(
            f"{r['name'].get('en', r['name']['zh-CN'])} is {_number(r['value'], r['unit'])} "
            f"{r['unit']} against a {r['target_year']} target of "
            f"{_number(r['target'], r['unit'])} ({ratio}): {en_status}."
        )
    if changes:
        new = changes["by_type"].get("new_construction", 0.0)
        lost = changes["by_type"].get("lost_farmland", 0.0)
        zh_on = "、".join(
            f"{ON_NAMES[k][0]}{v:,.2f}平方米" for k, v in changes["by_on"].items() if k in ON_NAMES
        )
        en_on = ", ".join(
            f"{v:,.2f} m² {ON_NAMES[k][1]}" for k, v in changes["by_on"].items() if k in ON_NAMES
        )
        zh.append(
            f"较{changes['compared_with']}年新增建设用地{new:,.2f}平方米、耕地减少{lost:,.2f}平方米"
            + (f"，其中{zh_on}" if zh_on else "")
            + "。"
        )
        en.append(
            f"Since {changes['compared_with']}: {new:,.2f} m² of new construction land and "
            f"{lost:,.2f} m² of farmland lost" + (f", of which {en_on}" if en_on else "") + "."
        )
    return {"zh-CN": "".join(zh), "en": " ".join(en)}


def _claims(report: dict[str, Any]) -> dict[str, Any]:
    content = orjson.dumps(
        {k: v for k, v in report.items() if k != "signature"}, option=orjson.OPT_SORT_KEYS
    )
    return {
        "iss": "planfuse",
        "sub": report["id"],
        "iat": int(utcnow().timestamp()),
        "report": {
            "year": report["year"],
            "area": report["area"],
            "sha256": hashlib.sha256(content).hexdigest(),
            "indicators": [
                {"id": r["id"], "value": r["value"], "status": r["status"]}
                for r in report["indicators"]
            ],
        },
    }


def create_report(
    ctx: PlanFuse, year: int, area: str, *, app_id: str | None, created_by: str = ""
) -> dict[str, Any]:
    """Build, sign and store the report of `area` (`city` or an adcode) for `year`."""
    if isinstance(year, bool) or not isinstance(year, int):
        raise InvalidInput("year is a monitoring year such as 2025", field="year")
    if not isinstance(area, str):
        raise InvalidInput("area is `city` or a district adcode", field="area")
    require_year(ctx, year)
    name = _area_name(ctx, area)
    rows = _indicator_rows(ctx, year, area)
    changes = _change_summary(ctx, year, area)
    created = utcnow()
    report: dict[str, Any] = {
        "id": "mr_" + secrets.token_hex(10),
        "year": year,
        "area": area,
        "area_name": name,
        "created_at": created.isoformat(),
        "created_by": created_by,
        "indicators": rows,
        "counts": {s: sum(1 for r in rows if r["status"] == s) for s in STATUSES},
        "changes": changes,
        "summary": summary(year, name, rows, changes),
    }
    jws = sign_claims(ctx, _claims(report), typ=SIGNED_TYPE)
    header = orjson.loads(base64.urlsafe_b64decode(jws.split(".", 1)[0] + "=="))
    report["signature"] = {
        "alg": ALGORITHM,
        "kid": header["kid"],
        "jws": jws,
        "jwks_url": JWKS_PATH,
        "fingerprint": fingerprint(jws),
    }
    with ctx.db.session() as session:
        session.add(
            MonitoringReport(
                id=report["id"],
                app_id=app_id,
                created_by=created_by[:200],
                created_at=created,
                year=year,
                area=area,
                result=orjson.dumps(report),
                jws=jws,
                kid=header["kid"],
            )
        )
    return report


def get_report(ctx: PlanFuse, report_id: str, app_id: str | None) -> dict[str, Any]:
    """A stored report, as it was served; another app's answers as one that does not exist."""
    with ctx.db.session() as session:
        row = session.get(MonitoringReport, report_id) if len(report_id) <= 40 else None
        if row is None or row.app_id != app_id:
            raise NotFound("monitoring report", report_id)
        return orjson.loads(bytes(row.result))


def list_reports(ctx: PlanFuse, app_id: str | None) -> list[dict[str, Any]]:
    """The app's reports, newest first (summaries)."""
    with ctx.db.session() as session:
        rows = session.execute(
            select(
                MonitoringReport.id,
                MonitoringReport.year,
                MonitoringReport.area,
                MonitoringReport.created_at,
                MonitoringReport.created_by,
            )
            .where(MonitoringReport.app_id == app_id)
            .order_by(MonitoringReport.created_at.desc())
            .limit(LIST_LIMIT)
        ).all()
    return [
        {
            "id": r.id,
            "year": r.year,
            "area": r.area,
            "created_at": r.created_at.isoformat(),
            "created_by": r.created_by,
        }
        for r in rows
    ]


def report_xlsx(report: dict[str, Any], locale: str = "zh-CN") -> bytes:
    """The report as a workbook: the indicators sheet, the changes sheet, the summary."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    zh = locale != "en"
    wb = Workbook()
    sheet = wb.active
    sheet.title = "指标" if zh else "Indicators"
    title = (
        f"{report['year']}年{report['area_name']['zh-CN']}规划实施年度评估报告"
        if zh
        else (f"Annual evaluation report, {report['area_name']['en']}, {report['year']}")
    )
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([("报告编号 " if zh else "Report ") + report["id"], report["created_at"]])
    sheet.append([])
    head = (
        [
            "指标",
            "单位",
            "方向",
            "现状值",
            "目标值",
            "目标年",
            "比例",
            "状态",
            "年度变化",
            "年均变化",
            "预计达到目标年份",
        ]
        if zh
        else [
            "Indicator",
            "Unit",
            "Bound",
            "Value",
            "Target",
            "Target year",
            "Ratio",
            "Status",
            "Change",
            "Rate per year",
            "Projected year",
        ]
    )
    sheet.append(head)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for r in report["indicators"]:
        name = r["name"]["zh-CN"] if zh else r["name"].get("en", r["name"]["zh-CN"])
        status = STATUS_NAMES[r["status"]][0 if zh else 1]
        direction = {"upper": ("上限", "upper"), "lower": ("下限", "lower")}[r["direction"]]
        sheet.append(
            [
                name,
                r["unit"],
                direction[0 if zh else 1],
                r["value"],
                r["target"],
                r["target_year"],
                r["ratio"],
                status,
                r["change"],
                r["rate_per_year"],
                r["projected_year"],
            ]
        )
        sheet.cell(sheet.max_row, 7).number_format = "0.0%"
    for column, width in zip(
        "ABCDEFGHIJK", (26, 8, 8, 18, 18, 10, 10, 10, 16, 16, 14), strict=True
    ):
        sheet.column_dimensions[column].width = width
    changes = wb.create_sheet("变化图斑" if zh else "Changes")
    changes.append(
        ["编号", "类型", "位置", "区县", "面积（m²）", "原地类", "现地类"]
        if zh
        else ["Id", "Type", "Where", "District", "Area (m²)", "From", "To"]
    )
    for c in (report["changes"] or {}).get("largest", []):
        changes.append(
            [
                c["id"],
                c["type"],
                c["on"] or "",
                c["district"],
                c["area_m2"],
                c["from_code"],
                c["to_code"],
            ]
        )
    text = wb.create_sheet("摘要" if zh else "Summary")
    text.append([report["summary"]["zh-CN" if zh else "en"]])
    text.append(
        [("签名指纹 " if zh else "Signature fingerprint ") + report["signature"]["fingerprint"]]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
