"""The monitor widget (规划实施监测评估预警) in a real browser (headless Debian Chromium), on the
demo dataset's planted monitoring data, embedded through the SDK by a host page on a second
origin (tests/embed_browser.py): the indicator cards coloured by the known statuses (渝北
500112 construction land at 95 % of its target: warning; 合川 500117 farmland under its
target: below target), a district clicked on the map for its figures, the series chart with
its target line, the host's `show-indicator` and `show-year` commands with
`indicator-selected`, a change chosen in the list and on the map with `change-selected`, the
annual report built in the widget, English texts, an axe audit, and a session locked to a
district that neither the host's unlocked parameters nor the API can widen."""

from __future__ import annotations

import json

import pytest
from embed_browser import ROOT, EmbedRig, browser_marks
from embed_support import bearer

from planfuse.demo.testing import copy_demo_database
from tests.browser.test_accessibility import assert_focus_visible
from tests.conftest import TEST_SECRET

pytestmark = browser_marks()

EVENTS = ("indicator-selected", "change-selected")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
YUBEI, HECHUAN = "500112", "500117"


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser, demo_database_template):
    folder = tmp_path_factory.mktemp("monitor-browser")
    rig = EmbedRig(
        copy_demo_database(demo_database_template, folder), {"secret_key": TEST_SECRET}, browser
    )
    yield rig
    rig.close()


def ready(rig, frame):
    rig.poll(frame, "document.getElementById('pfm').getAttribute('aria-busy') === 'false'")
    rig.poll(frame, "document.querySelectorAll('#pfm-cards .pfm-card').length > 0")


def open_widget(
    rig, locale: str = "zh-CN", params: dict | None = None, unlocked: dict | None = None
):
    config = {
        "widget": "monitor",
        "claims": {"widget": "monitor", "sub": "planner", "params": params or {}},
        "locale": locale,
        "events": list(EVENTS),
        "params": unlocked or {},
    }
    page = rig.rig_page(config)
    rig.wait_for_event(page, "ready", 30000)
    frame = rig.widget_frame(page)
    ready(rig, frame)
    return page, frame


def card_status(frame, indicator: str) -> str:
    return frame.get_attribute(f"#pfm-cards .pfm-card[data-indicator='{indicator}']", "data-status")


def events(page, name: str) -> list:
    return page.evaluate(f"(window.events || []).filter(e => e.name === {json.dumps(name)})")


def map_centre(frame):
    frame.locator("#pfm-map").scroll_into_view_if_needed()
    box = frame.locator("#pfm-map .ol-viewport").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def audit(frame) -> list[str]:
    if not frame.evaluate("typeof window.axe === 'object'"):
        frame.evaluate(AXE.read_text(encoding="utf-8"))
    return frame.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
        .violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )


def test_cards_map_series_commands_and_changes(rig):
    page, frame = open_widget(rig)
    # The city by default, the latest monitoring year; ten indicators, each with a status.
    assert frame.input_value("#pfm-year") == "2025"
    assert frame.input_value("#pfm-area") == "city"
    assert len(frame.query_selector_all("#pfm-cards .pfm-card")) == 10
    assert "全市 · 2025 年" in frame.inner_text("#pfm-cards-heading")
    # The districts are drawn shaded; the table beside the map lists them with statuses.
    rig.poll(frame, "document.querySelectorAll('#pfm-districts tbody tr').length === 38")

    # The host shows construction land: the district table says 渝北 is at 95 %: warning,
    # 渝中 over its target.
    reply = page.evaluate("window.handle.send('show-indicator', {id: 'construction_land'})")
    assert reply["id"] == "construction_land" and reply["area"] == "city" and reply["year"] == 2025
    selected = rig.wait_for_event(page, "indicator-selected")
    assert selected == reply and selected["name"] == "建设用地总规模"
    yubei = frame.text_content(f"#pfm-districts tr[data-area='{YUBEI}']")
    assert "95.0%" in yubei and "预警" in yubei
    assert "超标" in frame.text_content("#pfm-districts tr[data-area='500103']")
    assert (
        frame.get_attribute(
            "#pfm-cards .pfm-card[data-indicator='construction_land']", "aria-pressed"
        )
        == "true"
    )
    # The series chart: the values as a line, the target as a dashed line, one point a year.
    assert frame.query_selector("#pfm-chart svg .pfm-value-line") is not None
    assert frame.query_selector("#pfm-chart svg .pfm-target-line") is not None
    assert len(frame.query_selector_all("#pfm-chart svg .pfm-point")) == 5

    # A district chosen in the area list frames it on the map; back to the city keeps the view.
    # The city's outlines were read simplified for a city-wide map (zoom-level 9); the chosen
    # district's outline is read again at zoom-level 15 and drawn in its place.
    with page.expect_request(
        lambda r: "/items?" in r.url and "zoom-level=15" in r.url and f"district={HECHUAN}" in r.url
    ) as detail:
        frame.select_option("#pfm-area", HECHUAN)
    assert detail.value.response().status == 200
    rig.poll(frame, f"document.getElementById('pfm-district').textContent.includes('{HECHUAN}')")
    rig.poll(frame, "document.getElementById('pfm').getAttribute('aria-busy') === 'false'")
    rig.poll(frame, "document.getElementById('pfm-cards-heading').textContent.includes('合川区')")
    frame.click("#pfm-back-to-city")
    rig.poll(frame, "document.getElementById('pfm-area').value === 'city'")
    rig.poll(frame, "document.getElementById('pfm').getAttribute('aria-busy') === 'false'")
    frame.wait_for_timeout(400)

    # A click on the district on the map shows its figures: the cards follow, 合川's farmland
    # is under its target.
    x, y = map_centre(frame)
    page.mouse.click(x, y)
    rig.poll(frame, f"document.getElementById('pfm-area').value === '{HECHUAN}'")
    rig.poll(frame, "document.getElementById('pfm').getAttribute('aria-busy') === 'false'")
    rig.poll(frame, "document.getElementById('pfm-cards-heading').textContent.includes('合川区')")
    assert card_status(frame, "farmland") == "below_target"
    assert "不达标" in frame.inner_text("#pfm-cards .pfm-card[data-indicator='farmland']")
    figures = frame.inner_text("#pfm-district")
    assert "合川区" in figures and "建设用地总规模" in figures
    reply = page.evaluate("window.handle.send('show-indicator', {id: 'farmland'})")
    assert (reply["area"], reply["status"], reply["ratio"]) == (HECHUAN, "below_target", 0.96)

    # show-year: the cards, the map and the changes follow; bad years are refused.
    reply = page.evaluate("window.handle.send('show-year', {year: 2024})")
    assert reply["year"] == 2024
    assert frame.input_value("#pfm-year") == "2024"
    assert "2024 年" in frame.inner_text("#pfm-cards-heading")
    first = page.evaluate("window.handle.send('show-year', {year: 2021})")
    assert first == {"year": 2021, "changes": 0}
    assert "第一个监测年份" in frame.inner_text("#pfm-changes-summary")
    refused = page.evaluate(
        "window.handle.send('show-year', {year: 2019}).then(() => 'ok', e => e.code)"
    )
    assert refused == "not_found"
    bad = page.evaluate(
        "window.handle.send('show-year', {year: 'x'}).then(() => 'ok', e => e.code)"
    )
    assert bad == "invalid_payload"
    unknown = page.evaluate(
        "window.handle.send('show-indicator', {id: 'water_use'}).then(() => 'ok', e => e.code)"
    )
    assert unknown == "not_found"
    page.evaluate("window.handle.send('show-year', {year: 2025})")

    # 长寿 (500115): the planted 12,345 m² of new construction on basic farmland in 2025,
    # chosen from the list from the keyboard: the map marks it, the host hears of it.
    frame.select_option("#pfm-area", "500115")
    rig.poll(
        frame,
        "[...document.querySelectorAll('#pfm-changes tbody tr')].length > 0 && "
        "[...document.querySelectorAll('#pfm-changes tbody tr')]"
        ".every(r => r.textContent.includes('长寿区'))",
    )
    rig.poll(frame, "document.getElementById('pfm').getAttribute('aria-busy') === 'false'")
    row = frame.query_selector("#pfm-changes tr[data-id$='basic_farmland'] button")
    assert row is not None
    row.focus()
    page.keyboard.press("Enter")
    chosen = rig.wait_for_event(page, "change-selected")
    assert chosen["district"] == "500115" and chosen["on"] == "basic_farmland"
    assert chosen["year"] == 2025 and chosen["type"] in ("new_construction", "lost_farmland")
    assert (
        frame.get_attribute(f"#pfm-changes tr[data-id='{chosen['id']}']", "aria-current") == "true"
    )
    # The list zoomed the map to the piece: a click on it selects it from the map.
    # The zoom is animated and the district's finer outline may arrive meanwhile: click again
    # (on a loaded machine) until the map has settled on the piece.
    page.evaluate("window.events = window.events.filter(e => e.name !== 'change-selected')")
    for _ in range(10):
        frame.wait_for_timeout(400)
        x, y = map_centre(frame)
        page.mouse.click(x, y)
        if page.evaluate("(window.events || []).some(e => e.name === 'change-selected')"):
            break
    again = rig.wait_for_event(page, "change-selected")
    assert again["id"] == chosen["id"]

    # The annual evaluation report of the district, built from the widget.
    frame.click("#pfm-report-create")
    rig.poll(frame, "document.getElementById('pfm-report-title') !== null")
    assert "长寿区" in frame.inner_text("#pfm-report")
    assert "ES256" in frame.inner_text("#pfm-report")
    rig.poll(frame, "document.querySelectorAll('#pfm-reports tbody tr').length === 1")
    # Its print view opens in a new window (fetched with the session: no token in a URL),
    # with its stylesheet; the XLSX downloads.
    with page.context.expect_page() as popup:
        frame.click("#pfm-report button[data-action='report.print']")
    printed = popup.value
    printed.wait_for_load_state()
    assert "长寿区" in printed.title() and "年度评估报告" in printed.title()
    assert "token" not in printed.url
    assert printed.evaluate("document.styleSheets.length") == 1
    printed.close()
    with page.expect_download() as download:
        frame.click("#pfm-report button[data-action='report.xlsx']")
    assert download.value.suggested_filename == "monitoring-report-2025-500115.xlsx"
    with open(download.value.path(), "rb") as workbook:
        assert workbook.read(2) == b"PK"

    assert audit(frame) == []
    page.close()


