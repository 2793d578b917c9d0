"""The reserve's XLSX exchange on SQLite and PostgreSQL: the bureaus' layout, a round trip
that changes nothing, new rows depending on each other by 序号, and atomic import — one
bad cell stores nothing and the problem names its row and column."""

from __future__ import annotations

import io

import pytest
from embed_support import basic
from openpyxl import Workbook, load_workbook
from reserve_support import RED_LINE_4490, body, ensure_projects_widget, projects_session

URL = "/api/v1/reserve/projects"
HEADER = [
    "序号",
    "项目编号",
    "项目名称",
    "项目类型",
    "提出部门",
    "区县代码",
    "规划用途",
    "用地面积（平方米）",
    "优先级",
    "前置项目",
    "最早开工年份",
    "最晚开工年份",
    "红线坐标系",
    "红线（WKT）",
    "2026年资金（万元）",
    "2027年资金（万元）",
]
RED_WKT = "POLYGON ((106.45 29.5, 106.452 29.5, 106.452 29.5015, 106.45 29.5015, 106.45 29.5))"


@pytest.fixture
def api(embed_app, tmp_path):
    ensure_projects_widget(embed_app, tmp_path)
    return embed_app.test_client()


def workbook(*rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "项目储备库"
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(n, name, deps="", *, pid=None, area=20000, prio=3, wkt="", crs="", funds=(500, 800)):
    fixed = [n, pid, name, "城镇建设", "housing_construction", "500107", "0803", area, prio]
    return [*fixed, deps, 2026, 2030, crs, wkt, *funds]


def upload(api, headers, data: bytes):
    return api.post(
        f"{URL}/import",
        data={"file": (io.BytesIO(data), "reserve.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )


def stored(api, headers) -> list[dict]:
    return api.get(URL, headers=headers).get_json()["projects"]


def test_import_creates_projects_with_dependencies_by_row_number(api, host):
    s = projects_session(api, host)
    data = workbook(
        row(1, "道路一期"),
        row(2, "道路二期", "#1"),
        row(3, "学校", "#1、#2", wkt=RED_WKT, crs="EPSG:4490", funds=(None, 1200)),
    )
    r = upload(api, s, data)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert len(out["created"]) == 3 and out["updated"] == []
    one, two, three = out["created"]
    projects = {p["id"]: p for p in stored(api, s)}
    assert projects[two]["depends_on"] == [one]
    assert projects[three]["depends_on"] == [one, two]
    assert projects[three]["type"] == "urban" and projects[three]["has_red_line"]
    assert projects[three]["funds"] == {"2027": 1200.0}
    assert projects[three]["red_line_area_m2"] == pytest.approx(32_240, rel=0.01)


def test_export_is_the_import_layout_and_a_round_trip_changes_nothing(api, host):
    s = projects_session(api, host)
    a = api.post(URL, json=body(name='=HYPERLINK("x")', geometry=RED_LINE_4490), headers=s)
    a = a.get_json()
    api.post(URL, json=body(name="B", depends_on=[a["id"]], funds={"2028": 10}), headers=s)
    before = stored(api, s)
    r = api.get(f"{URL}.xlsx", headers=s)
    assert r.status_code == 200
    assert r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws.title == "项目储备库"
    header = [c.value for c in ws[1]]
    assert header[:14] == HEADER[:14]
    assert header[14:] == [
        "2026年资金（万元）",
        "2027年资金（万元）",
        "2028年资金（万元）",
        "预研结论",
        "提出人",
    ]
    first = [c.value for c in ws[2]]
    assert first[2] == '=HYPERLINK("x")' and ws.cell(2, 3).data_type == "s"
    assert first[3] == "城镇建设" and first[12] == "EPSG:4490" and first[13].startswith("POLYGON")
    again = upload(api, s, r.data)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["updated"] == [p["id"] for p in before]
    after = stored(api, s)
    strip = lambda ps: [{k: v for k, v in p.items() if k != "updated_at"} for p in ps]  # noqa: E731
    assert strip(after) == strip(before)


@pytest.mark.parametrize(
    "bad, column, header",
    [
        (dict(prio=9), "I", "优先级"),
        (dict(area=-10), "H", "用地面积（平方米）"),
        (dict(funds=(500, -3)), "P", "2027年资金（万元）"),
        (dict(wkt="POLYGON ((1 2, 3 4))", crs="EPSG:4490"), "N", "红线（WKT）"),
        (dict(deps="#9"), "J", "前置项目"),
        (dict(deps="4242"), "J", "前置项目"),
        (dict(pid=4242), "B", "项目编号"),
    ],
)
def test_one_bad_cell_stores_nothing_and_is_named_by_row_and_column(api, host, bad, column, header):
    s = projects_session(api, host)
    data = workbook(row(1, "好的一行"), row(2, "也好"), row(3, "坏的一行", **bad))
    r = upload(api, s, data)
    assert r.status_code == 400, r.get_json()
    problem = r.get_json()
    first = problem["errors"][0]
    assert (first["row"], first["column"], first["header"]) == (4, column, header)
    assert "row 4" in problem["detail"]
    assert stored(api, s) == []


def test_a_cycle_in_the_sheet_stores_nothing(api, host):
    s = projects_session(api, host)
    r = upload(api, s, workbook(row(1, "甲", "#2"), row(2, "乙", "#1")))
    assert r.status_code == 400
    assert "cycle" in r.get_json()["detail"]
    assert stored(api, s) == []


def test_unknown_columns_and_missing_columns_are_named(api, host):
    s = projects_session(api, host)
    r = upload(api, s, workbook(["x"], header=["序号", "项目名称", "颜色"]))
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert {"row": 1, "column": "C", "header": "颜色"}.items() <= errors[0].items()
    assert {e["header"] for e in errors[1:]} >= {"项目类型", "提出部门", "优先级"}


def test_a_file_that_is_not_a_workbook_is_a_problem(api, host):
    s = projects_session(api, host)
    r = upload(api, s, b"not a workbook")
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "file"


def test_locked_department_applies_to_imported_rows(api, host):
    s = projects_session(api, host, params={"dept": "water_resources"})
    r = upload(api, s, workbook(row(1, "学校")))
    assert r.status_code == 400
    first = r.get_json()["errors"][0]
    assert (first["row"], first["column"]) == (2, "E")


def test_a_host_backend_imports_for_a_named_user(api, host):
    r = upload(api, basic(host), workbook(row(1, "学校")))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "user"
    r = api.post(
        f"{URL}/import",
        data={"file": (io.BytesIO(workbook(row(1, "学校"))), "r.xlsx"), "user": "u-9"},
        headers=basic(host),
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    assert stored(api, basic(host))[0]["user"] == "u-9"
