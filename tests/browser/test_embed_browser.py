"""Embedding in a real browser across two origins (headless Debian Chromium, Playwright).

The PlanFuse server and the host app run on different sites (see tests/embed_browser.py);
nothing is mocked. Covers issue 4's browser list: the widget renders inside the host page,
the iframe resizes both ways, events reach the host, a host command reaches the widget, a
token refresh happens without reload, an expired token gives an error event and a message,
a page from an origin not on the app's list cannot frame the widget, blocking third-party
cookies changes nothing, look-alike origins are ignored, and a plain iframe works.
"""

import json

import pytest
from embed_browser import CHROMIUM, CHROMIUM_ARGS, EmbedRig, browser_marks
from flask import Blueprint, jsonify

from planfuse.http.caller import require_caller

pytestmark = browser_marks()

#: The widget session lasts 8 s, so a refresh happens about 6.4 s after the exchange.
SESSION_LIFETIME_S = 8


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    db = tmp_path_factory.mktemp("embed-browser") / "planfuse.db"
    rig = EmbedRig(f"sqlite:///{db}", {"session_lifetime_s": SESSION_LIFETIME_S}, browser)
    bp = Blueprint("browser_test_service", __name__)

    @bp.get("/api/v1/_test/whoami")
    def whoami():
        caller = require_caller(widget="probe")
        return jsonify(app_id=caller.app_id, user=caller.user, params=dict(caller.params))

    rig.server_app.register_blueprint(bp)
    yield rig
    rig.close()


def frame_text(frame, selector: str, timeout_ms: int = 10000) -> str:
    frame.wait_for_selector(selector, timeout=timeout_ms)
    return frame.inner_text(selector)


def iframe_height(page) -> float:
    return page.evaluate("document.querySelector('#slot iframe').getBoundingClientRect().height")


def test_sample_host_page_embeds_every_widget(rig):
    page = rig.open("/?widget=probe")
    page.wait_for_selector("#events-probe li[data-event=ready]", timeout=15000)
    frame = rig.widget_frame(page)
    assert frame_text(frame, "#hello") == "你好，示例审查员"
    src = page.get_attribute("#widget-probe iframe", "src")
    assert src.startswith(rig.server + "/embed/probe?app=")
    assert "token" not in src.split("?", 1)[1].replace("host_origin", "")
    # The token never appears in any URL the browser requested.
    assert all("eyJ" not in r["url"] for r in rig.responses)
    assert page.get_attribute("#widget-probe iframe", "title") == "测试探针组件"
    page.context.close()


def test_resize_events_commands(rig):
    page = rig.rig_page({"params": {"lines": 2}})
    ready = rig.wait_for_event(page, "ready")
    assert ready["widget"] == "probe"
    start = iframe_height(page)

    result = page.evaluate("window.handle.send('lines', {n: 40})")
    assert result == {"n": 40}
    rig.poll(page, "document.querySelector('#slot iframe').getBoundingClientRect().height > 600")
    grown = iframe_height(page)
    assert grown > start + 400
    assert rig.wait_for_event(page, "lines-changed") == {"n": 40}

    page.evaluate("window.handle.send('lines', {n: 1})")
    rig.poll(page, "document.querySelector('#slot iframe').getBoundingClientRect().height < 250")
    assert iframe_height(page) < grown - 400
    # The iframe is as tall as its content: no inner scrolling.
    frame = rig.widget_frame(page)
    assert frame.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")

    assert page.evaluate("window.handle.send('echo', {a: [1, '二']})") == {"a": [1, "二"]}
    with pytest.raises(Exception, match="unknown command"):
        page.evaluate("window.handle.send('nope', {})")
    page.context.close()


