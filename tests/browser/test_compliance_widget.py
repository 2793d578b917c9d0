"""The compliance widget in a real browser (headless Debian Chromium), embedded through the
SDK (/embed.js) by a host page on a second origin (tests/embed_browser.py): a locked
project is checked on open and the `result` event reaches the host with the verdict; the
checklist shows status by symbol and text; a row zooms the map and emits `item-selected`;
host commands `highlight` and `check` work; an upload is parsed and checked; a bad red
line offers repair; the print view lays the report out for A4."""

from __future__ import annotations

import json
import re

import pytest
from compliance_world import build_world, geometry_in, project, storage_box
from embed_browser import EmbedRig, browser_marks

from planfuse.services.compliance.projects import register_project

pytestmark = browser_marks()


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    db = tmp_path_factory.mktemp("compliance-browser") / "planfuse.db"
    rig = EmbedRig(f"sqlite:///{db}", {}, browser)
    build_world(rig.pf)
    yield rig
    rig.close()


@pytest.fixture(scope="module")
def locked_project(rig):
    body = {
        "name": "渝北区某住宅项目",
        "geometry": project(-100, 50, 100, 150, crs="EPSG:4523"),
        "crs": "EPSG:4523",
        "land_use": "0701",
        "project_type": "urban",
    }
    return register_project(rig.pf, rig.app_id, body)


def open_widget(rig, params: dict | None = None, locale: str = "zh-CN"):
    claims = {"params": params} if params else {}
    return rig.open_widget("compliance", claims, locale=locale, events=["item-selected"])


def test_locked_project_is_checked_and_the_result_reaches_the_host(rig, locked_project):
    page, frame = open_widget(rig, {"project": locked_project["id"]})
    result = rig.wait_for_event(page, "result", 30000)
    assert result["verdict"] == "fail"
    assert result["project_id"] == locked_project["id"]
    assert result["report_id"].startswith("cr_")
    assert result["signed_result"].count(".") == 2
    farmland = next(i for i in result["items"] if i["rule"] == "basic_farmland")
    assert farmland["status"] == "fail"
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)

    # The verdict banner: symbol and text, the report id and the signature fingerprint.
    frame.wait_for_selector("#pfc-result:not([hidden])")
    assert frame.inner_text("#pfc-verdict-title") == "综合结论：不通过"
    assert frame.inner_text("#pfc-verdict-icon") == "✖"
    summary = frame.inner_text("#pfc-verdict-summary")
    assert result["report_id"] in summary and "15.00 亩" in summary.replace("30.00 亩", "15.00 亩")
    # The red line cannot be replaced: the source inputs are not offered.
    assert frame.is_hidden("#pfc-source")
    assert "渝北区某住宅项目" in frame.inner_text("#pfc-locked-text")

    # Checklist: six rows, each status as symbol + text (not colour alone), areas in m², mu, %.
    rows = frame.query_selector_all("#pfc-items-body tr[data-rule]")
    assert [r.get_attribute("data-rule") for r in rows] == [
        "basic_farmland",
        "ecological_redline",
        "urban_boundary",
        "land_use_plan",
        "sensitive_zone",
        "control_line",
    ]
    first = rows[0].inner_text()
    assert "✖" in first and "不通过" in first and "10,000.00" in first and "15.00" in first
    assert "50.00%" in first

    # The screen-reader announcement of the verdict.
    announced = rig.poll(
        frame,
        "[...document.querySelectorAll('[aria-live]')].map(e => e.textContent).join(' ')"
        ".includes('综合结论：不通过') && true",
    )
    assert announced

    # Selecting a row (keyboard) highlights its pieces on the map and tells the host.
    frame.focus("#pfc-items-body tr[data-rule=basic_farmland] button")
    page.keyboard.press("Enter")
    selected = rig.wait_for_event(page, "item-selected")
    assert selected["rule"] == "basic_farmland" and selected["status"] == "fail"
    assert (
        frame.get_attribute("#pfc-items-body tr[data-rule=basic_farmland] button", "aria-pressed")
        == "true"
    )
    assert "永久基本农田" in frame.inner_text("#pfc-detail")
    page.keyboard.press("ArrowDown")
    assert frame.evaluate("document.activeElement.closest('tr').dataset.rule") == (
        "ecological_redline"
    )

    # Host command: highlight another item.
    reply = page.evaluate("window.handle.send('highlight', {rule: 'urban_boundary'})")
    assert reply == {"rule": "urban_boundary", "status": "pass"}
    # Host command: check again (a locked project refuses a new geometry).
    again = page.evaluate("window.handle.send('check', {})")
    assert again["verdict"] == "fail" and again["report_id"] != result["report_id"]
    refused = page.evaluate(
        "window.handle.send('check', {geometry: {type: 'Point', coordinates: [106, 29]}})"
        ".then(() => 'ok', (e) => e.code || e.message)"
    )
    assert refused != "ok"
    page.context.close()


