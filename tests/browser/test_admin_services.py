"""The admin console's service page in headless Chromium: the catalogue with its figures,
status in words and icons, sparklines, and the figures reloading by themselves."""

import time
import urllib.request

import pytest

from planfuse.storage.models.metrics import service_metrics_table


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def cells(page, service: str) -> list[str]:
    row = page.wait_for_selector(f"tr[data-service={service}]")
    return [c.inner_text() for c in row.query_selector_all("th, td")]


def test_service_page_shows_and_refreshes_the_figures(
    sqlite_app, live_server, new_page, monkeypatch
):
    from planfuse.admin import service_monitor
    from planfuse.services.admin_tokens import create_admin_token

    monkeypatch.setattr(service_monitor, "REFRESH_S", 1)
    app = sqlite_app()
    ctx = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(ctx, "browser admin")[1]
    # Compliance checks answered 5xx three times in a hundred this minute.
    with ctx.db.engine.begin() as conn:
        conn.execute(
            service_metrics_table.insert().values(
                minute=int(time.time()) // 60,
                service="compliance_check",
                requests=100,
                client_errors=0,
                server_errors=3,
                **{f"latency_{i:02d}": 0 for i in range(19)} | {"latency_10": 100},
                last_request_epoch_s=time.time(),
            )
        )
    for _ in range(2):
        urllib.request.urlopen(server.url + "/api/v1/layers").close()

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.click("nav a:has-text('服务监控')")
    page.wait_for_selector("tr[data-service=layer_catalogue]")
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/admin/services"

    layers = cells(page, "layer_catalogue")
    assert layers[0].startswith("图层目录 · Layer catalogue") and "/api/v1/layers" in layers[0]
    assert layers[1] == "数据服务 · Data service"
    assert "正常 · OK" in layers[2] and "✓" in layers[2]
    assert layers[3] == "2"
    compliance = cells(page, "compliance_check")
    assert "错误率高 · High error rate" in compliance[2] and "⚠" in compliance[2]
    assert compliance[6] == "3.0%"
    assert float(compliance[7]) > 0 and float(compliance[8]) >= float(compliance[7])
    assert "空闲 · Idle" in cells(page, "siting_advanced")[2]
    spark = page.query_selector("tr[data-service=layer_catalogue] svg polyline")
    assert spark is not None and len(spark.get_attribute("points").split()) == 60
    assert "2 requests in the last hour" in page.get_attribute(
        "tr[data-service=layer_catalogue] svg", "aria-label"
    )
    deps = page.inner_text("#dependencies")
    assert "数据库 · Database (sqlite): 就绪 · Ready" in deps
    assert "缓存 · Cache (in-process): 就绪 · Ready" in deps
    assert "0 layers" in page.inner_text("#layers")

    # New requests appear without reloading the page.
    for _ in range(3):
        urllib.request.urlopen(server.url + "/api/v1/layers").close()
    requests_cell = "tr[data-service=layer_catalogue] td:nth-of-type(3)"
    deadline = time.monotonic() + 15
    while page.inner_text(requests_cell) != "5":  # CSP forbids eval: poll from here
        assert time.monotonic() < deadline, page.inner_text(requests_cell)
        time.sleep(0.2)
    page.check("input[name=window][value='24h']")
    assert cells(page, "layer_catalogue")[4] == f"{5 / 1440:.2f}"
    assert not page.pf_log.page_errors and not page.pf_log.console_errors
    assert page.pf_log.foreign_requests() == []
