"""The admin console's chain editor and the catalogue's limits and usage in headless
Chromium: validating a document (problems by step and field), a test run as a host app
with its trace, publishing versions; then, in the catalogue's 详情, an app's rate limit set
and enforced, and its calls in the usage table."""

import base64
import json
import time
import urllib.error
import urllib.request

import pytest

DOCUMENT = {
    "id": "touching_count",
    "name": {"zh-CN": "压占冲突数", "en": "Conflicts touched"},
    "description": {
        "zh-CN": "红线压占的冲突图斑数。",
        "en": "Conflict patches a red line touches.",
    },
    "dept": "natural_resources",
    "inputs": {"type": "object", "properties": {"geometry": {}, "crs": {"type": "string"}}},
    "steps": [
        {
            "id": "touching",
            "service": "conflicts_touching",
            "args": {"geometry": "inputs.geometry", "crs": "inputs.crs"},
        }
    ],
    "outputs": {"count": "steps.touching.count", "area_m2": "steps.touching.area_m2"},
}
RED_LINE = {
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [106.50, 29.50],
                [106.501, 29.50],
                [106.501, 29.501],
                [106.50, 29.501],
                [106.50, 29.50],
            ]
        ],
    },
    "crs": "EPSG:4490",
}


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def call(url: str, app_id: str, secret: str) -> int:
    raw = base64.b64encode(f"{app_id}:{secret}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {raw}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_chain_editor_validates_test_runs_and_publishes(sqlite_app, live_server, new_page):
    from planfuse.auth.apps import create_host_app
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app(service_state_cache_s=0)
    ctx = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(ctx, "browser admin")[1]
    record, secret = create_host_app(ctx, "规划审批平台", ["https://portal.example.gov.cn"])

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.click("nav a:has-text('服务串联')")
    page.wait_for_selector("#document")
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/admin/chains"
    assert "尚未发布串联" in page.inner_text("#list-status")
    # The editor starts from a shipped chain under an id of its own; it is valid.
    assert json.loads(page.input_value("#document"))["id"] == "my_project_review"
    page.click("#validate")
    page.wait_for_selector("#problems:has-text('校验通过')")

    # A step naming an unknown service and a field no step answers: each by step and field.
    broken = json.loads(json.dumps(DOCUMENT))
    broken["steps"][0]["service"] = "no_such_service"
    broken["outputs"]["n"] = "steps.touching.countz"
    page.fill("#document", json.dumps(broken))
    page.click("#validate")
    page.wait_for_selector("#problems .pf-problems")
    problems = [
        [c.inner_text() for c in row.query_selector_all("td")]
        for row in page.query_selector_all("#problems tbody tr")
    ]
    assert ["touching", "service", "service 'no_such_service' is not in the catalogue"] in problems

    # A test run as the host app: the outputs and each step's call.
    page.fill("#document", json.dumps(DOCUMENT))
    page.click("#validate")
    page.wait_for_selector("#problems:has-text('校验通过')")
    page.fill("#test-inputs", json.dumps(RED_LINE))
    page.fill("#test-app", record.id)
    page.fill("#test-secret", secret)
    page.click("#run")
    page.wait_for_selector("#trace:has-text('运行成功')")
    trace = page.inner_text("#trace")
    assert "touching (conflicts_touching)：HTTP 200" in trace and '"area_m2"' in trace

    # Publish: version 1, then unchanged, then version 2; the list and versions show it.
    page.click("#publish")
    page.wait_for_selector("#publish-status:has-text('第 1 版')")
    page.click("#publish")
    page.wait_for_selector("#publish-status:has-text('内容未变')")
    changed = {**DOCUMENT, "outputs": {"count": "steps.touching.count"}}
    page.fill("#document", json.dumps(changed))
    page.click("#publish")
    page.wait_for_selector("#publish-status:has-text('第 2 版')")
    # The list redraws after the status line: wait for the row to say v2, not for the
    # row itself (it is there since version 1).
    row = page.wait_for_selector("#chains tbody tr:has-text('touching_count'):has-text('v2')")
    assert "v1" not in row.inner_text()
    page.click("#chains tbody button")
    page.wait_for_selector("#versions:not([hidden]) tbody tr >> nth=1")
    page.click("#versions button:has-text('v1')")
    for _ in range(50):  # the page's CSP allows no string evaluation: poll the value
        if "area_m2" in json.loads(page.input_value("#document"))["outputs"]:
            break
        page.wait_for_timeout(100)
    assert json.loads(page.input_value("#document"))["version"] == 1
    # The browser logs the refused validation (400) it was asked for; nothing else failed.
    assert not page.pf_log.page_errors
    assert [e for e in page.pf_log.console_errors if "status of 400" not in e] == []
    assert not page.pf_log.foreign_requests()


def test_limits_and_usage_in_the_catalogue_details(sqlite_app, live_server, new_page):
    from planfuse.auth.apps import create_host_app
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app(service_state_cache_s=0)
    ctx = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(ctx, "browser admin")[1]
    record, secret = create_host_app(ctx, "规划审批平台", ["https://portal.example.gov.cn"])
    other, other_secret = create_host_app(ctx, "生态环境平台", ["https://eco.example.gov.cn"])

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.goto(server.url + "/admin/catalogue")
    page.click("tr[data-service=siting_advanced] button")
    page.wait_for_selector("#grants")
    row = f"#grants tr[data-app={record.id}]"
    page.fill(f"{row} input[data-limit=rate_per_minute]", "2")
    page.click(f"{row} button")
    page.wait_for_selector("#grant-status:has-text('已保存')")
    assert page.input_value(f"{row} input[data-limit=rate_per_minute]") == "2"

    url = server.url + "/api/v1/siting/options"
    # The rate limit counts clock minutes: the three calls fall well inside one.
    while time.time() % 60 > 45:
        time.sleep(0.5)
    assert [call(url, record.id, secret) for _ in range(3)] == [200, 200, 429]
    assert [call(url, other.id, other_secret) for _ in range(3)] == [200, 200, 200]
    page.click("tr[data-service=siting_advanced] button")
    page.wait_for_selector(f"#usage tr:has-text('{other.id}')")  # the details read again
    usage = {
        cells[0].inner_text(): cells[-1].inner_text()
        for cells in (
            r.query_selector_all("td") for r in page.query_selector_all("#usage tbody tr")
        )
    }
    assert usage[f"规划审批平台 ({record.id})"] == "3 / 1"
    assert usage[f"生态环境平台 ({other.id})"] == "3 / 0"
    assert not page.pf_log.page_errors and not page.pf_log.console_errors