def test_a_locked_district_cannot_be_escaped(rig):
    # The host locks 渝北 and passes 合川 as an unlocked parameter: the lock wins.
    rig.responses.clear()
    page, frame = open_widget(rig, params={"district": YUBEI}, unlocked={"district": HECHUAN})
    assert "区县已由宿主系统锁定" in frame.inner_text("#pfm-locks")
    assert frame.evaluate("document.getElementById('pfm-area').disabled")
    options = frame.eval_on_selector_all("#pfm-area option", "os => os.map(o => o.value)")
    assert options == [YUBEI]
    # The known answer: 渝北's construction land at 95 % of its target, a warning.
    assert card_status(frame, "construction_land") == "warning"
    assert "预警" in frame.inner_text("#pfm-cards .pfm-card[data-indicator='construction_land']")
    reply = page.evaluate("window.handle.send('show-indicator', {id: 'construction_land'})")
    assert (reply["area"], reply["status"], reply["ratio"]) == (YUBEI, "warning", 0.95)
    # Only the locked district is on the map and in the table; its changes only.
    rows = frame.eval_on_selector_all(
        "#pfm-districts tbody tr", "rs => rs.map(r => r.dataset.area)"
    )
    assert rows == [YUBEI]
    assert all(
        "渝北区" in r.inner_text() for r in frame.query_selector_all("#pfm-changes tbody tr")
    )
    # A click anywhere on the map stays in 渝北.
    x, y = map_centre(frame)
    page.mouse.click(x + 40, y + 40)
    frame.wait_for_timeout(300)
    assert frame.input_value("#pfm-area") == YUBEI
    # The widget never asked for anything wider, and nothing was refused.
    asked = [r for r in rig.responses if "/api/v1/monitoring/" in r["url"]]
    assert asked and all(r["status"] == 200 for r in asked), [
        (r["url"], r["status"]) for r in asked if r["status"] != 200
    ]
    assert not any("by=city" in r["url"] or HECHUAN in r["url"] for r in asked)

    # The exports hold the locked district only.
    with page.expect_download() as download:
        frame.click("#pfm-export-values-csv")
    assert download.value.suggested_filename == "monitoring-construction_land-2025.csv"
    with open(download.value.path(), encoding="utf-8-sig") as csv_file:
        lines = csv_file.read().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"construction_land,2025,{YUBEI},渝北区,")
    assert lines[1].endswith(",0.95,warning")
    with page.expect_download() as download:
        frame.click("#pfm-export-changes-geojson")
    with open(download.value.path(), encoding="utf-8") as geojson_file:
        collection = json.load(geojson_file)
    assert collection["type"] == "FeatureCollection" and collection["features"]
    assert {f["properties"]["district"] for f in collection["features"]} == {YUBEI}
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in collection["features"])

    # A session of the same token cannot widen it through the API either.
    client = rig.server_app.test_client()
    token = rig.mint("monitor", sub="planner", params={"district": YUBEI})
    session = client.post("/embed/session", json={"token": token}).get_json()["session_token"]
    for url in (
        f"/api/v1/monitoring/values?indicator=farmland&year=2025&district={HECHUAN}",
        "/api/v1/monitoring/values?indicator=farmland&year=2025&by=city",
        f"/api/v1/monitoring/changes?year=2025&district={HECHUAN}",
    ):
        r = client.get(url, headers=bearer(session))
        assert r.status_code == 403 and r.get_json()["errors"][0]["field"] == "district", url
    page.close()


