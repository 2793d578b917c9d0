"""The projects widget (项目生成) in a real browser (headless Debian Chromium), embedded through
the SDK by a host page on a second origin (tests/embed_browser.py): the reserve narrowed to
the department the token locks (shown as locked), a project opened from the keyboard with
`project-selected`, the host's `run-pre-study` and `open-project` commands, the schedule as a
Gantt chart with idle funds highlighted and `schedule-computed`, English texts, the print
layout and an axe audit."""

from __future__ import annotations

import pytest
from embed_browser import ROOT, EmbedRig, browser_marks

from planfuse.services.reserve.projects import Scope, create_project
from planfuse.services.reserve.studies import Who, run_pre_study

pytestmark = browser_marks()

EVENTS = ("project-selected", "schedule-computed")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DEPT = "housing_construction"
RED_LINE = {
    "type": "Polygon",
    "coordinates": [
        [[106.45, 29.5], [106.452, 29.5], [106.452, 29.5015], [106.45, 29.5015], [106.45, 29.5]]
    ],
}


def body(name: str, **changes):
    out = {
        "name": name,
        "type": "urban",
        "dept": DEPT,
        "district": "500107",
        "land_use": "0701",
        "area_m2": 20000,
        "geometry": RED_LINE,
        "funds": {"2026": 500, "2027": 500},
        "priority": 3,
        "depends_on": [],
    }
    out.update(changes)
    return out


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("projects-browser")
    rig = EmbedRig(f"sqlite:///{folder / 'planfuse.db'}", {}, browser)
    scope = Scope(app_id=rig.app_id, user_id="user-1")
    who = Who(app_id=rig.app_id, user="user-1", via="session")
    ids = {}
    # A (priority 5) may start either year, B (priority 4) only in 2026; the quota holds one
    # a year: the optimum starts B in 2026 and A in 2027, leaving A's 2026 funds idle.
    ids["A"] = create_project(rig.pf, scope, "user-1", body("城南学校", priority=5))["id"]
    ids["B"] = create_project(
        rig.pf, scope, "user-1", body("滨江安置房", priority=4, latest_year=2026)
    )["id"]
    ids["C"] = create_project(rig.pf, scope, "user-1", body("社区医院", funds={"2027": 300}))["id"]
    ids["T"] = create_project(
        rig.pf, scope, "user-1", body("轨道交通站点", dept="transport", district="500108")
    )["id"]
    for key in ("A", "B"):
        run_pre_study(rig.pf, scope, ids[key], who)
    rig.ids = ids
    yield rig
    rig.close()


def open_widget(rig, locale: str = "zh-CN", params: dict | None = None):
    claims = {"sub": "user-1", "params": params or {"dept": DEPT}}
    page, frame = rig.open_widget("projects", claims, locale=locale, events=EVENTS)
    rig.poll(frame, "document.getElementById('pfp').getAttribute('aria-busy') === 'false'")
    return page, frame


def events(page, name: str) -> list:
    return page.evaluate(f"(window.events || []).filter(e => e.name === '{name}')")


def audit(frame) -> list[str]:
    if not frame.evaluate("typeof window.axe === 'object'"):
        frame.evaluate(AXE.read_text(encoding="utf-8"))
    return frame.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
        .violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )


