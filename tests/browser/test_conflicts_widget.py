"""The conflicts widget in a real browser (headless Debian Chromium), embedded through the
SDK (/embed.js) by a host page on a second origin (tests/embed_browser.py), over the small
world of tests/conflict_world.py: a detection started from the widget with its progress
bar, the list and the map linked both ways (click in the list, click on the map, the
host's `filter` and `select` commands), each patch's sources and history, a status change
with a note (and a refused one), `conflict-selected` / `conflict-updated`, the ledger tab
with its table, chart and CSV export, keyboard use, a reader without the role, English."""

from __future__ import annotations

from pathlib import Path

import pytest
from embed_browser import EmbedRig, browser_marks

from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import detect
from planfuse.services.conflicts.detection_jobs import save_detection
from tests.conflict_world import DISTRICT_B, build_world, hold_detection

pytestmark = browser_marks()

HOST_EVENTS = ("conflict-selected", "conflict-updated", "detection-finished")


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("conflicts-browser")
    rig = EmbedRig(f"sqlite:///{folder / 'planfuse.db'}", {}, browser)
    build_world(rig.pf, folder)
    yield rig
    rig.close()


@pytest.fixture
def held_detection(monkeypatch):
    """A detection that waits (checking for cancellation) until the test releases it."""
    started, release = hold_detection(monkeypatch, "overlay urban_plan × land_plan", 0.4)
    yield started, release
    release.set()


def open_widget(rig, *, roles=("coordinator",), params=None, locale="zh-CN", sub="user-1"):
    claims = {"sub": sub, "roles": list(roles), "name": "王协调"}
    if params:
        claims["params"] = params
    return rig.open_widget("conflicts", claims, locale=locale, events=HOST_EVENTS)


def items(frame) -> list:
    return frame.query_selector_all("#pf-list .pf-cf-item")