def test_english(rig):
    page, frame = open_widget(
        rig, locale="en", params={"indicators": ["farmland", "construction_land"]}
    )
    assert "Binding indicators" in frame.inner_text("#pfm-cards-heading")
    assert "Indicator set locked by the host" in frame.inner_text("#pfm-locks")
    ids = frame.eval_on_selector_all(
        "#pfm-cards .pfm-card", "cs => cs.map(c => c.dataset.indicator)"
    )
    assert sorted(ids) == ["construction_land", "farmland"]
    assert "Farmland" in frame.inner_text("#pfm-cards")
    # Reports cover every indicator: not offered under an indicator lock.
    assert not frame.is_visible("#pfm-report-create")
    assert "covers every binding indicator" in frame.inner_text("#pfm-report")
    refused = page.evaluate(
        "window.handle.send('show-indicator', {id: 'wetland_area'}).then(() => 'ok', e => e.code)"
    )
    assert refused == "not_found"
    assert audit(frame) == []
    # Every Tab stop (cards, map, tables, buttons) shows where the focus is.
    assert_focus_visible(page, frame, "monitor en")

    # Print: the controls give way to the content.
    page.emulate_media(media="print")
    assert not frame.is_visible("#pfm-controls")
    assert not frame.is_visible("#pfm-export-values-csv")
    assert frame.is_visible("#pfm-cards")
    page.emulate_media(media="screen")
    page.close()


def test_nothing_to_monitor_yet(tmp_path, browser):
    # A server without land-use status or indicators says so, and tells the host.
    empty = EmbedRig(f"sqlite:///{tmp_path / 'empty.db'}", {"secret_key": TEST_SECRET}, browser)
    try:
        config = {
            "widget": "monitor",
            "claims": {"widget": "monitor", "sub": "planner"},
            "locale": "zh-CN",
            "events": list(EVENTS),
        }
        page = empty.rig_page(config)
        error = empty.wait_for_event(page, "error", 30000)
        assert error["code"] == "no_monitoring_data"
        frame = empty.widget_frame(page)
        assert "尚未导入土地利用现状或约束性指标" in frame.inner_text("#planfuse-status")
        assert frame.get_attribute("#pfm", "aria-busy") == "false"
        page.close()
    finally:
        empty.close()
