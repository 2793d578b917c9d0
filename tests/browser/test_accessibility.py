"""Automated accessibility audit (axe-core, WCAG 2.1 A and AA) of every page people use, in
headless Debian Chromium: the four widgets embedded by a host page on a second origin
(tests/embed_browser.py) in a realistic state — a check result, a search result, a detection
with conflicts and the ledgers, layers shown and a feature identified — in zh-CN and in
English; the home page; the sample host app; the admin console's sign-in, embed, layer,
layer version, host app, service and audit log pages. A violation of impact "serious" or "critical"
fails the test, listed with its rule, help text and the elements it was found on.

axe's source goes in with `evaluate()`, which runs as the debugger does and so is not subject
to the pages' CSP (script-src 'self', no eval): the pages are audited under their real CSP,
where an inline <script> tag would be refused.

Beyond axe, the keyboard: on every widget and admin page, each stop of the Tab key shows a
focus indicator (a computed outline or box-shadow); the compliance widget is walked from the
host page in order — the upload and CRS controls, the check button, then print and export and
the checklist rows, where Enter selects an item and moves the map onto it."""

from __future__ import annotations

import json
import time

import pytest
from compliance_world import build_world as build_compliance_world
from compliance_world import project
from embed_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, EmbedRig, browser_marks
from map_support import LAND_USE_RESIDENTIAL, LAYER_IDS, load_map_dataset

from planfuse.services.compliance.projects import register_project
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import detect
from planfuse.services.conflicts.detection_jobs import save_detection
from tests.conflict_world import build_world as build_conflict_world
from tests.siting_world import DISTRICT_A, EXAMPLE
from tests.siting_world import build_world as build_siting_world

pytestmark = browser_marks()

AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The WCAG 2.0 / 2.1 level A and AA rules (axe's tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
LOCALES = ["zh-CN", "en"]

#: Nothing is excluded, not even the map: its canvases pass (they hold no text), and its
#: controls, popup and legend are audited like everything else.
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ') + (n.failureSummary
      ? ' — ' + n.failureSummary.replace(/\\s+/g, ' ').slice(0, 200) : '')),
  }));
}"""


class Audit:
    """Runs axe in a page or a frame (each document is audited on its own) and collects the
    serious and critical violations; `check()` fails the test listing each one."""

    def __init__(self) -> None:
        self.reports: list[str] = []

    def __call__(self, target, name: str) -> None:
        if not target.evaluate("typeof window.axe === 'object'"):
            target.evaluate(AXE_JS.read_text(encoding="utf-8"))
        violations = [
            v for v in target.evaluate(RUN_AXE, WCAG_TAGS) if v["impact"] in FAILING_IMPACTS
        ]
        for v in violations:
            targets = "\n".join(f"      {t}" for t in v["targets"])
            self.reports.append(f"{name}: [{v['impact']}] {v['id']}: {v['help']}\n{targets}")

    def check(self) -> None:
        report = "\n".join(self.reports)
        if report:
            print(report)
        assert not self.reports, f"accessibility violations:\n{report}"


@pytest.fixture
def audit():
    return Audit()


FOCUS_STYLE = """() => {
  const e = document.activeElement;
  if (!document.hasFocus() || !e || e === document.body || e === document.documentElement) {
    return null;  // focus has left this document
  }
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const ring = s.boxShadow !== '' && s.boxShadow !== 'none';
  const label = e.id ? '#' + e.id : e.tagName.toLowerCase() + (e.className && typeof e.className
    === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');
  return { label, visible: outline || ring };
}"""


def walk_focus(page, target, limit: int = 60) -> list[dict]:
    """Tab through `target` (a page or a widget frame) from its top until focus leaves it or
    comes round again; every stop with whether its focus is visible (a computed outline or
    box-shadow, not none)."""
    target.evaluate(
        "document.body.setAttribute('tabindex', '-1'); document.body.focus();"
        "document.body.removeAttribute('tabindex')"
    )
    stops: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = target.evaluate(FOCUS_STYLE)
        if stop is None or (stops and stop == stops[0] and len(stops) > 1):
            break
        stops.append(stop)
    return stops


def assert_focus_visible(page, target, name: str) -> None:
    stops = walk_focus(page, target)
    assert stops, f"{name}: Tab reaches nothing"
    hidden = [s["label"] for s in stops if not s["visible"]]
    assert hidden == [], f"{name}: focus not visible on {hidden}"


@pytest.fixture(scope="module")
def chromium(browser):
    """One Chromium (with the rig's host resolver rules) shared by every rig of the module."""
    if not AXE_JS.is_file():
        pytest.skip("axe-core is not installed (npm ci)")
    launched = browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


def make_rig(tmp_path_factory, browser, chromium, name: str) -> EmbedRig:
    db = tmp_path_factory.mktemp(f"a11y-{name}") / "planfuse.db"
    return EmbedRig(f"sqlite:///{db}", {}, browser, chromium)


# --- compliance ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compliance_rig(tmp_path_factory, browser, chromium):
    rig = make_rig(tmp_path_factory, browser, chromium, "compliance")
    build_compliance_world(rig.pf)
    rig.project = register_project(
        rig.pf,
        rig.app_id,
        {
            "name": "渝北区某住宅项目",
            "geometry": project(-100, 50, 100, 150, crs="EPSG:4523"),
            "crs": "EPSG:4523",
            "land_use": "0701",
            "project_type": "urban",
        },
    )
    yield rig
    rig.close()


def upload_red_line(rig, frame, tmp_path) -> None:
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:4523"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": project(-100, 50, 100, 150, crs="EPSG:4523"),
            }
        ],
    }
    path = tmp_path / "redline.geojson"
    path.write_text(json.dumps(fc))
    frame.set_input_files("#pfc-file", str(path))
    rig.poll(frame, "document.getElementById('pfc-preview').textContent.includes('EPSG:4523')")