def test_the_reserve_a_project_and_the_schedule(rig):
    ids = rig.ids
    page, frame = open_widget(rig)

    # The department the token locks: shown as locked, and the list holds only its projects.
    assert "已由宿主系统锁定" in frame.inner_text("#pfp-locks")
    assert frame.evaluate("document.getElementById('pfp-dept').disabled")
    rows = frame.query_selector_all("#pfp-table tbody tr")
    assert [int(r.get_attribute("data-id")) for r in rows] == [ids["A"], ids["B"], ids["C"]]
    assert "可落地" in rows[0].inner_text() and "未预研" in rows[2].inner_text()
    assert "共 3 个项目" in frame.inner_text("#pfp-summary")

    # The status filter narrows the list.
    frame.select_option("#pfp-status", "not_studied")
    rig.poll(frame, "document.querySelectorAll('#pfp-table tbody tr').length === 1")
    frame.select_option("#pfp-status", "")
    rig.poll(frame, "document.querySelectorAll('#pfp-table tbody tr').length === 3")

    # Keyboard: the project's name is a button; Enter opens its page.
    frame.focus(f"#pfp-table tr[data-id='{ids['A']}'] button")
    page.keyboard.press("Enter")
    rig.poll(frame, "!document.getElementById('pfp-project').hidden")
    assert frame.inner_text("#pfp-title") == "城南学校"
    assert "可落地" in frame.inner_text("#pfp-outcome")
    assert "20,000.00 m²" in frame.inner_text("#pfp-facts")
    rig.wait_for_event(page, "project-selected")
    assert events(page, "project-selected")[-1]["payload"] == {
        "id": ids["A"],
        "name": "城南学校",
        "dept": DEPT,
        "district": "500107",
        "pre_study_status": "landable",
    }

    # The host runs the pre-study of C by command; its page opens with the outcome.
    reply = page.evaluate(f"window.handle.send('run-pre-study', {{id: {ids['C']}}})")
    assert reply["id"] == ids["C"] and reply["outcome"] == "landable"
    assert reply["compliance_report_id"].startswith("cr_")
    assert frame.inner_text("#pfp-title") == "社区医院"
    assert "可落地" in frame.inner_text(f"#pfp-table tr[data-id='{ids['C']}']")
    # A project outside the locked department is not found; a bad id is refused.
    refused = page.evaluate(
        f"window.handle.send('open-project', {{id: {ids['T']}}}).then(() => 'ok', e => e.code)"
    )
    assert refused == "not_found"
    bad = page.evaluate(
        "window.handle.send('open-project', {id: 'x'}).then(() => 'ok', e => e.code)"
    )
    assert bad == "invalid_payload"

    # The schedule: the form's own check first, then the optimum as a Gantt chart.
    frame.fill("#pfp-from", "2026")
    frame.fill("#pfp-to", "2027")
    frame.click("#pfp-compute")
    rig.poll(frame, "!document.getElementById('pfp-schedule-error').hidden")
    assert "年度新增建设用地指标" in frame.inner_text("#pfp-schedule-error")
    assert frame.get_attribute("#pfp-quota-500107", "aria-invalid") == "true"
    frame.fill("#pfp-quota-500107", "20000")
    frame.fill("#pfp-budget", "")
    frame.click("#pfp-compute")
    computed = rig.wait_for_event(page, "schedule-computed")
    assert computed["schedule"] == [
        {"project_id": ids["B"], "year": 2026},
        {"project_id": ids["A"], "year": 2027},
    ]
    # C (priority 3) fits in no year: B and A take the quota of both.
    assert computed["unscheduled"] == [{"project_id": ids["C"], "reason": "capacity"}]
    assert computed["optimal"] is True and computed["priority_sum"] == 9
    gantt = frame.inner_text("#pfp-gantt")
    assert "开工" in gantt and "资金闲置" in gantt
    idle = frame.query_selector(f"#pfp-gantt tr[data-id='{ids['A']}'] .pfp-gantt-idle")
    assert idle is not None and "500" in idle.inner_text()
    assert "城南学校" in frame.inner_text("#pfp-gantt")
    assert "500107" in frame.inner_text("#pfp-quota-use")
    assert "闲置资金" in frame.inner_text("#pfp-idle")
    assert not frame.evaluate("document.getElementById('pfp-schedule-export').disabled")

    assert audit(frame) == []

    # Print: the controls give way to the content.
    page.emulate_media(media="print")
    assert not frame.is_visible("#pfp-schedule-form")
    assert frame.is_visible("#pfp-gantt")
    page.emulate_media(media="screen")
    page.close()


def test_english(rig):
    page, frame = open_widget(rig, locale="en")
    assert "Project reserve" in frame.inner_text("#pfp-list-heading")
    assert "Department locked by the host" in frame.inner_text("#pfp-locks")
    assert "3 projects" in frame.inner_text("#pfp-summary")
    assert "Landable" in frame.inner_text("#pfp-table")
    page.close()
