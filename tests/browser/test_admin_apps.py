"""The admin console's host-app page in headless Chromium: sign in, register an app (a bad
origin first, shown next to its field), see the secret once, dismiss it, see the row;
disable the app through its confirmation step."""

import pytest


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def test_register_an_app_see_the_secret_once_then_disable_it(sqlite_app, live_server, new_page):
    from planfuse.auth.apps import check_app_secret, get_host_app, list_host_apps
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app()
    pf = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(pf, "browser admin")[1]

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.click("nav a:has-text('宿主应用')")
    page.wait_for_selector("#create-form")
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/admin/apps"
    # The table is drawn by the page's script, which may run after the form is there.
    page.wait_for_selector("#apps-body td:has-text('还没有宿主应用')")

    # A wildcard origin: the server's message appears next to the origins field.
    name = "<b>审批</b> 平台"
    page.fill("#create-name", name)
    page.fill("#create-origins", "https://*.example.gov.cn")
    page.check("#create-widget-compliance")
    page.click("#create-button")
    page.wait_for_selector("#create-origins-error:has-text('wildcards')")
    assert page.get_attribute("#create-origins", "aria-invalid") == "true"
    assert list_host_apps(pf) == []

    page.fill("#create-origins", "https://portal.example.gov.cn\nhttp://127.0.0.1:8001")
    page.click("#create-button")
    page.wait_for_selector("#secret-dialog[open]")
    secret = page.inner_text("#secret-value")
    app_id = page.inner_text("#secret-app")
    assert secret.startswith("pfs_")
    assert "shown this once" in page.inner_text("#secret-dialog")
    [record] = list_host_apps(pf)
    assert record.id == app_id and check_app_secret(record, secret)
    assert record.widgets == ("compliance",)

    page.click("#secret-close")
    page.wait_for_selector("#secret-dialog", state="hidden")
    assert page.inner_text("#secret-value") == ""
    assert secret not in page.content()
    assert not any(secret in url for url in page.pf_log.requests)

    row = page.wait_for_selector(f"tr[data-app={app_id}]")
    cells = [c.inner_text() for c in row.query_selector_all("th, td")]
    assert cells[1] == name and row.query_selector("b") is None  # markup stays text
    assert cells[2].split("\n") == ["https://portal.example.gov.cn", "http://127.0.0.1:8001"]
    assert "compliance" in cells[3]
    assert "共享密钥 · Shared secret (HS256)" in cells[4]
    assert "✓ 启用 · Enabled" in cells[5]
    embed = row.query_selector("a:has-text('嵌入代码')").get_attribute("href")
    assert embed == f"/admin/embed?app={app_id}"

    # Disable: the confirmation can be cancelled; confirming disables the app.
    disable = f"tr[data-app={app_id}] button[data-action=disable]"
    page.click(disable)
    page.wait_for_selector("#confirm-dialog[open]")
    assert "停用" in page.inner_text("#confirm-h")
    page.click("#confirm-dialog [data-close]")
    page.wait_for_selector("#confirm-dialog", state="hidden")
    assert get_host_app(pf, app_id).disabled is False
    page.click(disable)
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-yes")
    page.wait_for_selector(f"tr[data-app={app_id}] td:has-text('⊘ 已停用 · Disabled')")
    assert get_host_app(pf, app_id).disabled is True
    assert page.is_visible(f"tr[data-app={app_id}] button[data-action=enable]")
    assert "已停用" in page.inner_text("#action-status")

    # The embed link opens the embed page with this app chosen.
    page.click(f"tr[data-app={app_id}] a:has-text('嵌入代码')")
    page.wait_for_selector("#embed-form")
    assert page.input_value("#app") == app_id
    # Chromium logs the refused origin's 400 response; nothing else may show up.
    errors = [e for e in page.pf_log.console_errors if "status of 400" not in e]
    assert errors == [] and page.pf_log.page_errors == []
    assert page.pf_log.foreign_requests() == []