@pytest.mark.parametrize("locale", LOCALES)
def test_compliance_widget(compliance_rig, locale, tmp_path, audit):
    rig = compliance_rig
    # The input form as a person meets it, then the result of an uploaded red line.
    page, frame = rig.open_widget("compliance", locale=locale, events=["item-selected"])
    audit(frame, f"compliance {locale}: input form")
    # Checking without a red line: the form says what is missing.
    frame.click("#pfc-check")
    frame.wait_for_selector("#pfc-form-error:not([hidden])")
    audit(frame, f"compliance {locale}: form error")
    upload_red_line(rig, frame, tmp_path)
    frame.select_option("#pfc-land-use", "0701")
    frame.click("#pfc-check")
    rig.wait_for_event(page, "result", 30000)
    frame.wait_for_selector("#pfc-result:not([hidden])")
    frame.click("#pfc-items-body tr[data-rule=basic_farmland] button")
    rig.wait_for_event(page, "item-selected")
    audit(frame, f"compliance {locale}: result, an item selected")
    assert_focus_visible(page, frame, f"compliance {locale}")
    page.context.close()

    # A project locked by the host: checked on open.
    claims = {"params": {"project": rig.project["id"]}}
    page, frame = rig.open_widget("compliance", claims, locale=locale)
    rig.wait_for_event(page, "result", 30000)
    frame.wait_for_selector("#pfc-result:not([hidden])")
    audit(frame, f"compliance {locale}: locked project")
    page.context.close()
    audit.check()


FOCUSED = """() => {
  if (!document.hasFocus()) return { id: null, rule: null, visible: false };
  const e = document.activeElement;
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const ring = s.boxShadow !== '' && s.boxShadow !== 'none';
  return {
    id: e.id || e.tagName.toLowerCase() + (e.name ? '[name=' + e.name + ']' : ''),
    rule: (e.closest('tr[data-rule]') || { dataset: {} }).dataset.rule || null,
    visible: outline || ring,
  };
}"""


#: What the map shows: its layer canvases as data URLs.
MAP_PICTURE = """() => [...document.querySelectorAll('#pfc-map .ol-layer canvas')]
  .map(c => c.width ? c.toDataURL() : '').join('|')"""