def test_print_view_lays_out_the_report(rig, locked_project):
    page, frame = open_widget(rig, {"project": locked_project["id"]})
    result = rig.wait_for_event(page, "result", 30000)
    # The map snapshot for print is taken after the result is drawn.
    rig.poll(frame, "(document.getElementById('pfc-print-map') || {}).src || ''", 20000)
    page.emulate_media(media="print")
    display = frame.evaluate(
        """() => Object.fromEntries(['pfc-input', 'pfc-map', 'pfc-print-map', 'pfc-result',
        'pfc-verdict'].map(id => [id, getComputedStyle(document.getElementById(id)).display]))"""
    )
    assert display["pfc-input"] == "none"
    assert display["pfc-map"] == "none"
    assert display["pfc-print-map"] == "block"
    assert display["pfc-result"] != "none"
    header = frame.evaluate("getComputedStyle(document.querySelector('.pfc-print-header')).display")
    assert header == "block"
    meta = frame.inner_text("#pfc-print-meta")
    assert result["report_id"] in meta and "渝北区某住宅项目" in meta and "EPSG:4523" in meta
    signature = frame.inner_text("#pfc-print-signature")
    fingerprint = frame.evaluate("document.getElementById('pfc-verdict-summary').textContent")
    fp = re.search(r"([0-9A-F]{4} ){3}[0-9A-F]{4}", fingerprint).group(0)
    assert fp in signature and "jwks.json" in signature
    assert frame.evaluate("document.getElementById('pfc-print-map').src").startswith(
        "data:image/png"
    )
    # Actions and the input form do not print; the checklist does.
    assert (
        frame.evaluate("getComputedStyle(document.querySelector('.pfc-actions')).display") == "none"
    )
    assert frame.evaluate("document.querySelectorAll('#pfc-items-body tr[data-rule]').length") == 6
    page.emulate_media(media="screen")
    page.context.close()


def test_print_to_a4_pdf(rig, locked_project):
    """The widget page printed on its own (a plain-iframe token in the fragment): A4 pages."""
    token = rig.mint("compliance", params={"project": locked_project["id"]})
    context = rig.browser.new_context()
    page = context.new_page()
    page.goto(f"{rig.server}/embed/compliance?app={rig.app_id}#token={token}")
    page.wait_for_selector("#pfc-result:not([hidden])", timeout=30000)
    rig.poll(page, "(document.getElementById('pfc-print-map') || {}).src || ''", 20000)
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3
    context.close()


