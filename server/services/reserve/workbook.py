"""The reserve as an XLSX workbook, in the layout the bureaus keep their 项目储备库:
one sheet 「项目储备库」, a header row, one project per row, one column per funding year.

| column | header (zh-CN) | meaning |
| --- | --- | --- |
| A | 序号 | row number; `#N` in 前置项目 refers to the row whose 序号 is N |
| B | 项目编号 | the project id (blank: a new project; an id: that project is updated) |
| C | 项目名称 | name |
| D | 项目类型 | 城镇建设 / 线性工程 / 重大项目 / 其他 (or urban, linear, major, other) |
| E | 提出部门 | department id, e.g. natural_resources |
| F | 区县代码 | district adcode, e.g. 500112 |
| G | 规划用途 | 用地用海 code, e.g. 0801 |
| H | 用地面积（平方米） | land needed, m² |
| I | 优先级 | 1–5 |
| J | 前置项目 | ids or `#序号`, separated by 、 or commas |
| K | 最早开工年份 | |
| L | 最晚开工年份 | |
| M | 红线坐标系 | e.g. EPSG:4490, EPSG:4524, GCJ-02 |
| N | 红线（WKT） | the red line as WKT, blank when there is none yet |
| O… | 2026年资金（万元）… | funds by year |

Export adds 预研结论 and 提出人 after the year columns; import ignores them. Import is
atomic: every row is checked first, and one bad cell stores nothing; the problem names the
row (as Excel numbers it) and the column (letter and header).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import shapely
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, InvalidInput, NotFound, TooLarge
from planfuse.geo.errors import GeoError
from planfuse.services.reserve.fields import ProjectInput, check_project_body
from planfuse.services.reserve.graph import check_dependencies
from planfuse.services.reserve.projects import (
    Scope,
    _apply,
    _edges,
    _visible_ids,
    check_dept,
    check_district,
    district_codes,
    load,
    red_line,
)
from planfuse.storage.models.base import utcnow
from planfuse.storage.models.reserve import ReserveProject

SHEET = "项目储备库"
#: (key, zh-CN header, English header) of the fixed columns, in order.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("row", "序号", "No."),
    ("id", "项目编号", "Project id"),
    ("name", "项目名称", "Name"),
    ("type", "项目类型", "Type"),
    ("dept", "提出部门", "Department"),
    ("district", "区县代码", "District"),
    ("land_use", "规划用途", "Land use"),
    ("area_m2", "用地面积（平方米）", "Land needed (m²)"),
    ("priority", "优先级", "Priority"),
    ("depends_on", "前置项目", "Depends on"),
    ("earliest_year", "最早开工年份", "Earliest start year"),
    ("latest_year", "最晚开工年份", "Latest start year"),
    ("crs", "红线坐标系", "Red line CRS"),
    ("geometry", "红线（WKT）", "Red line (WKT)"),
)
#: Columns export writes after the years and import ignores.
EXPORT_ONLY = (
    ("pre_study_status", "预研结论", "Pre-study"),
    ("user", "提出人", "Proposed by"),
)
TYPE_NAMES = {"城镇建设": "urban", "线性工程": "linear", "重大项目": "major", "其他": "other"}
TYPE_LABELS = {v: k for k, v in TYPE_NAMES.items()}
STATUS_LABELS = {"landable": "可落地", "needs_adjustment": "需调整", "not_landable": "不可落地"}
YEAR_HEADER = re.compile(r"^\s*(\d{4})\s*(年资金|年)?\s*(（万元）|\(万元\)|funds.*)?\s*$", re.I)
#: Most rows one import may carry.
ROWS_MAX = 5000
#: Longest text a spreadsheet cell holds.
CELL_MAX = 32767
#: Most problems listed in one answer.
PROBLEMS_MAX = 100


def _header_keys() -> dict[str, str]:
    keys = {}
    for key, zh, en in COLUMNS + EXPORT_ONLY:
        keys[zh] = key
        keys[en.lower()] = key
        keys[key] = key
    return keys


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- export ----------------------------------------------------------------------------------


def _wkt(row: ReserveProject) -> str:
    if row.source_geojson is None:
        return ""
    text = shapely.to_wkt(shapely.geometry.shape(row.source_geojson), rounding_precision=-1)
    if len(text) <= CELL_MAX:
        return text
    raise TooLarge(
        f"the red line of project {row.id} has {len(text):,} characters of WKT, more than a "
        f"spreadsheet cell holds ({CELL_MAX:,}); read it through the API instead",
        code="red_line_too_large_for_xlsx",
    )


def export_workbook(rows: list[ReserveProject]) -> bytes:
    """The projects as an XLSX workbook in the layout above (years: every funded year)."""
    years = sorted({y for r in rows for y in (r.funds or {})})
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    header = [zh for _, zh, _ in COLUMNS] + [f"{y}年资金（万元）" for y in years]
    header += [zh for _, zh, _ in EXPORT_ONLY]
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for n, r in enumerate(rows, start=1):
        deps = "、".join(str(d) for d in r.depends_on or [])
        ws.append(
            [
                n,
                r.id,
                r.name,
                TYPE_LABELS.get(r.project_type, r.project_type),
                r.dept,
                r.district,
                r.land_use,
                r.area_m2,
                r.priority,
                deps,
                r.earliest_year,
                r.latest_year,
                r.source_crs or "",
                _wkt(r),
                *[(r.funds or {}).get(y) for y in years],
                STATUS_LABELS.get(r.pre_study_status or "", ""),
                r.user_id,
            ]
        )
    # Text columns stay text: a WKT or a name starting with "=" is data, not a formula.
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for i, width in enumerate([6, 10, 30, 10, 20, 10, 10, 16, 8, 14, 12, 12, 14, 40], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportRow:
    """One checked row: its Excel row number, 序号, target id (None: new) and the project."""

    excel_row: int
    number: str
    project_id: int | None
    data: ProjectInput
    deps: list[str]
    red: Any = None


class _Sheet:
    """The header of the sheet: which column holds what."""

    def __init__(self, header: list[Any]) -> None:
        known = _header_keys()
        self.columns: dict[str, int] = {}
        self.years: dict[int, str] = {}
        self.problems: list[dict[str, Any]] = []
        for i, value in enumerate(header):
            text = _cell_text(value)
            if not text:
                continue
            key = known.get(text) or known.get(text.lower())
            match = YEAR_HEADER.match(text)
            if key is not None:
                self.columns[key] = i
            elif match:
                self.years[i] = match.group(1)
            else:
                self.problems.append(
                    {
                        "row": 1,
                        "column": get_column_letter(i + 1),
                        "header": text,
                        "message": "unknown column; expected one of "
                        + ", ".join(zh for _, zh, _ in COLUMNS)
                        + " or a year such as 2026年资金（万元）",
                    }
                )
        for key in ("name", "type", "dept", "district", "land_use", "area_m2", "priority"):
            if key not in self.columns:
                zh = next(z for k, z, _ in COLUMNS if k == key)
                self.problems.append({"row": 1, "header": zh, "message": "column missing"})

    def where(self, field: str) -> dict[str, Any]:
        """The column (letter and header) a field of the create body comes from."""
        base = re.split(r"[.\[]", field, maxsplit=1)[0]
        if base == "funds" and "." in field:
            year = field.split(".", 1)[1]
            for i, y in self.years.items():
                if y == year:
                    return {"column": get_column_letter(i + 1), "header": f"{y}年资金（万元）"}
        if base in self.columns:
            zh = next(z for k, z, _ in COLUMNS if k == base)
            return {"column": get_column_letter(self.columns[base] + 1), "header": zh}
        return {}

    def value(self, cells: tuple, key: str) -> Any:
        i = self.columns.get(key)
        return cells[i] if i is not None and i < len(cells) else None


def _number(value: Any) -> Any:
    """A numeric cell as a number; numeric text (e.g. "1,200") too; anything else as is."""
    if isinstance(value, str):
        text = value.strip().replace(",", "")
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _body(sheet: _Sheet, cells: tuple) -> tuple[dict[str, Any], list[str]]:
    v = sheet.value
    type_text = _cell_text(v(cells, "type"))
    body: dict[str, Any] = {
        "name": _cell_text(v(cells, "name")),
        "type": TYPE_NAMES.get(type_text, type_text),
        "dept": _cell_text(v(cells, "dept")),
        "district": _cell_text(v(cells, "district")),
        "land_use": _cell_text(v(cells, "land_use")),
        "area_m2": _number(v(cells, "area_m2")),
        "priority": _number(v(cells, "priority")),
        "funds": {},
    }
    for key in ("earliest_year", "latest_year"):
        value = v(cells, key)
        if _cell_text(value):
            body[key] = _number(value)
    for i, year in sheet.years.items():
        value = cells[i] if i < len(cells) else None
        if _cell_text(value):
            body["funds"][year] = _number(value)
    wkt = _cell_text(v(cells, "geometry"))
    if wkt:
        body["geometry"] = wkt
        body["crs"] = _cell_text(v(cells, "crs")) or None
    deps = [d for d in re.split(r"[、,，;；\s]+", _cell_text(v(cells, "depends_on"))) if d]
    return body, deps


def _row_problems(sheet: _Sheet, excel_row: int, exc: Exception, field: str | None = None):
    errors = getattr(exc, "errors", None) or [{"message": str(exc)}]
    out = []
    for err in errors:
        if not isinstance(err, dict):
            err = err.to_dict()
        name = field or err.get("field") or ""
        message = err.get("message") or str(exc)
        out.append({"row": excel_row, **sheet.where(name), "field": name, "message": message})
    return out


def _check_rows(ctx: PlanFuse, scope: Scope, sheet: _Sheet, rows: list[tuple]) -> list[ImportRow]:
    _raise(sheet.problems)  # rows cannot be read against a wrong header
    problems: list[dict[str, Any]] = []
    checked: list[ImportRow] = []
    seen_numbers: dict[str, int] = {}
    known_districts = district_codes(ctx)
    for offset, cells in enumerate(rows):
        excel_row = offset + 2
        if not any(_cell_text(c) for c in cells):
            continue
        number = _cell_text(sheet.value(cells, "row")) or str(offset + 1)
        if number in seen_numbers:
            problems.append(
                {"row": excel_row, **sheet.where("row"), "message": f"序号 {number} repeats"}
            )
        seen_numbers[number] = excel_row
        id_text = _cell_text(sheet.value(cells, "id"))
        project_id = None
        if id_text:
            if not id_text.isdigit():
                problems.append(
                    {"row": excel_row, **sheet.where("id"), "message": "a project id or blank"}
                )
                continue
            project_id = int(id_text)
        body, deps = _body(sheet, cells)
        try:
            data = check_project_body(body)
        except InvalidInput as exc:
            problems.extend(_row_problems(sheet, excel_row, exc))
            continue
        try:
            scope.check_locks(data)
            check_dept(ctx, data.dept)
            if known_districts is not None:
                check_district(ctx, data.district)
            red = red_line(ctx, data)
        except (InvalidInput, Forbidden, GeoError) as exc:
            code = getattr(exc, "code", "")
            name = {"unknown_district": "district", "unknown_department": "dept"}.get(
                code, "geometry"
            )
            if isinstance(exc, Forbidden):
                name = exc.errors[0]["field"]
            problems.extend(_row_problems(sheet, excel_row, exc, name))
            continue
        checked.append(ImportRow(excel_row, number, project_id, data, deps, red))
    _raise(problems)
    return checked


def _raise(problems: list[dict[str, Any]]) -> None:
    if not problems:
        return
    first = problems[0]
    where = f"row {first['row']}" + (
        f", column {first['column']} ({first['header']})" if first.get("column") else ""
    )
    raise InvalidInput(
        f"the workbook has {len(problems)} problem(s), nothing was imported; first at "
        f"{where}: {first['message']}",
        code="invalid_workbook",
        errors=problems[:PROBLEMS_MAX],
        title="Invalid workbook",
    )


def _read(data: bytes) -> tuple[_Sheet, list[tuple]]:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not XLSX
        raise InvalidInput(
            f"the file is not an XLSX workbook ({type(exc).__name__}); save it as .xlsx",
            code="invalid_workbook",
            field="file",
            title="Invalid workbook",
        ) from None
    ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise InvalidInput("the sheet is empty; the first row is the header", field="file")
    body = []
    for cells in rows:
        body.append(tuple(cells))
        if len(body) > ROWS_MAX:
            raise TooLarge(f"at most {ROWS_MAX:,} rows are imported at once; split the file")
    wb.close()
    return _Sheet(list(header)), body


def import_workbook(ctx: PlanFuse, scope: Scope, user_id: str, data: bytes) -> dict[str, Any]:
    """Create or update the projects of an XLSX workbook, all or nothing.

    Returns {"created": [ids], "updated": [ids], "rows": {excel row: id}}. Any bad cell —
    or a dependency on an unknown project or in a cycle — raises InvalidInput naming the
    row and column, and nothing is stored."""
    sheet, rows = _read(data)
    checked = _check_rows(ctx, scope, sheet, rows)
    numbers = {r.number: r for r in checked}
    now = utcnow()
    with ctx.db.write_session() as session:
        visible = _visible_ids(session, scope)
        problems: list[dict[str, Any]] = []
        stored: dict[int, ReserveProject] = {}
        for r in checked:
            if r.project_id is None:
                row = ReserveProject(
                    app_id=scope.app_id, user_id=user_id, created_at=now, updated_at=now
                )
                session.add(row)
            else:
                try:
                    row = load(session, scope, r.project_id)
                except NotFound:
                    problems.append(
                        {
                            "row": r.excel_row,
                            **sheet.where("id"),
                            "message": f"project {r.project_id} does not exist in this reserve",
                        }
                    )
                    continue
                row.updated_at = now
            _apply(row, r.data, r.red, keep_geom=False)
            stored[r.excel_row] = row
        _raise(problems)
        session.flush()
        edges = _edges(session, scope.app_id)
        for r in checked:
            row = stored[r.excel_row]
            deps = []
            for token in r.deps:
                if token.startswith("#") and token[1:] in numbers:
                    deps.append(stored[numbers[token[1:]].excel_row].id)
                elif token.isdigit() and int(token) in visible | {s.id for s in stored.values()}:
                    deps.append(int(token))
                else:
                    problems.append(
                        {
                            "row": r.excel_row,
                            **sheet.where("depends_on"),
                            "message": f"{token!r} is neither a project id of this reserve "
                            "nor #序号 of a row of this sheet",
                        }
                    )
            row.depends_on = sorted(set(deps))
            edges[row.id] = row.depends_on
        _raise(problems)
        try:
            check_dependencies(edges, set(edges))
        except InvalidInput as exc:
            by_id = {s.id: n for n, s in stored.items()}
            cycle = exc.errors[0].get("cycle") or []
            first = next((by_id[i] for i in cycle if i in by_id), None)
            _raise([{"row": first or 1, **sheet.where("depends_on"), "message": exc.message}])
        session.flush()
        created = [stored[r.excel_row].id for r in checked if r.project_id is None]
        updated = [r.project_id for r in checked if r.project_id is not None]
        return {
            "created": created,
            "updated": updated,
            "rows": {str(n): s.id for n, s in sorted(stored.items())},
        }
