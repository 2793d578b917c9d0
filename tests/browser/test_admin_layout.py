"""The admin console at 1400 px wide (a common office screen) on the demo dataset: no page
and no table needs a horizontal scroll bar; every page shows the favicon."""

from __future__ import annotations

import pytest

from planfuse.app import create_app
from planfuse.demo import testing as demo
from tests.conftest import TEST_SECRET

PAGES = (
    "/admin/embed",
    "/admin/apps",
    "/admin/layers",
    "/admin/layers/land_use_plan/versions",
    "/admin/services",
    "/admin/chains",
)
#: How each page is known to be drawn (its script has filled the table).
READY = {
    "/admin/embed": "#snippet:not(:empty)",
    "/admin/apps": "#apps-body tr",
    "/admin/layers": "#layers-body tr[data-layer]",
    "/admin/layers/land_use_plan/versions": "#versions-table tbody tr",
    "/admin/services": "table tbody tr",
    "/admin/chains": "#list-status:not(:empty)",
}

OVERFLOW = """() => {
  const page = document.documentElement;
  const wide = [...document.querySelectorAll('table')].map((t) => {
    const wrap = t.closest('.pf-table-wrap') || t.parentElement;
    return {id: t.id || t.className, table: Math.round(t.scrollWidth), room: wrap.clientWidth};
  }).filter((t) => t.table > t.room + 1);
  return {page: page.scrollWidth - page.clientWidth, tables: wide};
}"""


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


@pytest.fixture
def demo_app(demo_database_template, tmp_path):
    from planfuse.auth.apps import create_host_app

    url = demo.copy_demo_database(demo_database_template, tmp_path)
    app = create_app({"database_url": url, "secret_key": TEST_SECRET})
    ctx = app.extensions["planfuse"]
    ctx.db.upgrade()
    create_host_app(
        ctx,
        "重庆市规划和自然资源局网上审批平台（建设项目用地预审与选址意见书）",
        [
            "https://wsbs.ghzrzyj.cq.gov.cn",
            "https://approval-portal.planning.chongqing.example.gov.cn:8443",
        ],
        ["compliance", "conflicts", "siting", "map"],
    )
    create_host_app(ctx, "生态环境局业务系统", ["http://127.0.0.1:8001"], ["compliance"])
    yield app
    ctx.close()


def test_admin_pages_fit_1400_px_and_show_the_favicon(demo_app, live_server, new_page):
    from planfuse.services.admin_tokens import create_admin_token

    server = live_server(demo_app)
    token = create_admin_token(demo_app.extensions["planfuse"], "browser admin")[1]
    page = new_page(viewport={"width": 1400, "height": 900})
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    found = {}
    for path in PAGES:
        page.goto(server.url + path)
        page.wait_for_selector(READY[path])
        found[path] = page.evaluate(OVERFLOW)
        icon = page.get_attribute("link[rel=icon]", "href")
        assert icon == "/static/favicon.svg", path
    assert found == {path: {"page": 0, "tables": []} for path in PAGES}
    status = page.evaluate("fetch('/favicon.ico').then((r) => r.status)")
    assert status == 200
    assert page.pf_log.page_errors == []
