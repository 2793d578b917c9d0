"""The approval widget (协同审批) in a real browser (headless Debian Chromium), on the demo
dataset: one case for the planted project of scenario a (12,345.67 m² of basic farmland)
worked on from three host apps on three origins — the approval portal, natural resources
(规划和自然资源局) and environment (生态环境局) — each embedding the widget through the SDK
(tests/embed_browser.py). Each department sees the frozen evidence and gives only its own
department's opinion (keyboard, the form's own checks, `opinion-submitted`); the portal
opens the case by the `open-case` command, sees every opinion and closes it by the outcome
rule (`case-closed`); the print layout of the 联合审查意见书; an axe audit."""

from __future__ import annotations

import json

import pytest
from approval_world import ENV, NR, plant_conflict
from embed_browser import ROOT, EmbedRig, _serve, browser_marks
from embed_support import claims_for, sign_hs256

from planfuse.auth.apps import create_host_app
from planfuse.auth.caller import Caller
from planfuse.demo import testing as demo
from planfuse.demo.testing import copy_demo_database
from planfuse.services.approval.cases import open_case
from planfuse.services.compliance.projects import register_project
from tests.conftest import TEST_SECRET

pytestmark = browser_marks()

EVENTS = ("opinion-submitted", "case-closed")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser, demo_database_template):
    folder = tmp_path_factory.mktemp("approval-browser")
    url = copy_demo_database(demo_database_template, folder)
    rig = EmbedRig(url, {"secret_key": TEST_SECRET}, browser)
    # A third origin for the environment department: the host app served on another port.
    third, port = _serve(rig._host_server.app)
    rig.third = f"http://host.example.com:{port}"
    nr, nr_secret = create_host_app(rig.pf, NR, [rig.evil])
    env, env_secret = create_host_app(rig.pf, ENV, [rig.third])
    rig.apps = {NR: (nr.id, nr_secret, rig.evil), ENV: (env.id, env_secret, rig.third)}
    a = demo.scenario("a")["input"]
    registered = register_project(
        rig.pf,
        rig.app_id,
        {
            "name": "沙坪坝物流园",
            "geometry": a["geometry"],
            "crs": a["crs"],
            "land_use": a["land_use"],
            "project_type": a["project_type"],
        },
    )
    # A conflict patch exactly over the red line: it overlaps the whole project.
    plant_conflict(rig.pf, geom=demo.shape(a["geometry"]))
    rig.case = open_case(
        rig.pf,
        Caller(app_id=rig.app_id, user=None, via="basic"),
        {
            "project": registered["id"],
            "departments": [{"dept": NR, "app": nr.id}, {"dept": ENV, "app": env.id}],
        },
    )
    yield rig
    third.shutdown()
    rig.close()


def department_page(rig, dept: str, locale: str = "zh-CN", **claims):
    """The widget on the department's own host page (its own app and origin), its token
    naming the department and the approver role, locked to the case and the department."""
    app_id, secret, origin = rig.apps[dept]
    token = sign_hs256(
        claims_for(
            app_id,
            "approval",
            dept=dept,
            roles=["approver"],
            params={"case": rig.case["id"], "department": dept},
            **claims,
        ),
        secret,
    )
    config = {
        "widget": "approval",
        "app_id": app_id,
        "mode": "string",
        "token": token,
        "locale": locale,
        "events": list(EVENTS),
    }
    page = rig.rig_page(config, origin=origin)
    rig.wait_for_event(page, "ready", 30000)
    frame = rig.widget_frame(page)
    rig.poll(frame, "!document.getElementById('pfa-case').hidden")
    return page, frame


def audit(frame) -> list[str]:
    if not frame.evaluate("typeof window.axe === 'object'"):
        frame.evaluate(AXE.read_text(encoding="utf-8"))
    violations = frame.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values:
        ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']}))
        .violations.filter(v => ['serious', 'critical'].includes(v.impact))
        .map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )
    return violations