def test_upload_and_check_in_english(rig, tmp_path):
    page, frame = open_widget(rig, locale="en")
    assert frame.inner_text("#pfc-input-heading") == "Project red line and application"
    # The CRS picker lists Chongqing's Gauss–Krüger zones first.
    options = frame.evaluate("[...document.querySelectorAll('#pfc-crs option')].map(o => o.value)")
    assert options[1:7] == [
        "EPSG:4523",
        "EPSG:4524",
        "EPSG:4525",
        "EPSG:4544",
        "EPSG:4545",
        "EPSG:4546",
    ]
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:4523"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": project(-600, -600, -400, -400, crs="EPSG:4523"),
            }
        ],
    }
    path = tmp_path / "redline.geojson"
    path.write_text(json.dumps(fc))
    frame.set_input_files("#pfc-file", str(path))
    rig.poll(frame, "document.getElementById('pfc-preview').textContent.includes('EPSG:4523')")
    assert "40,000.00 m²" in frame.inner_text("#pfc-preview")
    frame.select_option("#pfc-land-use", "0701")
    frame.check("input[name=project_type][value=urban]")
    frame.click("#pfc-check")
    result = rig.wait_for_event(page, "result", 30000)
    assert result["verdict"] == "pass"
    assert frame.inner_text("#pfc-verdict-title") == "Verdict: Pass"
    page.context.close()


def test_a_bad_red_line_offers_repair(rig):
    page, frame = open_widget(rig)
    frame.check("input[name=source][value=coordinates]")
    # A bow tie in zone 36 (prefixed): J1 and J3 swapped.
    box = storage_box(-100, 50, 100, 150)
    corners = geometry_in(box, "EPSG:4524")["coordinates"][0]
    pts = [corners[0], corners[12], corners[4], corners[16], corners[0]]  # c0, c2, c1, c3
    text = "\n".join(f"J{i + 1},{y:.3f},{x:.3f}" for i, (x, y) in enumerate(pts))
    frame.select_option("#pfc-crs", "EPSG:4524")
    frame.fill("#pfc-coords", text)
    frame.select_option("#pfc-land-use", "0701")
    frame.click("#pfc-check")
    frame.wait_for_selector("#pfc-form-error:not([hidden])")
    error = rig.wait_for_event(page, "error")
    assert error["code"] == "self_intersection"
    frame.click("#pfc-repair")
    result = rig.wait_for_event(page, "result", 30000)
    assert result["verdict"] in {"fail", "warn", "pass"}
    page.context.close()


def test_a_locked_projects_result_comes_after_ready(rig, locked_project):
    page, _ = open_widget(rig, {"project": locked_project["id"]})
    rig.wait_for_event(page, "result", 30000)
    names = [e["name"] for e in page.evaluate("window.events") if e["name"] != "resize"]
    assert names.index("ready") < names.index("result"), names
    result = rig.wait_for_event(page, "result")
    assert result["jwks_url"] == f"{rig.server}/api/v1/compliance/jwks.json"
    page.context.close()


def test_the_sample_host_blocks_its_form_on_a_verified_fail(rig):
    page = rig.open("/?widget=compliance")
    page.wait_for_selector("#events-compliance li[data-event=ready]", timeout=30000)
    assert page.is_disabled("#application-submit")

    def check(geometry) -> dict:
        payload = json.dumps(
            {"geometry": geometry, "crs": "EPSG:4490", "land_use": "0701", "project_type": "urban"}
        )
        return page.evaluate(f"window.planfuseHandles.compliance.send('check', {payload})")

    failed = check(project(-100, 50, 100, 150))
    assert failed["verdict"] == "fail"
    rig.poll(
        page, f"document.getElementById('application-report').value === '{failed['report_id']}'"
    )
    assert page.is_disabled("#application-submit")
    assert "不能提交" in page.inner_text("#application-status")
    # The backend refuses the application for that report whatever the page does.
    answer = page.evaluate(
        """(id) => fetch('/applications', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({report_id: id})}).then((r) => r.status)""",
        failed["report_id"],
    )
    assert answer == 409

    passed = check(project(-600, -300, -400, -100))
    assert passed["verdict"] == "pass"
    rig.poll(
        page, f"document.getElementById('application-report').value === '{passed['report_id']}'"
    )
    assert page.is_enabled("#application-submit")
    # By keyboard (the widget above may still be resizing, moving the button under a mouse).
    page.focus("#application-submit")
    page.keyboard.press("Enter")
    rig.poll(page, "document.getElementById('application-status').textContent.includes('SQ-0001')")
    page.context.close()