def map_centre(frame):
    box = frame.locator("#pf-map .ol-viewport").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def test_detect_list_map_and_a_status_change(rig, held_detection):
    started, release = held_detection
    page, frame = open_widget(rig)
    frame.wait_for_selector("#pf-count")
    rig.poll(frame, "document.getElementById('pf-count').textContent.includes('没有')")
    assert frame.query_selector("#pf-map .ol-viewport") is not None

    # Detection from the widget: the progress bar shows percentage and stage, then the list.
    frame.select_option("#pf-detect-analysis", "two_plans")
    frame.click("#pf-detect-start")
    assert started.wait(10)
    rig.poll(frame, "!document.getElementById('pf-progress').hidden")
    # The widget polls the job: wait until it has seen the held stage, not just the start.
    rig.poll(frame, "document.getElementById('pf-progress-text').textContent.includes('overlay')")
    text = frame.inner_text("#pf-progress-text")
    assert "检测中" in text and "overlay urban_plan × land_plan" in text
    assert frame.eval_on_selector("#pf-progress-bar", "e => e.value") >= 36
    assert frame.is_disabled("#pf-detect-start")
    release.set()
    finished = rig.wait_for_event(page, "detection-finished", 30000)
    assert finished["state"] == "done"
    assert finished["summary"]["conflicts"]["count"] == 6
    rig.poll(frame, "document.getElementById('pf-progress').hidden")
    result = frame.inner_text("#pf-detect-result")
    assert "检测完成：6 个差异图斑" in result and "碎图斑 2 个" in result
    rig.poll(frame, "document.querySelectorAll('#pf-list .pf-cf-item').length === 6")
    first = items(frame)[0].inner_text()
    assert "03 土规建设、城规非建设" in first and "40,000.00 m²" in first
    assert "○ 待协调" in first and "E2" in first and "2110" in first
    assert "另有碎图斑 2 个" in frame.inner_text("#pf-count")

    # List → map and detail: Enter on the first patch selects it.
    frame.focus("#pf-list .pf-cf-item:first-child button")
    page.keyboard.press("Enter")
    selected = rig.wait_for_event(page, "conflict-selected")
    first_id = int(items(frame)[0].get_attribute("data-id"))
    assert selected["id"] == first_id and selected["type"] == "03"
    assert selected["area_m2"] == pytest.approx(40_000.0, abs=0.01)
    rig.poll(frame, "document.querySelector('#pf-detail h3') !== null")
    detail = frame.inner_text("#pf-detail")
    assert f"图斑 {first_id}" in detail
    assert "40,000.00 m²（4.0000 公顷，60.00 亩）" in detail
    assert "城乡规划" in detail and "土地利用总体规划" in detail
    assert "E2" in detail and "2110" in detail and "城镇用地" in detail
    assert "检测发现" in detail and "王协调" in detail
    assert frame.get_attribute("#pf-list .pf-cf-item:first-child button", "aria-pressed") == "true"

    # A status change without a note is refused in the form, with the field marked.
    frame.select_option("#pf-form-status", "coordinating")
    frame.click("#pf-status-form button[type=submit]")
    rig.poll(
        frame, "document.getElementById('pf-form-note').getAttribute('aria-invalid') === 'true'"
    )
    assert "说明" in frame.inner_text("#planfuse-status")
    # With a note it goes through: the list, the detail and the host all see it.
    frame.fill("#pf-form-note", "区县核实中")
    frame.fill("#pf-form-district", "建议调整城规")
    frame.fill("#pf-form-date", "2026-12-01")
    frame.click("#pf-status-form button[type=submit]")
    updated = rig.wait_for_event(page, "conflict-updated")
    assert updated == {
        "id": first_id,
        "status": "coordinating",
        "from_status": "pending",
        "note": "区县核实中",
    }
    rig.poll(frame, "document.querySelector('#pf-detail').textContent.includes('状态变更')")
    detail = frame.inner_text("#pf-detail")
    assert "◐ 协调中" in detail and "区县核实中" in detail and "建议调整城规" in detail
    assert "2026-12-01" in detail
    assert "◐ 协调中" in items(frame)[0].inner_text()
    # The next step offers only the allowed statuses.
    options = frame.eval_on_selector_all("#pf-form-status option", "os => os.map(o => o.value)")
    assert options == ["", "adjusted", "kept"]

    # The host filters to one district: one patch, framed on the map; a click on the map
    # selects it in the list.
    reply = page.evaluate(f"window.handle.send('filter', {{district: '{DISTRICT_B}'}})")
    assert reply == {"total": 1}
    rig.poll(frame, "document.querySelectorAll('#pf-list .pf-cf-item').length === 1")
    frame.wait_for_timeout(400)
    x, y = map_centre(frame)
    page.mouse.click(x, y)
    rig.poll(
        frame,
        "document.querySelector('#pf-list .pf-cf-item button').getAttribute('aria-pressed') "
        "=== 'true'",
    )
    clicked = rig.wait_for_event(page, "conflict-selected")
    assert clicked["district"] == DISTRICT_B
    # The host's select command shows any patch, even one not on the page.
    reply = page.evaluate(f"window.handle.send('select', {{id: {first_id}}})")
    assert reply == {"id": first_id, "status": "coordinating"}
    rig.poll(frame, f"document.querySelector('#pf-detail h3').textContent.includes('{first_id}')")
    bad = page.evaluate(
        "window.handle.send('filter', {colour: 'red'}).then(() => 'ok', e => e.message)"
    )
    assert bad != "ok"
    assert not page.evaluate(
        "window.events.some(e => e.name === 'error' && /widget_failed/.test(JSON.stringify(e)))"
    )
    page.context.close()


