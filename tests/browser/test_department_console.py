"""A department administrator (发布部门管理员) in the console, in headless Chromium: signed in,
the header names their department and the navigation offers their pages only; they register
a service of their department (the form fixed to it), stop and start it from its 详情, and
find another department's service read-only, with the reason; a platform page says it is
the platform's."""

import pytest

from tests.remote_servers import http_server


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def test_a_department_admin_manages_its_own_services_only(sqlite_app, live_server, new_page):
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app(
        remote_services_allow_private=True,  # the department's server runs on 127.0.0.1
        remote_service_health_interval_s=3600,  # checked on registration and on request
        service_state_cache_s=0,
    )
    server = live_server(app)
    token = create_admin_token(
        app.extensions["planfuse"], "生态局张三", dept="ecology_environment"
    )[1]
    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")

    # Signed in to their department's services: the header says which.
    page.wait_for_selector("#catalogue tbody tr")
    assert page.url == server.url + "/admin/catalogue"
    assert page.inner_text("#admin-scope") == (
        "生态环境局管理员 · Ecology and Environment Bureau administrator"
    )
    nav = page.inner_text("nav")
    assert "服务目录" in nav and "服务串联" in nav
    for platform in ("宿主应用", "图层管理", "事件推送", "审计日志"):
        assert platform not in nav

    # The register form is fixed to their department.
    page.click("#register-box summary")
    assert page.is_disabled("#reg-dept")
    assert page.eval_on_selector_all("#reg-dept option", "os => os.map(o => o.value)") == [
        "ecology_environment"
    ]
    with http_server() as remote:
        page.fill("#reg-id", "eco_monitoring")
        page.fill("#reg-name-zh", "生态监测接口")
        page.fill("#reg-name-en", "Ecology monitoring API")
        page.select_option("#reg-kind", "json_api")
        page.fill("#reg-base-url", f"{remote.url}/api")
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("#register-status:has-text('已登记')")
        page.wait_for_selector("#detail-h:has-text('生态监测接口')")
        detail = page.inner_text("#detail")
        assert "生态环境局" in detail and f"{remote.url}/api" in detail
        assert page.is_visible("#check-remote") and page.is_visible("#remove-remote")

        # Stopped and started from its 详情.
        page.fill("#stop-reason", "接口升级")
        page.click("#stop-service")
        page.wait_for_selector("#control-status:has-text('已停止')")
        assert "接口升级" in page.inner_text("#control-status")
        page.wait_for_selector("tr[data-service=eco_monitoring] .pf-state-stopped")
        page.click("#start-service")
        page.wait_for_selector("#control-status:has-text('运行中')")

    # Another department's service: read only, saying why, without a control.
    page.click("#tab-function")
    page.click("tr[data-service=siting_basic] button")
    page.wait_for_selector("#detail-h:has-text('辅助选址-基础条件')")
    note = page.inner_text("#readonly-note")
    assert "只读 · Read only" in note and "规划和自然资源局" in note
    for control in ("#stop-service", "#start-service", "#grants", "#save-config", "#check-remote"):
        assert page.query_selector(control) is None, control
    assert "curl -u" in page.inner_text("#detail")  # still readable

    # A platform page says it is the platform's, and leads back.
    page.goto(server.url + "/admin/apps")
    assert "需要平台管理员 · Platform administrators only" in page.inner_text("main")
    page.click("main a:has-text('返回本部门的服务')")
    page.wait_for_selector("#catalogue tbody tr")
    assert page.pf_log.page_errors == []
