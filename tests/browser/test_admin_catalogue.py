"""The admin console's service catalogue in headless Chromium: the seed platform's screen
(tabs, columns, the twelve services running), keyword search, the department and status
filters, and a service's 详情 — parameters, snippet, try-it, stop and start."""

import pytest

from planfuse.services.monitoring.listing import catalogued_services


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def rows(page) -> list[list[str]]:
    page.wait_for_selector("#catalogue tbody tr, #list-status:has-text('No service')")
    return [
        [c.inner_text() for c in row.query_selector_all("th, td")]
        for row in page.query_selector_all("#catalogue tbody tr")
    ]


def names(page) -> list[str]:
    return [row[1].split("\n")[0] for row in rows(page)]


def wait_for_count(page, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#catalogue tbody tr').length === n", arg=count
    )


SEED = [
    "城市规划台账-按区县",
    "城市规划台账-全市",
    "城乡规划台账-按区县",
    "城乡规划台账-全市",
    "多规合一台账",
    "辅助选址-高级条件",
    "辅助选址-基础条件",
    "获取辅助选址方案",
    "删除辅助选址方案",
    "添加辅助选址方案",
    "综合台账-按区县",
    "综合台账-总",
]


def test_catalogue_screen_with_search_filters_and_details(sqlite_app, live_server, new_page):
    from planfuse.auth.apps import create_host_app
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app()
    ctx = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(ctx, "browser admin")[1]
    record, secret = create_host_app(ctx, "规划审批平台", ["https://portal.example.gov.cn"])

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.click("nav a:has-text('服务目录')")
    page.wait_for_selector("#catalogue tbody tr")
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/admin/catalogue"

    # The seed's screen: 功能服务 first, its columns, the twelve running.
    assert page.get_attribute("#tab-function", "aria-selected") == "true"
    headers = page.inner_text("#catalogue thead")
    for column in ("序号", "功能名称", "接口方式", "功能描述", "发布部门", "服务状态", "服务操作"):
        assert column in headers
    table = {row[1].split("\n")[0]: row for row in rows(page)}
    for number, name in enumerate(SEED, start=1):
        row = table[name]
        assert row[0] == str(number)
        assert row[2] == "HTTP" and row[5].endswith("运行中 · Running")
        assert "详情" in row[6]
    assert table["城市规划台账-全市"][4] == "住房和城乡建设委员会"
    assert "城市建设用地" in table["城市规划台账-全市"][3]

    # Keyword search.
    page.fill("#q", "选址方案")
    wait_for_count(page, 4)
    assert names(page) == [
        "获取辅助选址方案",
        "删除辅助选址方案",
        "添加辅助选址方案",
        "重新运行辅助选址方案",
    ]
    assert page.inner_text("#list-status") == "共 4 项服务 · 4 services"
    page.click("#reset")
    wait_for_count(page, len(table))

    # Department filter, then status filter.
    page.select_option("#dept", "housing_construction")
    wait_for_count(page, 4)
    assert names(page) == SEED[:4]
    page.select_option("#status", "stopped")
    page.wait_for_selector("#list-status:has-text('No service matches')")
    page.select_option("#status", "")
    page.select_option("#dept", "")

    # Tabs (keyboard too): data services, then application services.
    page.focus("#tab-function")
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(
        "document.querySelector('#tab-data').getAttribute('aria-selected') === 'true'"
    )
    data = [s for s in catalogued_services() if s.kind == "data"]
    wait_for_count(page, len(data))
    assert names(page) == [s.name_zh for s in data]
    assert [r[2] for r in rows(page)] == [s.interface for s in data]
    assert {"HTTP", "OGC API – Features", "OGC API – Tiles", "MVT", "WFS", "WMS", "WMTS"} <= {
        r[2] for r in rows(page)
    }
    page.click("#tab-application")
    page.wait_for_selector("tr[data-service=widget_map]")
    assert "Embed" in page.inner_text("tr[data-service=widget_map]")

    # 详情 of a data service: facts, snippet, try-it as a host app.
    page.click("#tab-data")
    page.click("tr[data-service=layer_catalogue] button")
    page.wait_for_selector("#detail:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "detail-h"
    detail = page.inner_text("#detail")
    assert "详情 · Details: 图层目录 · Layer catalogue" in detail
    assert "规划和自然资源局" in detail and "curl -u" in detail
    assert "规划审批平台" in detail  # the apps that may use it
    page.fill("#try-app", record.id)
    page.fill("#try-secret", secret)
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-answer:has-text('HTTP 200')")
    assert '"layers"' in page.inner_text("#try-answer")

    # 详情 of a seed service: its parameters from the OpenAPI document; stop and start it.
    page.click("#tab-function")
    page.click("tr[data-service=city_plan_ledger_city] button")
    page.wait_for_selector("#detail-h:has-text('城市规划台账-全市')")
    detail = page.inner_text("#detail")
    assert "GET /api/v1/ledgers/city_plan?by=city" in detail
    assert "district" in detail and "format" in detail  # the operation's parameters
    # Tried as the host app on an empty database: the ledger's own answer (no layers yet).
    assert page.input_value("#try-url") == "/api/v1/ledgers/city_plan?by=city"
    page.fill("#try-app", record.id)
    page.fill("#try-secret", secret)
    page.click("#try-form button[type=submit]")
    page.wait_for_selector("#try-answer:has-text('HTTP 409')")
    assert "missing_layers" in page.inner_text("#try-answer")
    page.fill("#stop-reason", "数据更新")
    page.click("#stop-service")
    page.wait_for_selector("#control-status:has-text('已停止')")
    assert "数据更新" in page.inner_text("#control-status")
    page.wait_for_selector("tr[data-service=city_plan_ledger_city] .pf-state-stopped")
    page.select_option("#status", "stopped")
    wait_for_count(page, 1)
    assert names(page) == ["城市规划台账-全市"]
    page.click("#start-service")
    page.wait_for_selector("#control-status:has-text('运行中')")
    page.wait_for_selector("#list-status:has-text('No service matches')")

    # The embed page links a widget's 详情 as /admin/catalogue?service=ID: it opens at once.
    page.goto(server.url + "/admin/catalogue?service=widget_map")
    page.wait_for_selector("#detail-h:has-text('一张图组件')")
    assert "/embed/map" in page.inner_text("#detail")
