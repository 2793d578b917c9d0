"""Registering a department's own service from the console's catalogue page in headless
Chromium: the form (with a bad URL refused, naming why), the service in its tab with its
status, its 详情 with health and latency, checked at once when its server stops, removed."""

import pytest

from tests.remote_servers import http_server


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def test_register_a_departments_service_and_watch_its_health(sqlite_app, live_server, new_page):
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app(
        remote_services_allow_private=True,  # the department's server runs on 127.0.0.1
        remote_service_health_interval_s=3600,  # checked on registration and on request
    )
    server = live_server(app)
    token = create_admin_token(app.extensions["planfuse"], "browser admin")[1]
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.goto(server.url + "/admin/catalogue")
    page.wait_for_selector("#catalogue tbody tr")

    with http_server() as remote:
        page.click("#register-box summary")
        page.fill("#reg-id", "water_levels")
        page.fill("#reg-name-zh", "水位监测接口")
        page.fill("#reg-name-en", "Water level API")
        page.select_option("#reg-dept", "water_resources")
        page.select_option("#reg-kind", "json_api")
        page.fill("#reg-base-url", "ftp://127.0.0.1/levels")
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("#register-status:has-text('http://')")
        assert "base_url" in page.inner_text("#register-status")

        page.fill("#reg-base-url", f"{remote.url}/api")
        page.select_option("#reg-auth", "bearer")
        assert page.is_visible("#reg-auth-1") and not page.is_visible("#reg-auth-2")
        page.fill("#reg-auth-1", "token-for-the-bureau")
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("#register-status:has-text('已登记')")
        page.wait_for_selector("#detail-h:has-text('水位监测接口')")
        detail = page.inner_text("#detail")
        assert "部门自有服务 · Department's own service" in detail
        assert f"{remote.url}/api" in detail and "bearer · 已设置 · set" in detail
        assert "token-for-the-bureau" not in page.content()
        assert "/api/v1/remote/water_levels/…" in detail
        # In the function tab with its department, interface and status.
        row = page.wait_for_selector("tr[data-service=water_levels]")
        assert "水利局" in row.inner_text() and "HTTP JSON (OpenAPI)" in row.inner_text()

        page.click("#check-remote")
        page.wait_for_selector("#detail:has-text('正常 · Up')")
        assert " ms" in page.inner_text("#detail")
        assert any(
            s.headers.get("authorization") == "Bearer token-for-the-bureau" for s in remote.seen
        )

    # Its server stopped: checked now, down, and the catalogue says 异常.
    page.click("#check-remote")
    page.wait_for_selector("#detail:has-text('不可用 · Down')")
    assert "remote_unreachable" in page.inner_text("#detail")
    page.wait_for_selector("tr[data-service=water_levels] .pf-state-degraded")

    page.click("#remove-remote")
    page.wait_for_selector("#list-status:has-text('已注销')")
    page.wait_for_selector("tr[data-service=water_levels]", state="detached")
