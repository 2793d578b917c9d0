"""The admin console's layer page in headless Chromium: sign in, import a file, see the new
row; import a bad file, see every bad feature listed."""

import json

import pytest

from tests.layer_files import (
    BOWTIE,
    GOOD,
    JIEFANGBEI,
    SHAPINGBA,
    UNCLOSED,
    feature_collection,
    square,
    write_geojson,
)


@pytest.fixture(scope="module", autouse=True)
def _frontend():
    from embed_browser import build_frontend

    build_frontend()


def test_import_a_layer_and_see_its_row_then_a_bad_file_listed(
    sqlite_app, live_server, new_page, tmp_path
):
    from planfuse.services.admin_tokens import create_admin_token

    app = sqlite_app()
    server = live_server(app)
    token = create_admin_token(app.extensions["planfuse"], "browser admin")[1]
    good = write_geojson(
        tmp_path / "farmland.geojson",
        feature_collection(
            [square(*JIEFANGBEI, 50), square(*SHAPINGBA, 50)], [{}, {}], crs="EPSG:4523"
        ),
    )
    bad = tmp_path / "bad.geojson"
    features = [
        {"type": "Feature", "properties": {}, "geometry": g} for g in (GOOD, BOWTIE, UNCLOSED)
    ]
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.click("nav a:has-text('图层管理')")
    page.wait_for_selector("#upload-form")
    assert page.get_attribute("nav a[aria-current=page]", "href") == "/admin/layers"
    # The table is drawn by the page's script, which may run after the form is there.
    page.wait_for_selector("#layers-body td:has-text('还没有图层')")

    page.set_input_files("#file", str(good))
    page.fill("#layer", "farmland")
    page.select_option("#kind", "basic_farmland")
    page.select_option("#crs", "EPSG:4523")
    page.fill("#name", "<b>永久基本农田</b>")
    page.fill("#department", "规划和自然资源局")
    page.click("#upload-button")
    page.wait_for_selector("#result-h:has-text('导入成功')")
    assert page.get_attribute("#result", "data-outcome") == "ok"
    assert "farmland v1" in page.inner_text("#result-h")
    row = page.wait_for_selector("tr[data-layer=farmland]")
    cells = [c.inner_text() for c in row.query_selector_all("th, td")]
    assert cells[0].startswith("farmland")
    assert cells[1] == "<b>永久基本农田</b>"  # markup stays text
    assert row.query_selector("b") is None
    assert cells[2].startswith("永久基本农田 · Permanent basic farmland")
    assert cells[4:7] == ["EPSG:4523", "v1", "2"]
    assert cells[7].endswith(" ha")
    assert row.query_selector_all("td")[6].get_attribute("title").endswith(" m²")

    # The same id again with a file holding two bad features: nothing stored, both listed.
    page.set_input_files("#file", str(bad))
    page.fill("#layer", "farmland")
    page.select_option("#crs", "EPSG:4490")
    page.click("#upload-button")
    page.wait_for_selector("#result-h:has-text('导入失败')")
    assert page.get_attribute("#result", "data-outcome") == "failed"
    problems = [
        [c.inner_text() for c in tr.query_selector_all("td")]
        for tr in page.query_selector_all("#problems-body tr")
    ]
    assert [p[:4] for p in problems] == [["1", "—", "0", "0"], ["2", "—", "0", "3"]]
    assert "Self-intersection" in problems[0][5] and "not closed" in problems[1][5]
    assert page.inner_text("tr[data-layer=farmland] td:nth-of-type(5)") == "v1"

    # The version link opens the layer's version list.
    page.click("tr[data-layer=farmland] th a")
    page.wait_for_selector("#versions-table")
    assert "admin:browser admin" in page.inner_text("#versions-table")
    # Chromium logs the refused import's 400 response; nothing else may show up.
    errors = [e for e in page.pf_log.console_errors if "status of 400" not in e]
    assert errors == [] and page.pf_log.page_errors == []
    assert page.pf_log.foreign_requests() == []


def test_make_an_earlier_version_current_from_the_versions_page(
    sqlite_app, live_server, new_page, tmp_path
):
    from planfuse.services.admin_tokens import create_admin_token
    from planfuse.storage.models import Layer

    app = sqlite_app()
    ctx = app.extensions["planfuse"]
    server = live_server(app)
    token = create_admin_token(ctx, "browser admin")[1]
    page = new_page()
    page.goto(server.url + "/admin/login")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#embed-form")
    page.goto(server.url + "/admin/layers")
    page.wait_for_selector("#layers-body td:has-text('还没有图层')")
    for places in ([JIEFANGBEI, SHAPINGBA], [SHAPINGBA]):
        file = write_geojson(
            tmp_path / f"farmland-{len(places)}.geojson",
            feature_collection(
                [square(*p, 50) for p in places], [{}] * len(places), crs="EPSG:4523"
            ),
        )
        page.set_input_files("#file", str(file))
        page.fill("#layer", "farmland")
        page.select_option("#kind", "basic_farmland")
        page.select_option("#crs", "EPSG:4523")
        page.click("#upload-button")
        page.wait_for_selector(f"#result-h:has-text('farmland v{3 - len(places)}')")

    page.goto(server.url + "/admin/layers/farmland/versions")
    assert page.inner_text("#current-version") == "2"
    assert not page.is_visible("[data-make-current='2']")
    page.focus("[data-make-current='1']")
    page.keyboard.press("Enter")
    assert page.is_visible("#versions-confirm")
    assert "版本 1" in page.inner_text("#versions-confirm-text")
    # Escape cancels and gives the focus back to the button; nothing changes.
    page.keyboard.press("Escape")
    assert not page.is_visible("#versions-confirm")
    assert page.evaluate("document.activeElement.dataset.makeCurrent") == "1"
    page.keyboard.press("Enter")
    page.click("#versions-confirm-yes")
    page.wait_for_selector("#versions-status:has-text('版本 1 现为当前版本')")
    assert page.inner_text("#current-version") == "1"
    assert "当前 · current" in page.inner_text("tr[data-version='1'] th")
    assert "当前 · current" not in page.inner_text("tr[data-version='2'] th")
    assert page.is_visible("[data-make-current='2']")
    assert not page.is_visible("[data-make-current='1']")
    with ctx.db.session() as session:
        assert session.get(Layer, "farmland").current_version == 1
    page.goto(server.url + "/admin/layers")
    page.wait_for_selector("tr[data-layer=farmland]")
    assert page.inner_text("tr[data-layer=farmland] td:nth-of-type(5)") == "v1"
    assert page.pf_log.console_errors == [] and page.pf_log.page_errors == []
    assert page.pf_log.foreign_requests() == []
