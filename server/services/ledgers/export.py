"""Ledger export as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese) and
XLSX (openpyxl): the same table the API returns, with district subtotals, class totals
and the grand total as extra rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

HEADERS = {
    "zh-CN": {
        "district": "区县代码",
        "district_name": "区县",
        "district_area_ha": "区县面积（公顷）",
        "group": "分类代码",
        "group_name": "分类",
        "count": "图斑数",
        "area_ha": "面积（公顷）",
        "share_pct": "占比（%）",
        "subtotal": "小计",
        "total": "合计",
        "city": "全市",
    },
    "en": {
        "district": "District code",
        "district_name": "District",
        "district_area_ha": "District area (ha)",
        "group": "Class code",
        "group_name": "Class",
        "count": "Patches",
        "area_ha": "Area (ha)",
        "share_pct": "Share (%)",
        "subtotal": "Subtotal",
        "total": "Total",
        "city": "City",
    },
}
DISTRICT_COLUMNS = (
    "district",
    "district_name",
    "district_area_ha",
    "group",
    "group_name",
    "count",
    "area_ha",
    "share_pct",
)
CITY_COLUMNS = ("group", "group_name", "count", "area_ha", "share_pct")
NUMERIC = {"district_area_ha", "area_ha", "share_pct"}


def _rows(body: dict[str, Any], locale: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(style, row) in print order: "row", "subtotal" or "total"."""
    h = HEADERS[locale]
    if body["by"] == "city":
        for row in body["rows"]:
            yield "row", row
        if "total" in body:
            yield "total", {"group": "", "group_name": h["total"], **body["total"]}
        return
    by_district: dict[Any, list[dict[str, Any]]] = {}
    for row in body["rows"]:
        by_district.setdefault(row["district"], []).append(row)
    subtotals = body.get("subtotals")
    if subtotals is not None:
        for sub in subtotals:
            yield from (("row", r) for r in by_district.get(sub["district"], []))
            yield "subtotal", {**sub, "group": "", "group_name": h["subtotal"]}
    else:
        for rows in by_district.values():
            yield from (("row", r) for r in rows)
    for total in body.get("group_totals", []):
        yield "total", {"district": "", "district_name": h["city"], **total}
    if "total" in body:
        yield (
            "total",
            {"district": "", "district_name": h["city"], "group": "", "group_name": h["total"]}
            | body["total"],
        )


def _safe(value: Any) -> Any:
    # A cell starting with = + - @ would be run as a formula by a spreadsheet program.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_cell(column: str, value: Any) -> Any:
    if value is None:
        return ""
    if column in NUMERIC:
        return f"{value:.2f}"
    return _safe(value)


def columns(body: dict[str, Any]) -> tuple[str, ...]:
    return CITY_COLUMNS if body["by"] == "city" else DISTRICT_COLUMNS


def ledger_csv(body: dict[str, Any], locale: str = "zh-CN") -> bytes:
    """The ledger as CSV bytes (UTF-8 with BOM)."""
    cols = columns(body)
    h = HEADERS[locale]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h[c] for c in cols])
    for _style, row in _rows(body, locale):
        writer.writerow([_csv_cell(c, row.get(c)) for c in cols])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def ledger_xlsx(body: dict[str, Any], locale: str = "zh-CN") -> bytes:
    """The ledger as an XLSX workbook (one sheet, title row, bold totals, 0.00 formats)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    cols = columns(body)
    h = HEADERS[locale]
    wb = Workbook()
    ws = wb.active
    ws.title = "ledger" if locale == "en" else "台账"
    title = body["title"] + (" · " + (h["city"] if body["by"] == "city" else h["district_name"]))
    ws.append([title])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(cols))
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([h[c] for c in cols])
    header_fill = PatternFill("solid", fgColor="E8EEF5")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for style, row in _rows(body, locale):
        ws.append([_safe(row.get(c)) for c in cols])
        current = ws.max_row
        for k, c in enumerate(cols, start=1):
            cell = ws.cell(row=current, column=k)
            if c in NUMERIC:
                cell.number_format = "0.00"
            if style != "row":
                cell.font = Font(bold=True)
    for k, c in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(k)].width = 22 if "name" in c else 14
    ws.freeze_panes = "A3"
    ws.append([])
    ws.append([body.get("rounding", "")])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