def test_ledger_tab_table_chart_and_export(rig):
    save_detection(
        rig.pf,
        detect(rig.pf, "three_lines"),
        job_id=None,
        actor=Actor("browser-test"),
    )
    page, frame = open_widget(rig)
    # Keyboard: the tabs are a tab list; the arrow key moves to the ledger.
    frame.focus("#pf-tab-list")
    page.keyboard.press("ArrowRight")
    rig.poll(
        frame, "document.getElementById('pf-tab-ledger').getAttribute('aria-selected') === 'true'"
    )
    assert frame.evaluate("document.activeElement.id") == "pf-tab-ledger"
    frame.wait_for_selector("#pf-ledger-output table")
    table = frame.inner_text("#pf-ledger-output table")
    assert "渝中区" in table and "小计" in table and "合计" in table
    assert "永久基本农田与城镇开发边界重叠" in table
    total = frame.inner_text("#pf-ledger-output tr[data-kind=total]")
    assert "合计" in total
    bars = frame.query_selector_all("#pf-ledger-chart svg rect")
    assert len(bars) >= 1
    assert frame.get_attribute("#pf-ledger-chart svg", "role") == "img"
    with page.expect_download() as info:
        frame.click("#pf-ledger-csv")
    csv = Path(info.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("区县代码,区县") and csv[-1].split(",")[4] == "合计"
    # City-wide: one row per type, and a total.
    frame.check("input[name=pf-ledger-by][value=city]")
    rig.poll(
        frame,
        "String((document.querySelector('#pf-ledger-output caption') || {}).textContent)"
        ".includes('全市')",
    )
    rows = [r.inner_text() for r in frame.query_selector_all("#pf-ledger-output tr[data-kind=row]")]
    for name in (
        "永久基本农田与生态保护红线重叠",
        "永久基本农田与城镇开发边界重叠",
        "生态保护红线与城镇开发边界重叠",
    ):
        assert sum(name in r for r in rows) == 1
    assert frame.query_selector("#pf-ledger-output tr[data-kind=total]") is not None
    page.context.close()


def test_a_reader_sees_no_controls_and_english(rig):
    page, frame = open_widget(rig, roles=("reviewer",), locale="en")
    frame.wait_for_selector("#pf-count")
    assert frame.query_selector("#pf-detect-start") is None
    rig.poll(frame, "document.querySelectorAll('#pf-list .pf-cf-item').length > 0")
    frame.click("#pf-list .pf-cf-item:first-child button")
    rig.poll(frame, "document.querySelector('#pf-detail h3') !== null")
    assert frame.query_selector("#pf-status-form") is None
    detail = frame.inner_text("#pf-detail")
    assert "Coordination history" in detail and "Source features" in detail
    assert frame.inner_text("#pf-tab-ledger") == "Ledgers"
    page.context.close()


def ensure_detected(ctx) -> None:
    """Stored two-plan conflicts, whatever ran before (tests may run in any order)."""

    detection = detect(ctx, "two_plans", None, progress=lambda f, stage: None, check=lambda: None)
    save_detection(ctx, detection, job_id=None, actor=Actor(app_id="", user="setup"))


def test_locked_district_and_read_only(rig):
    ensure_detected(rig.pf)
    page, frame = open_widget(rig, params={"districts": [DISTRICT_B], "readonly": True})
    frame.wait_for_selector("#pf-count")
    assert "已由宿主系统锁定" in frame.inner_text("#pf-detect")
    assert "只读" in frame.inner_text("#pf-detect")
    rig.poll(frame, "document.querySelectorAll('#pf-list .pf-cf-item').length >= 1")
    districts = frame.eval_on_selector_all("#pf-f-district option", "os => os.map(o => o.value)")
    assert districts == ["", DISTRICT_B]
    assert frame.query_selector("#pf-detect-start") is None
    page.context.close()


def test_ledger_chart_shows_long_county_names_whole(rig, tmp_path):
    from planfuse.services.layers.versions import make_version_current
    from tests.conflict_world import DISTRICT_A, import_features

    long_name = "彭水苗族土家族自治县"
    # The same in letters: as long on screen whatever CJK fonts the machine has.
    latin_name = "Shizhu Tujia Autonomous County"
    before = (
        import_features(
            rig.pf,
            tmp_path,
            "districts",
            "district",
            [
                ("D1", {"adcode": DISTRICT_A, "name": latin_name}, (0, 0, 10_000, 10_000)),
                ("D2", {"adcode": DISTRICT_B, "name": long_name}, (10_000, 0, 20_000, 10_000)),
            ],
            tag="-long",
        ).version
        - 1
    )
    try:
        save_detection(
            rig.pf, detect(rig.pf, "two_plans"), job_id=None, actor=Actor("browser-test")
        )
        page, frame = open_widget(rig)
        frame.click("#pf-tab-ledger")
        frame.wait_for_selector("#pf-ledger-chart svg text")
        labels = frame.eval_on_selector_all(
            "#pf-ledger-chart svg text.pf-cf-bar-label",
            """ts => ts.map((t) => {
                const svg = t.ownerSVGElement.getBoundingClientRect();
                const box = t.getBoundingClientRect();
                return {text: t.firstChild.textContent, left: box.left - svg.left};
            })""",
        )
        assert {long_name, latin_name} <= {label["text"] for label in labels}, labels
        # Every label starts inside the chart: none is cut at its left edge.
        assert all(label["left"] >= 0 for label in labels), labels
        page.context.close()
    finally:
        make_version_current(rig.pf, "districts", before)
