"""The annual evaluation report on the demo: 渝北's construction land warning and the city's
figures in a stored report whose signature verifies with the server's JWKS alone, its
summary, the XLSX and the print view; another app cannot read it."""

from __future__ import annotations

import io

import jwt
import pytest
from openpyxl import load_workbook

from planfuse.errors import NotFound
from planfuse.services.plan_monitoring.reports import (
    create_report,
    get_report,
    list_reports,
    report_xlsx,
)
from planfuse.signing.server_keys import jwks


def verify(ctx, report):
    key = jwks(ctx)["keys"][0]
    public = jwt.PyJWK(key).key
    return jwt.decode(report["signature"]["jws"], public, algorithms=["ES256"])


def test_a_district_report_with_its_warning_signed_and_stored(demo_ctx):
    report = create_report(demo_ctx, 2025, "500112", app_id="app-1", created_by="planner")
    rows = {r["id"]: r for r in report["indicators"]}
    construction = rows["construction_land"]
    assert construction["status"] == "warning" and construction["ratio"] == pytest.approx(0.95)
    assert construction["plan_target_year"] == 2035
    assert report["counts"]["warning"] >= 1
    assert "渝北区" in report["summary"]["zh-CN"] and "建设用地总规模" in report["summary"]["zh-CN"]
    assert "预警" in report["summary"]["zh-CN"] and "warning" in report["summary"]["en"]
    claims = verify(demo_ctx, report)
    assert claims["sub"] == report["id"] and claims["report"]["area"] == "500112"
    assert {"id": "construction_land", "value": construction["value"], "status": "warning"} in (
        claims["report"]["indicators"]
    )
    assert get_report(demo_ctx, report["id"], "app-1") == report
    assert [r["id"] for r in list_reports(demo_ctx, "app-1")] == [report["id"]]
    with pytest.raises(NotFound):
        get_report(demo_ctx, report["id"], "app-2")
    assert list_reports(demo_ctx, "app-2") == []


def test_the_city_report_with_the_years_changes_and_its_workbook(demo_ctx):
    report = create_report(demo_ctx, 2025, "city", app_id="app-1")
    changes = report["changes"]
    assert changes["compared_with"] == 2024
    assert changes["by_on"]["basic_farmland"] >= 12_345.0
    assert "新增建设用地" in report["summary"]["zh-CN"]
    book = load_workbook(io.BytesIO(report_xlsx(report)))
    assert book.sheetnames == ["指标", "变化图斑", "摘要"]
    sheet = book["指标"]
    names = [sheet.cell(row, 1).value for row in range(5, sheet.max_row + 1)]
    assert "建设用地总规模" in names and len(names) == len(report["indicators"])
    english = load_workbook(io.BytesIO(report_xlsx(report, "en")))
    assert english.sheetnames == ["Indicators", "Changes", "Summary"]
    with pytest.raises(NotFound):
        create_report(demo_ctx, 2025, "500199", app_id="app-1")
    with pytest.raises(NotFound):
        create_report(demo_ctx, 2019, "city", app_id="app-1")