def test_a_case_across_three_apps_and_origins(rig):
    case_id = rig.case["id"]

    # 规划和自然资源局, on its own origin: the frozen evidence and its own form only.
    page, frame = department_page(rig, NR)
    assert "沙坪坝物流园" in frame.inner_text("#pfa-title")
    assert "已由宿主系统锁定" in frame.inner_text("#pfa-locks")
    rows = frame.query_selector_all("#pfa-departments-table tbody tr")
    assert [r.get_attribute("data-dept") for r in rows] == [NR, ENV]
    assert "（本部门）" in rows[0].inner_text() and "待办" in rows[1].inner_text()
    assert "不通过" in frame.inner_text("#pfa-verdict")
    items = frame.inner_text("#pfa-items")
    # Scenario a's known answer: 12,345.67 m² of basic farmland, 23.58 % of the project.
    assert "永久基本农田" in items and "12,345.67" in items and "23.58%" in items
    conflicts = frame.inner_text("#pfa-conflicts")
    assert "52,345.67" in conflicts and "100.00%" in conflicts
    assert frame.evaluate("!document.getElementById('pfa-form-section').hidden")
    assert frame.evaluate("document.getElementById('pfa-close-section').hidden")
    assert NR in frame.inner_text("#pfa-form-legend")

    # The form's own check: disagreeing needs reasons; nothing is sent.
    frame.check("input[name=opinion][value=disagree]")
    frame.click("#pfa-submit")
    rig.poll(frame, "!document.getElementById('pfa-form-error').hidden")
    assert "不同意须说明理由" in frame.inner_text("#pfa-form-error")
    assert frame.get_attribute("#pfa-reasons", "aria-invalid") == "true"
    assert frame.evaluate("document.activeElement.id") == "pfa-reasons"

    # Keyboard: the radio group by arrow keys, the conditions, then submit.
    frame.focus("input[name=opinion][value=disagree]")
    page.keyboard.press("ArrowUp")
    assert frame.evaluate("document.activeElement.value") == "agree_with_conditions"
    assert frame.evaluate("!document.getElementById('pfa-conditions-field').hidden")
    frame.fill("#pfa-conditions", "落实耕地占补平衡\n办理农用地转用审批")
    # An attachment goes up first and travels with the opinion.
    pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    frame.set_input_files(
        "#pfa-files", {"name": "审查意见.pdf", "mimeType": "application/pdf", "buffer": pdf}
    )
    frame.focus("#pfa-submit")
    page.keyboard.press("Enter")
    submitted = rig.wait_for_event(page, "opinion-submitted")
    assert submitted == {
        "case": case_id,
        "dept": NR,
        "opinion": "agree_with_conditions",
        "revision": 1,
        "conditions": ["落实耕地占补平衡", "办理农用地转用审批"],
        "state": "open",
    }
    # The saved opinion leaves no error or invalid mark behind.
    assert frame.evaluate("document.getElementById('pfa-form-error').hidden")
    assert frame.get_attribute("#pfa-reasons", "aria-invalid") is None
    first_row = frame.inner_text("#pfa-departments-table tbody tr:first-child")
    assert "有条件同意" in first_row and "落实耕地占补平衡" in first_row
    assert "张三" in first_row and "审查意见.pdf" in first_row
    assert audit(frame) == []
    page.context.close()

    # 生态环境局, on a third origin, in English: it disagrees with its reasons.
    page, frame = department_page(rig, ENV, locale="en")
    assert "Agree with conditions" in frame.inner_text("#pfa-departments-table")
    # The department record's English name (生态环境局 is the record ecology_environment).
    assert "Ecology and Environment Bureau" in frame.inner_text("#pfa-form-legend")
    frame.check("input[name=opinion][value=disagree]")
    frame.fill("#pfa-reasons", "The red line reaches a drinking-water protection zone.")
    frame.click("#pfa-submit")
    submitted = rig.wait_for_event(page, "opinion-submitted")
    assert (submitted["dept"], submitted["opinion"], submitted["revision"]) == (
        ENV,
        "disagree",
        1,
    )
    assert audit(frame) == []
    page.context.close()

    # The portal: the case by the host's command, every opinion, closing by the rule.
    page, frame = rig.open_widget(
        "approval", {"roles": ["coordinator"], "dept": "审批科"}, events=EVENTS
    )
    assert frame.evaluate("!document.getElementById('pfa-picker').hidden")
    assert case_id in frame.inner_text("#pfa-case-select")
    reply = page.evaluate(f"window.handle.send('open-case', {{id: {json.dumps(case_id)}}})")
    assert reply == {"id": case_id, "state": "open", "overdue": False}
    text = frame.inner_text("#pfa-departments-table")
    assert "有条件同意" in text and "不同意" in text and "drinking-water" in text
    assert frame.evaluate("document.getElementById('pfa-form-section').hidden")
    assert "任一部门“不同意”即不通过" in frame.inner_text("#pfa-rule")
    refused = page.evaluate(
        "window.handle.send('open-case', {id: 'bad id'}).then(() => 'ok', (e) => e.code)"
    )
    assert refused == "invalid_payload"
    rig.press(page, frame, "#pfa-close")
    closed = rig.wait_for_event(page, "case-closed")
    assert closed == {
        "case": case_id,
        "state": "closed_rejected",
        "rule_outcome": "closed_rejected",
        "overridden": False,
    }
    assert "已办结（不通过）" in frame.inner_text("#pfa-state")
    history = frame.evaluate("document.getElementById('pfa-history').textContent")
    assert "开件" in history and "办结" in history and history.count("第 1 次") == 2

    # Print: the 联合审查意见书 without any control.
    page.emulate_media(media="print")
    display = frame.evaluate(
        """() => Object.fromEntries(['pfa-close-section', 'pfa-form-section', 'pfa-map',
        'pfa-departments-table'].map(id => [id, getComputedStyle(document.getElementById(id))
        .display]))"""
    )
    assert display["pfa-close-section"] == "none" and display["pfa-map"] == "none"
    assert display["pfa-departments-table"] != "none"
    header = frame.evaluate("getComputedStyle(document.querySelector('.pfa-print-header')).display")
    assert header == "block"
    meta = frame.inner_text("#pfa-print-meta")
    assert case_id in meta and "沙坪坝物流园" in meta and rig.case["evidence"]["sha256"] in meta
    page.emulate_media(media="screen")
    assert audit(frame) == []

    # Another case of the project, withdrawn by the portal: the reason is required.
    second = open_case(
        rig.pf,
        Caller(app_id=rig.app_id, user=None, via="basic"),
        {
            "project": rig.case["project"]["id"],
            "departments": [{"dept": NR, "app": rig.apps[NR][0]}],
        },
    )
    page.evaluate(f"window.handle.send('open-case', {{id: {json.dumps(second['id'])}}})")
    rig.press(page, frame, "#pfa-withdraw")
    rig.poll(frame, "!document.getElementById('pfa-close-error').hidden")
    assert "撤回审批件须填写理由" in frame.inner_text("#pfa-close-error")
    frame.fill("#pfa-close-reason", "申请人撤回申请")
    rig.press(page, frame, "#pfa-withdraw")
    rig.poll(page, "window.events.filter(e => e.name === 'case-closed').length === 2")
    withdrawn = rig.wait_for_event(page, "case-closed")
    assert withdrawn == {
        "case": second["id"],
        "state": "withdrawn",
        "rule_outcome": None,
        "overridden": False,
    }
    assert "已撤回" in frame.inner_text("#pfa-state")
    page.context.close()

    # After closing, a department's form is gone.
    page, frame = department_page(rig, NR)
    assert frame.evaluate("document.getElementById('pfa-form-section').hidden")
    page.context.close()