def test_token_refresh_happens_without_reload(rig):
    page = rig.rig_page({"claims": {"params": {"project": "P-1"}}})
    rig.wait_for_event(page, "ready")
    frame = rig.widget_frame(page)
    frame.evaluate("window.__notReloaded = true")
    rig.poll(
        frame,
        "Number(document.documentElement.dataset.sessions) >= 2",
        (SESSION_LIFETIME_S + 10) * 1000,
    )
    assert frame.evaluate("window.__notReloaded") is True
    assert page.evaluate("window.tokenCalls") >= 2
    # The new session works, and it still carries the locked params.
    who = page.evaluate("window.handle.send('call', {path: '_test/whoami'})")
    assert who == {"app_id": rig.app_id, "user": "user-1", "params": {"project": "P-1"}}
    assert not [e for e in page.evaluate("window.events") if e["name"] == "error"]
    page.context.close()


def test_expired_token_gives_an_error_event_and_a_message(rig):
    import time

    now = int(time.time())
    token = rig.mint(iat=now - 400, exp=now - 120)
    page = rig.rig_page({"mode": "string", "token": token})
    error = rig.wait_for_event(page, "error")
    assert error["code"] == "token_expired"
    frame = rig.widget_frame(page)
    assert "已过期" in frame_text(frame, "#planfuse-status")
    assert frame.get_attribute("#planfuse-status", "role") == "alert"
    page.context.close()


def test_a_page_on_another_origin_cannot_frame_the_widget(rig):
    # The same SDK call from the look-alike origin: the server's frame-ancestors refuses it.
    page = rig.rig_page(origin=rig.evil)
    error = rig.wait_for_event(page, "error", timeout_ms=20000)
    assert error["code"] in {"origin_denied", "network"}
    assert not [e for e in page.evaluate("window.events") if e["name"] == "ready"]
    for frame in page.frames:
        if frame.url.startswith(rig.server):
            with pytest.raises(Exception):  # noqa: B017 - blocked frames have no document we can read
                frame.inner_text("#hello", timeout=500)
    page.context.close()


def test_lookalike_origins_and_null_are_ignored(rig):
    evil = f"{rig.evil}/t/evil"
    body = (
        '<div id="slot"></div>'
        f'<iframe id="evil" src="{evil}"></iframe>'
        f'<iframe id="evil-null" sandbox="allow-scripts" src="{evil}"></iframe>'
    )
    page = rig.rig_page(body=body)
    rig.wait_for_event(page, "ready")
    page.wait_for_timeout(1500)  # let the hostile frames attack a few times more
    names = [e["name"] for e in page.evaluate("window.events")]
    assert "fake" not in names
    assert names.count("ready") == 1
    evil_frames = [f for f in page.frames if f.url.startswith(rig.evil)]
    assert len(evil_frames) == 2
    for frame in evil_frames:
        assert frame.evaluate("window.attacks") > 3
        # Nobody ever answered on the hostile ports: neither the SDK nor the widget.
        assert frame.evaluate("window.received") == []
    # The widget still works for the real host.
    assert page.evaluate("window.handle.send('echo', {ok: true})") == {"ok": True}
    page.context.close()


def test_third_party_cookies_blocked_changes_nothing(rig, tmp_path):
    profile = tmp_path / "profile"
    (profile / "Default").mkdir(parents=True)
    # Chrome's own preference for "Block third-party cookies".
    prefs = {"profile": {"block_third_party_cookies": True, "cookie_controls_mode": 1}}
    (profile / "Default" / "Preferences").write_text(json.dumps(prefs))
    if True:
        context = rig.browser_type.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            rig.responses.clear()
            page = rig.open(f"{rig.host}/t/page?config=%7B%7D", context=context)
            rig.wait_for_event(page, "ready")
            frame = rig.widget_frame(page)
            assert frame.evaluate("document.cookie") == ""
            assert page.evaluate("window.handle.send('call', {path: '_test/whoami'})")["user"]
            from_server = [r for r in rig.responses if r["url"].startswith(rig.server)]
            assert from_server
            assert not [r for r in from_server if "set-cookie" in r["headers"]]
        finally:
            context.close()


def test_plain_iframe_with_the_token_in_the_fragment(rig):
    token = rig.mint()
    src = f"{rig.server}/embed/probe?app={rig.app_id}&locale=en#token={token}"
    body = f'<iframe id="plain" src="{src}" style="width:100%;height:300px;border:0"></iframe>'
    page = rig.rig_page({"mode": "declarative"}, body=body)
    frame = rig.widget_frame(page)
    assert frame_text(frame, "#hello") == "Hello, 张三"
    assert "#" not in frame.evaluate("location.href")
    assert page.evaluate("document.getElementById('plain').getBoundingClientRect().height") == 300
    page.context.close()