def stable_picture(frame, timeout_s: float = 10) -> str:
    """The map's picture once it stops changing (tiles loaded, animations over)."""
    deadline = time.time() + timeout_s
    picture = frame.evaluate(MAP_PICTURE)
    while time.time() < deadline:
        time.sleep(0.3)
        again = frame.evaluate(MAP_PICTURE)
        if again == picture:
            return picture
        picture = again
    raise AssertionError("the map never settled")


def tab_until(page, frame, want, limit: int = 60) -> list[dict]:
    """Press Tab until `want(focused)` holds: every stop in the widget frame on the way, with
    whether its focus is visible."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = frame.evaluate(FOCUSED)
        if focused["id"] is not None:
            stops.append(focused)
        if want(focused):
            return stops
    raise AssertionError(f"Tab never reached the control; stops: {stops}")


def in_order(stops: list[dict], *ids: str) -> bool:
    seen = [s["id"] for s in stops]
    return all(i in seen for i in ids) and [seen.index(i) for i in ids] == sorted(
        seen.index(i) for i in ids
    )


def test_compliance_widget_by_keyboard(compliance_rig, tmp_path):
    rig = compliance_rig
    page, frame = rig.open_widget("compliance", locale="en", events=["item-selected"])
    frame.wait_for_selector("#pfc-crs option", state="attached")
    # From the top of the host page, Tab enters the widget and walks its form in order.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    stops = tab_until(page, frame, lambda f: f["id"] == "pfc-check")
    assert in_order(stops, "pfc-file", "pfc-crs", "pfc-land-use", "pfc-check"), stops
    invisible = [s["id"] for s in stops if not s["visible"]]
    assert invisible == [], f"focus not visible on {invisible}"

    # Fill the form (a test cannot drive the file chooser), then check with Enter.
    upload_red_line(rig, frame, tmp_path)
    frame.select_option("#pfc-land-use", "0701")
    frame.focus("#pfc-check")
    page.keyboard.press("Enter")
    rig.wait_for_event(page, "result", 30000)
    frame.wait_for_selector("#pfc-result:not([hidden])")
    # The verdict takes focus (so a screen reader reads it first); Tab goes on from there to
    # print and export, then the checklist rows.
    rig.poll(frame, "document.activeElement.id === 'pfc-verdict'")
    stops = tab_until(page, frame, lambda f: f["rule"] is not None)
    assert in_order(stops, "pfc-print", "pfc-csv", "pfc-xlsx"), stops
    assert stops[-1]["rule"] == "basic_farmland"
    invisible = [s["id"] for s in stops if not s["visible"]]
    assert invisible == [], f"focus not visible on {invisible}"

    # Enter selects the row, tells the host and moves the map onto its pieces (drawn in the
    # overlap style): what the map shows changes.
    before = stable_picture(frame)
    page.keyboard.press("Enter")
    selected = rig.wait_for_event(page, "item-selected")
    assert selected["rule"] == "basic_farmland"
    assert (
        frame.get_attribute("#pfc-items-body tr[data-rule=basic_farmland] button", "aria-pressed")
        == "true"
    )
    rig.poll(frame, f"({MAP_PICTURE})() !== {json.dumps(before)}", 5000)
    page.context.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_widget_error_page(compliance_rig, locale, audit):
    """A widget opened with a token it refuses shows the error in words."""
    rig = compliance_rig
    context = rig.browser.new_context()
    page = context.new_page()
    page.goto(f"{rig.server}/embed/compliance?app={rig.app_id}&locale={locale}#token=not.a.token")
    page.wait_for_selector("#planfuse-status[data-kind=error]")
    audit(page, f"widget error page {locale}")
    context.close()
    audit.check()


# --- siting --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def siting_rig(tmp_path_factory, browser, chromium):
    rig = make_rig(tmp_path_factory, browser, chromium, "siting")
    build_siting_world(rig.pf, tmp_path_factory.mktemp("a11y-siting-layers"))
    yield rig
    rig.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_siting_widget(siting_rig, locale, audit):
    rig = siting_rig
    claims = {"sub": "user-1", "params": {"districts": [DISTRICT_A]}}
    page, frame = rig.open_widget("siting", claims, locale=locale, events=["site-selected"])
    frame.wait_for_selector("#pf-district-list input")
    audit(frame, f"siting {locale}: conditions")
    conditions = {k: v for k, v in EXAMPLE.items() if k != "scope"}
    page.evaluate(f"window.handle.send('search', {{conditions: {json.dumps(conditions)}}})")
    frame.wait_for_selector("#pf-candidates .pf-candidate-item")
    frame.click("#pf-candidates .pf-candidate-item:first-child button")
    rig.wait_for_event(page, "site-selected")
    audit(frame, f"siting {locale}: candidates, one selected")
    assert_focus_visible(page, frame, f"siting {locale}")
    page.context.close()
    audit.check()


# --- conflicts -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conflicts_rig(tmp_path_factory, browser, chromium):
    rig = make_rig(tmp_path_factory, browser, chromium, "conflicts")
    build_conflict_world(rig.pf, tmp_path_factory.mktemp("a11y-conflict-layers"))
    for analysis in ("two_plans", "three_lines"):
        save_detection(
            rig.pf,
            detect(rig.pf, analysis),
            job_id=None,
            actor=Actor("browser-test"),
        )
    yield rig
    rig.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_conflicts_widget(conflicts_rig, locale, audit):
    rig = conflicts_rig
    claims = {"sub": "user-1", "roles": ["coordinator"], "name": "王协调"}
    page, frame = rig.open_widget("conflicts", claims, locale=locale, events=["conflict-selected"])
    rig.poll(frame, "document.querySelectorAll('#pf-list .pf-cf-item').length > 0", 30000)
    frame.click("#pf-list .pf-cf-item:first-child button")
    rig.wait_for_event(page, "conflict-selected")
    rig.poll(frame, "document.querySelector('#pf-status-form') !== null")
    audit(frame, f"conflicts {locale}: list, a patch selected")
    assert_focus_visible(page, frame, f"conflicts {locale}: list")
    # A status change without its note is refused in the form, the field marked.
    frame.select_option("#pf-form-status", "coordinating")
    frame.click("#pf-status-form button[type=submit]")
    rig.poll(
        frame, "document.getElementById('pf-form-note').getAttribute('aria-invalid') === 'true'"
    )
    audit(frame, f"conflicts {locale}: a refused status change")
    frame.click("#pf-tab-ledger")
    frame.wait_for_selector("#pf-ledger-output table")
    audit(frame, f"conflicts {locale}: ledgers")
    assert_focus_visible(page, frame, f"conflicts {locale}: ledgers")
    page.context.close()
    audit.check()


# --- map -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def map_rig(tmp_path_factory, browser, chromium):
    rig = make_rig(tmp_path_factory, browser, chromium, "map")
    load_map_dataset(rig.pf, tmp_path_factory.mktemp("a11y-map-layers"))
    yield rig
    rig.close()


@pytest.mark.parametrize("locale", LOCALES)
def test_map_widget(map_rig, locale, audit):
    rig = map_rig
    centre = [LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat]
    claims = {"params": {"visible": list(LAYER_IDS), "center": centre, "zoom": 14}}
    page, frame = rig.open_widget("map", claims, locale=locale)
    rig.poll(frame, "document.querySelectorAll('.pf-layer').length > 0", 30000)
    audit(frame, f"map {locale}: layers shown")
    assert_focus_visible(page, frame, f"map {locale}")
    # Identify the parcel under the map's centre by keyboard.
    frame.focus(".pf-map-canvas")
    page.keyboard.press("Enter")
    frame.wait_for_selector(".pf-map-popup:not([hidden]) .pf-map-hit")
    rig.poll(frame, "!document.querySelector('.pf-map-popup-pending')")
    audit(frame, f"map {locale}: a feature identified")
    page.context.close()
    audit.check()


# --- the sample host app -------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_sample_host_page(compliance_rig, locale, audit):
    rig = compliance_rig
    page = rig.open(f"{rig.host}/?locale={locale}")
    rig.widget_frame(page)
    # The host document; the widgets in its frames are audited above.
    audit(page, f"sample host page {locale}")
    page.context.close()
    audit.check()


# --- the home page and the admin console ---------------------------------------------------


@pytest.fixture(scope="module")
def admin_site(tmp_path_factory, chromium):
    from planfuse.app import create_app
    from planfuse.auth.apps import create_host_app
    from planfuse.services.admin_tokens import create_admin_token
    from tests.browser.conftest import TEST_SECRET, LiveServer

    db = tmp_path_factory.mktemp("a11y-admin") / "planfuse.db"
    app = create_app({"database_url": f"sqlite:///{db}", "secret_key": TEST_SECRET})
    ctx = app.extensions["planfuse"]
    ctx.db.upgrade()
    build_compliance_world(ctx, ["basic_farmland", "ecological_redline"])
    create_host_app(ctx, "工程建设项目审批系统", ["https://portal.example.gov.cn"])
    server = LiveServer(app)
    token = create_admin_token(ctx, "browser admin")[1]
    context = chromium.new_context()
    yield server, token, context
    context.close()
    server.stop()
    ctx.close()


def test_home_page(admin_site, audit):
    server, _, context = admin_site
    page = context.new_page()
    page.goto(server.url + "/")
    audit(page, "home page")
    assert_focus_visible(page, page, "home page")
    page.goto(server.url + "/no-such-page")
    assert page.inner_text("h1").startswith("404")
    audit(page, "error page (404)")
    page.close()
    audit.check()


def test_admin_console(admin_site, audit, tmp_path):
    server, token, context = admin_site
    bad_file = tmp_path / "bad.geojson"
    bowtie = [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]
    bad_file.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Polygon", "coordinates": [bowtie]},
                    }
                ],
            }
        )
    )
    page = context.new_page()
    page.goto(server.url + "/admin/login")
    audit(page, "admin sign-in")
    assert_focus_visible(page, page, "admin sign-in")
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    page.wait_for_selector("#token")
    audit(page, "admin sign-in, refused")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    audit(page, "admin embed page")
    page.goto(server.url + "/admin/layers")
    page.wait_for_selector("tr[data-layer=basic_farmland]")
    audit(page, "admin layers page")
    assert_focus_visible(page, page, "admin layers page")
    # A refused import lists the bad features in a table.
    page.set_input_files("#file", str(bad_file))
    page.fill("#layer", "broken")
    page.select_option("#kind", "basic_farmland")
    page.select_option("#crs", "EPSG:4490")
    page.click("#upload-button")
    page.wait_for_selector("#result-h:has-text('导入失败')")
    page.wait_for_selector("#problems-body tr")
    audit(page, "admin layers page, a refused import")
    page.click("tr[data-layer=basic_farmland] th a")
    page.wait_for_selector("#versions-table")
    audit(page, "admin layer versions page")
    assert_focus_visible(page, page, "admin layer versions page")
    page.goto(server.url + "/admin/apps")
    page.wait_for_selector("#apps-body tr")
    audit(page, "admin host apps page")
    assert_focus_visible(page, page, "admin host apps page")
    page.goto(server.url + "/admin/services")
    page.wait_for_selector("tr[data-service]")
    audit(page, "admin services page")
    assert_focus_visible(page, page, "admin services page")
    page.goto(server.url + "/admin/catalogue")
    page.wait_for_selector("tr[data-service=city_plan_ledger_city]")
    audit(page, "admin catalogue page")
    assert_focus_visible(page, page, "admin catalogue page")
    page.click("tr[data-service=city_plan_ledger_city] button")
    page.wait_for_selector("#detail:not([hidden]) #try-form")
    audit(page, "admin catalogue page, a service's details")
    page.goto(server.url + "/admin/chains")
    page.wait_for_selector("#list-status:not(:empty)")
    audit(page, "admin chain editor page")
    assert_focus_visible(page, page, "admin chain editor page")
    page.fill("#document", '{"id": "x"}')
    page.click("#validate")
    page.wait_for_selector("#problems .pf-problems")
    audit(page, "admin chain editor page, a refused document")
    page.goto(server.url + "/admin/audit")
    page.wait_for_selector("#audit-events tr[data-id]")
    audit(page, "admin audit log page")
    assert_focus_visible(page, page, "admin audit log page")
    page.goto(server.url + "/admin/audit?since=yesterday")
    audit(page, "admin audit log page, a refused filter")
    page.close()
    audit.check()