def test_plain_iframe_gets_the_sdk_handle_with_attach(rig):
    # No host_origin in the URL: the app has one origin, so the server names it.
    token = rig.mint()
    src = f"{rig.server}/embed/probe?app={rig.app_id}#token={token}"
    body = f'<iframe id="plain" src="{src}" style="width:100%;height:300px;border:0"></iframe>'
    page = rig.rig_page({"mode": "declarative"}, body=body)
    page.evaluate(
        """() => {
          window.events = [];
          window.handle = PlanFuse.attach(document.getElementById('plain'));
          for (const name of ['ready', 'lines-changed', 'error'])
            window.handle.on(name, (payload) => window.events.push({ name, payload }));
        }"""
    )
    assert rig.wait_for_event(page, "ready")["widget"] == "probe"
    assert page.evaluate("document.getElementById('plain').planfuse === window.handle")
    # Commands over the port the widget offered to the SDK.
    assert page.evaluate("window.handle.send('echo', {a: 1})") == {"a": 1}
    assert page.evaluate("window.handle.send('lines', {n: 3})") == {"n": 3}
    names = [e["name"] for e in page.evaluate("window.events")]
    assert names[0] == "ready" and "error" not in names
    page.context.close()


def test_events_come_after_ready_in_a_stable_order(rig):
    # The probe emits lines-changed inside init, before it is ready: it arrives after ready.
    page = rig.rig_page({"params": {"lines": 3}})
    rig.wait_for_event(page, "lines-changed")
    names = [e["name"] for e in page.evaluate("window.events") if e["name"] != "resize"]
    assert names[:2] == ["ready", "lines-changed"]
    assert page.evaluate("window.events.find((e) => e.name === 'lines-changed').payload") == {
        "n": 3,
        "initial": True,
    }
    page.context.close()


def test_declarative_div_and_custom_element(rig):
    body = (
        f'<div id="d" data-planfuse-widget="probe" data-app="{rig.app_id}" '
        f'data-token-url="/planfuse-token" data-locale="en"></div>'
        f'<planfuse-widget id="c" widget="probe" token="{rig.mint()}"></planfuse-widget>'
    )
    page = rig.rig_page({"mode": "declarative"}, body=body)
    frames = []
    rig.poll(page, "document.querySelectorAll('iframe').length === 2")
    for _ in range(100):
        frames = [f for f in page.frames if f.url.startswith(rig.server + "/embed/probe")]
        if len(frames) == 2:
            break
        page.wait_for_timeout(50)
    texts = sorted(frame_text(f, "#hello") for f in frames)
    assert texts == ["Hello, 示例审查员", "你好，张三"]
    page.context.close()


def test_admin_console_embed_page_previews_and_writes_code(rig):
    from planfuse.services.admin_tokens import create_admin_token

    token = create_admin_token(rig.pf, "browser admin")[1]
    context = rig.browser.new_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(rig.server + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.select_option("#app", rig.app_id)
    page.select_option("#widget", "probe")
    page.select_option("#locale", "en")
    page.fill("#param-project", "P-3")
    page.fill("#theme-primary", "#aa3300")

    snippet = page.inner_text("#snippet")
    assert f"{rig.server}/embed.js" in snippet and 'data-planfuse-widget="probe"' in snippet
    assert "P-3" not in snippet  # locked params belong in the token, not in the page
    page.click("#code-tabs button:has-text('PHP')")
    php = page.inner_text("#code")
    assert "'widget' => 'probe'" in php and "'project' => 'P-3'" in php
    page.click("#code-tabs button:has-text('Java')")
    assert 'claims.set("params", JSON.readTree("{\\"project\\":\\"P-3\\"}"));' in page.inner_text(
        "#code"
    )
    # The helper packages are offered first, beside the plain code.
    tabs = page.eval_on_selector_all("#code-tabs button", "bs => bs.map((b) => b.textContent)")
    assert tabs[:2] == ["Python · planfuse-host", "Node.js · planfuse-host"]
    assert {"Python", "Java", "Node.js", "C#", "PHP"} <= set(tabs)

    page.click("#preview-button")
    rig.poll(page, "document.querySelector('#events li') !== null")
    rig.poll(
        page,
        "[...document.querySelectorAll('#events li')].some(li => / ready /.test(li.textContent))",
    )
    frame = rig.widget_frame(page)
    info = json.loads(frame_text(frame, "#info"))
    assert info["locked"] == {"project": "P-3"} and info["locale"] == "en"
    assert (
        frame.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--pf-primary')"
        )
        == "#aa3300"
    )
    assert problems == []
    context.close()


def test_admin_embed_page_shows_real_theme_values_and_previews_at_once(rig):
    from planfuse.services.admin_tokens import create_admin_token
    from planfuse.services.monitoring.control import start_service, stop_service
    from planfuse.widgets.registry import protocol

    token = create_admin_token(rig.pf, "browser admin")[1]
    context = rig.browser.new_context()
    page = context.new_page()
    problems = []
    warnings = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(rig.server + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    # The fields are drawn once the manifest is in (the form itself is in the page before).
    page.wait_for_selector("[data-theme]")
    # Each theme field holds the value widgets really use, not one example for all.
    defaults = protocol()["theme_defaults"]
    shown = page.eval_on_selector_all(
        "[data-theme]", "xs => Object.fromEntries(xs.map((x) => [x.dataset.theme, x.value]))"
    )
    assert shown == defaults
    assert shown["background"] == "#ffffff" and shown["font-size"] == "14px"
    assert len({shown[n] for n, kind in protocol()["theme"].items() if kind == "color"}) == 8
    # Unchanged values stay out of the snippet; a changed one goes in.
    assert "theme" not in page.inner_text("#snippet")
    page.select_option("#app", rig.app_id)
    page.select_option("#widget", "probe")
    # The preview is there without a click on 预览 · Preview.
    rig.poll(
        page,
        "[...document.querySelectorAll('#events li')].some(li => / ready /.test(li.textContent))",
    )
    assert page.locator("#preview iframe").count() == 1
    # Same-origin with the console: no sandbox that could lift itself, and no browser warning.
    assert page.get_attribute("#preview iframe", "sandbox") is None
    assert not [w for w in warnings if "sandbox" in w.lower()], warnings
    page.fill("#theme-font-size", "16px")
    snippet = page.inner_text("#snippet")
    assert "data-theme=" in snippet and "font-size" in snippet and "16px" in snippet
    assert "#ffffff" not in snippet
    # The widgets as the service catalogue names them: name, department, status; the
    # chosen widget's description links to its 详情.
    label = page.inner_text("#widget option[value='map']")
    assert "一张图组件" in label and "规划和自然资源局" in label and "运行中" in label
    page.select_option("#widget", "map")
    rig.poll(
        page,
        "[...document.querySelectorAll('#events li')].some(li => / ready /.test(li.textContent))",
    )
    assert "规划一张图" in page.inner_text("#widget-hint")
    assert page.get_attribute("#widget-hint a", "href") == "/admin/catalogue?service=widget_map"
    # A stopped widget: marked so, and no preview, saying why.
    stop_service(rig.pf, "widget_map", {"reason": "test"}, by="admin:browser admin")
    try:
        for _ in range(50):
            page.reload()
            page.wait_for_selector("#embed-form")
            if "已停止" in page.inner_text("#widget option[value='map']"):
                break
            page.wait_for_timeout(200)
        page.select_option("#app", rig.app_id)
        page.select_option("#widget", "map")
        note = page.wait_for_selector(".pf-preview-note:has-text('服务目录中停止')")
        assert "stopped" in note.inner_text()
        assert page.locator("#preview iframe").count() == 0
    finally:
        start_service(rig.pf, "widget_map", by="admin:browser admin")
    assert problems == []
    context.close()
