"""The map widget (一张图) and the shared map in headless Debian Chromium, against a live
PlanFuse server on loopback with a small imported dataset (tests/map_support.py).

What a person would check: the canvas really draws the tiles (colour where the features
are, nothing elsewhere), identify shows the feature's attributes with markup as text, a
measured line has its true geodesic length, the keyboard zooms, pans, identifies and
measures, the map prints as an image, restricted tiles carry the session token in a header
(never in a URL), a locked layer set is respected, and nothing leaves the machine.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from urllib.parse import quote

import pytest
from embed_support import claims_for, sign_hs256
from flask import Flask, Response
from map_support import (
    DISTRICT_A,
    FARMLAND,
    HOSTILE_NAME,
    LAND_USE_RESIDENTIAL,
    LAYER_IDS,
    Viewport,
    load_map_dataset,
)
from pyproj import Geod

from planfuse.auth.apps import create_host_app
from planfuse.widgets.registry import BUILD_WIDGETS_DIR

pytestmark = pytest.mark.browser

CENTER = (106.585, 29.560)
ZOOM = 13
EVERY_LAYER = list(LAYER_IDS)
#: Between the two districts and north of the road: no feature within 40 pixels at z13.
EMPTY = (106.5925, 29.585)
#: Inside district A only (its pale fill, nothing else).
DISTRICT_ONLY = (106.530, 29.575)
GRS80 = Geod(ellps="GRS80")
#: The brief's tolerance for a measured length or area against the geodesic on GRS80
#: (OpenLayers measures on a sphere: ~0.2–0.3 % off the ellipsoid at 30°N).
MEASURE_TOLERANCE = 0.005
#: Opening the page: bundle, session exchange, catalogue (generous: CI machines are shared).
OPEN_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module", autouse=True)
def _bundles():
    if not (BUILD_WIDGETS_DIR / "map.js").is_file():
        from embed_browser import build_frontend

        build_frontend()


class MapSite:
    """A live PlanFuse with the map dataset and a host app allowed to embed `map`."""

    def __init__(self, server, pf):
        self.server = server
        self.pf = pf
        record, self.secret = create_host_app(pf, "一张图测试", ["https://host.example.com"])
        self.app_id = record.id

    def token(self, **claims) -> str:
        return sign_hs256(claims_for(self.app_id, "map", **claims), self.secret)

    def open(self, page, params=None, *, locale="zh-CN", claims=None, wait=True):
        """Open the map widget page (a plain page with the token in the fragment)."""
        params = {"visible": EVERY_LAYER, "center": list(CENTER), "zoom": ZOOM, **(params or {})}
        params = {k: v for k, v in params.items() if v is not None}
        # String parameters travel as they are, the others as JSON (planfuse.widgets.registry).
        query = "&".join(
            f"param.{k}={quote(v if isinstance(v, str) else json.dumps(v))}"
            for k, v in params.items()
        )
        url = f"{self.server.url}/embed/map?app={self.app_id}&locale={locale}&{query}"
        page.goto(f"{url}#token={self.token(**(claims or {}))}")
        try:
            page.wait_for_selector(".pf-map-canvas .ol-viewport", timeout=OPEN_TIMEOUT_MS)
        except Exception as exc:
            status = page.locator("#planfuse-status")
            text = status.inner_text() if status.count() else "(no status)"
            raise AssertionError(f"the map did not open: {text}; {page.pf_log}") from exc
        if wait:
            poll(page, "document.querySelectorAll('.pf-layer').length > 0")
        return viewport(page, params) if "center" in params else None


@pytest.fixture
def site(live_server, sqlite_app, tmp_path):
    def make(**settings) -> MapSite:
        app = sqlite_app(**settings)
        pf = app.extensions["planfuse"]
        load_map_dataset(pf, tmp_path / "layers")
        return MapSite(live_server(app), pf)

    return make


def poll(page, expression: str, timeout_s: float = 15, arg=None):
    """Evaluate until truthy (Playwright's wait_for_function uses eval, which the widget
    page's CSP forbids; evaluate() does not)."""
    deadline = time.time() + timeout_s
    while True:
        value = page.evaluate(expression, arg)
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        time.sleep(0.05)


def viewport(page, params) -> Viewport:
    box = page.locator(".pf-map-canvas .ol-viewport").bounding_box()
    return Viewport(
        tuple(params["center"]), params["zoom"], box["x"], box["y"], box["width"], box["height"]
    )


# The map's layer canvases composed as the screen shows them (transparent where nothing is
# drawn), read back at CSS-pixel positions inside the map.
READ_PIXELS = """(points) => {
  const vp = document.querySelector('.pf-map-canvas .ol-viewport');
  const r = window.devicePixelRatio || 1;
  const out = document.createElement('canvas');
  out.width = Math.round(vp.clientWidth * r);
  out.height = Math.round(vp.clientHeight * r);
  const g = out.getContext('2d', { willReadFrequently: true });
  for (const c of vp.querySelectorAll('.ol-layer canvas')) {
    if (!c.width) continue;
    const m = (c.style.transform.match(/^matrix\\(([^(]*)\\)$/) || [null, '1,0,0,1,0,0'])[1]
      .split(',').map(Number);
    const o = c.parentNode.style.opacity || c.style.opacity;
    g.globalAlpha = o === '' ? 1 : Number(o);
    g.setTransform(r, 0, 0, r, 0, 0);
    g.transform(...m);
    g.drawImage(c, 0, 0);
  }
  g.setTransform(1, 0, 0, 1, 0, 0);
  const at = ([x, y]) => g.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
  return points.map((p) => Array.from(at(p)));
}"""


def pixels(page, vp: Viewport, places) -> list[list[int]]:
    return page.evaluate(READ_PIXELS, [list(vp.canvas_pixel(*p)) for p in places])


def wait_for_tiles(page, vp: Viewport, also=()) -> None:
    """Until the farmland square and every point of `also` are drawn (each layer's tiles
    fetched, decoded and rendered: on a busy machine one layer's tiles may land seconds
    after another's)."""
    points = [(FARMLAND.lon, FARMLAND.lat), *also]
    deadline = time.time() + 30
    while any(rgba[3] == 0 for rgba in pixels(page, vp, points)):
        if time.time() > deadline:
            raise AssertionError(f"tiles never drew at {points}")
        time.sleep(0.1)
    page.wait_for_timeout(300)


def is_farmland(rgba) -> bool:
    """Yellow-brown farmland fill or its dots (not the pale grey district, not empty)."""
    return rgba[3] > 0 and rgba[0] > rgba[2] + 40


def is_residential(rgba) -> bool:
    """The 07 居住用地 yellow (#FFFF2D at 72 %) over the pale district fill."""
    return rgba[0] > 200 and rgba[1] > 200 and rgba[2] < 120


def assert_clean(page) -> None:
    log = page.pf_log
    assert log.console_errors == []
    assert log.page_errors == []
    assert log.foreign_requests() == []


# --- drawing -------------------------------------------------------------------------------


def test_the_canvas_draws_the_tiles_where_the_features_are_and_nothing_elsewhere(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers)))
    vp = s.open(page)
    wait_for_tiles(
        page, vp, also=[DISTRICT_ONLY, (LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat)]
    )
    farmland, empty, district, residential = pixels(
        page,
        vp,
        [
            (FARMLAND.lon, FARMLAND.lat),
            EMPTY,
            DISTRICT_ONLY,
            (LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat),
        ],
    )
    assert empty[3] == 0, "nothing may be drawn where no feature is"
    assert district[3] > 0, "the district base layer is drawn"
    # Basic farmland is yellow-brown over the pale district; residential land (07) yellow.
    assert farmland[3] > district[3]
    assert is_farmland(farmland) and not is_farmland(district)
    assert is_residential(residential)

    tiles = [(u, h) for u, h in requests if "/tiles/" in u]
    assert tiles, "the map asks for vector tiles"
    assert all(u.endswith(".mvt") and "token" not in u.lower() for u, _ in tiles)
    restricted = [(u, h) for u, h in tiles if "/tiles/sensitive_zones/" in u]
    public = [(u, h) for u, h in tiles if "/tiles/districts/" in u]
    assert restricted and public
    assert all(h.get("authorization", "").startswith("Bearer ") for _, h in restricted)
    assert all("authorization" not in h for _, h in public)
    assert_clean(page)


def test_identify_shows_the_features_attributes_as_text(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page)
    wait_for_tiles(page, vp)
    x, y = vp.pixel(LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat)
    page.mouse.click(x, y)
    page.wait_for_selector(".pf-map-popup:not([hidden]) .pf-map-hit")
    first = page.locator(".pf-map-popup .pf-map-hit").first
    assert first.get_attribute("data-layer") == "land_use_plan"
    assert first.locator("h3").inner_text() == "国土空间规划用地"
    poll(page, "!document.querySelector('.pf-map-popup-pending')")
    rows = dict(
        zip(
            first.locator("tr th").all_inner_texts(),
            first.locator("tr td").all_inner_texts(),
            strict=True,
        )
    )
    assert rows["分类代码"] == "0701 (居住用地)"
    assert rows["名称"] == HOSTILE_NAME
    assert rows["行政区"] == "渝中区 (500103)"
    # The markup stayed text: no element was made from it and nothing ran.
    assert page.locator(".pf-map-popup script, .pf-map-popup b").count() == 0
    assert page.evaluate("window.__pwned") is None
    # Below it, the district the parcel lies in.
    hits = page.locator(".pf-map-popup .pf-map-hit")
    assert [hits.nth(i).get_attribute("data-layer") for i in range(hits.count())] == [
        "land_use_plan",
        "districts",
    ]
    page.click(".pf-map-popup-close")
    assert page.locator(".pf-map-popup").is_hidden()
    assert_clean(page)


# --- measuring -----------------------------------------------------------------------------


def test_a_measured_line_has_its_geodesic_length(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page)
    wait_for_tiles(page, vp)
    page.click("[data-tool=distance]")
    assert page.get_attribute("[data-tool=distance]", "aria-pressed") == "true"
    ax, ay = vp.pixel(*EMPTY)
    a = (ax - 150, ay)
    b = (ax + 150, ay + 40)
    page.mouse.click(*a)
    page.wait_for_timeout(100)
    page.mouse.dblclick(*b)
    result = page.locator(".pf-map-measure-result")
    poll(page, "document.querySelector('.pf-map-measure-result').dataset.value")
    measured_m = float(result.get_attribute("data-value"))
    lon1, lat1 = vp.lonlat(*a)
    lon2, lat2 = vp.lonlat(*b)
    _, _, expected_m = GRS80.inv(lon1, lat1, lon2, lat2)
    assert abs(measured_m - expected_m) / expected_m < MEASURE_TOLERANCE
    assert 4000 < expected_m < 7000  # a real length at this scale (300 px ≈ 5 km)
    assert result.inner_text() == f"距离：{measured_m / 1000:,.3f} km"
    assert_clean(page)


def test_a_measured_area_has_its_geodesic_area_in_m2_and_mu(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page, locale="en")
    wait_for_tiles(page, vp)
    page.click("[data-tool=area]")
    cx, cy = vp.pixel(*EMPTY)
    corners = [(cx - 40, cy - 40), (cx + 40, cy - 40), (cx + 40, cy + 40), (cx - 40, cy + 40)]
    for corner in corners[:-1]:
        page.mouse.click(*corner)
        page.wait_for_timeout(100)
    page.mouse.dblclick(*corners[-1])
    poll(page, "document.querySelector('.pf-map-measure-result').dataset.value")
    result = page.locator(".pf-map-measure-result")
    measured_m2 = float(result.get_attribute("data-value"))
    lons, lats = zip(*(vp.lonlat(*c) for c in corners), strict=True)
    expected_m2 = abs(GRS80.polygon_area_perimeter(lons, lats)[0])
    assert abs(measured_m2 - expected_m2) / expected_m2 < MEASURE_TOLERANCE
    mu = measured_m2 * 15 / 10000
    assert result.inner_text() == f"Area: {measured_m2 / 1e6:,.4f} km² ({mu:,.2f} mu)"
    page.click("[data-tool=clear]")
    assert result.inner_text() == ""
    assert_clean(page)


# --- keyboard ------------------------------------------------------------------------------


def test_the_keyboard_zooms_pans_identifies_and_measures(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    vp = s.open(page)
    wait_for_tiles(page, vp)
    # Tab reaches the map (after the layer list and the toolbar).
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('pf-map-canvas')"):
            break
    else:
        raise AssertionError("Tab never reached the map")
    scale_before = page.inner_text(".ol-scale-line-inner")

    page.keyboard.press("+")
    deadline = time.time() + 10
    while not any("/14/" in u for u in requests if "/tiles/" in u):
        assert time.time() < deadline, "zooming in by keyboard fetched no z14 tiles"
        page.wait_for_timeout(100)
    page.wait_for_timeout(400)
    assert page.inner_text(".ol-scale-line-inner") != scale_before
    page.keyboard.press("-")
    page.wait_for_timeout(400)
    assert page.inner_text(".ol-scale-line-inner") == scale_before

    # Arrow keys pan by 128 pixels: the residential parcel moves left under ArrowRight.
    rx, ry = vp.pixel(LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat)
    left_of_parcel = vp.lonlat(rx - 128, ry)
    assert not is_residential(pixels(page, vp, [left_of_parcel])[0])
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    assert is_residential(pixels(page, vp, [left_of_parcel])[0])
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(500)
    assert is_residential(
        pixels(page, vp, [(LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat)])[0]
    )

    # Enter identifies at the centre (between the districts: nothing there), Escape closes
    # the popup and gives the focus back to the map.
    page.keyboard.press("Enter")
    page.wait_for_selector(".pf-map-popup:not([hidden])")
    assert page.locator(".pf-map-popup-empty").count() == 1
    assert page.evaluate("document.activeElement.classList.contains('pf-map-popup-close')")
    page.keyboard.press("Escape")
    assert page.locator(".pf-map-popup").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('pf-map-canvas')")

    # Measuring by keyboard: Enter adds the centre, arrows move it, Shift+Enter finishes.
    page.focus("[data-tool=distance]")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.classList.contains('pf-map-canvas')")
    start = vp.lonlat(vp.left + vp.width / 2, vp.top + vp.height / 2)
    page.keyboard.press("Enter")
    for _ in range(2):
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Enter")
    poll(page, "document.querySelector('.pf-map-measure-result').dataset.value")
    measured_m = float(page.get_attribute(".pf-map-measure-result", "data-value"))
    end = vp.lonlat(vp.left + vp.width / 2 + 256, vp.top + vp.height / 2)
    expected_m = GRS80.inv(*start, *end)[2]
    assert abs(measured_m - expected_m) / expected_m < MEASURE_TOLERANCE
    # Escape leaves measuring.
    page.keyboard.press("Escape")
    assert page.get_attribute("[data-tool=distance]", "aria-pressed") == "false"
    assert_clean(page)


# --- print ---------------------------------------------------------------------------------


def test_the_map_prints_as_an_image_of_what_it_shows(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page)
    wait_for_tiles(page, vp)
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    src = page.get_attribute(".pf-map-print", "src")
    assert src.startswith("data:image/png;base64,")
    page.emulate_media(media="print")
    assert page.locator(".pf-map-canvas").is_hidden()
    assert page.locator(".pf-map-print").is_visible()
    assert page.locator(".pf-map-tools").is_hidden()
    # The printed image shows the farmland where the screen did.
    fx, fy = vp.canvas_pixel(FARMLAND.lon, FARMLAND.lat)
    ex, ey = vp.canvas_pixel(*EMPTY)
    colours = page.evaluate(
        """async ([src, pts, width]) => {
          const img = new Image(); img.src = src; await img.decode();
          const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
          const g = c.getContext('2d'); g.drawImage(img, 0, 0);
          const r = img.width / width;
          const at = ([x, y]) => g.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data;
          return pts.map((p) => Array.from(at(p)));
        }""",
        [src, [[fx, fy], [ex, ey]], vp.width],
    )
    farmland, empty = colours
    assert empty[:3] == [255, 255, 255]  # paper where nothing is
    assert farmland[:3] != [255, 255, 255] and farmland[0] > farmland[2] + 40
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    page.emulate_media(media="screen")
    page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert page.locator(".pf-map-canvas").is_visible()
    assert_clean(page)


# --- layers, locks, locale, basemap --------------------------------------------------------


def test_the_layer_list_groups_by_kind_shows_departments_and_toggles(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page, {"visible": ["districts", "basic_farmland"]}, locale="en")
    wait_for_tiles(page, vp)
    kinds = page.eval_on_selector_all(".pf-layer-group", "els => els.map(e => e.dataset.kind)")
    assert kinds == [
        "facility",
        "road",
        "control_line",
        "sensitive_zone",
        "basic_farmland",
        "land_use_plan",
        "district",
    ]
    assert page.inner_text("#pf-layer-heading") == "Layers and legend"
    farmland = page.locator(".pf-layer[data-layer=basic_farmland]")
    assert "Department: 规划和自然资源局" in farmland.inner_text()
    assert "restricted" in page.locator(".pf-layer[data-layer=sensitive_zones]").inner_text()
    legend = page.locator(".pf-layer-group[data-kind=land_use_plan] .pf-legend-item")
    assert legend.count() == 24
    assert legend.nth(6).text_content() == "07 Residential"  # in a closed <details>
    assert page.inner_text("[data-tool=distance]") == "Distance"
    # Unchecking the farmland layer removes it from the canvas; the district stays.
    page.uncheck("#pf-layer-basic_farmland")
    page.wait_for_timeout(300)
    farm, district = pixels(page, vp, [(FARMLAND.lon, FARMLAND.lat), DISTRICT_ONLY])
    assert farm == district
    page.check("#pf-layer-basic_farmland")
    page.wait_for_timeout(300)
    assert pixels(page, vp, [(FARMLAND.lon, FARMLAND.lat)])[0] != district
    assert_clean(page)


def test_a_locked_layer_set_is_all_the_widget_offers_or_fetches(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    vp = s.open(page, claims={"params": {"layers": ["districts", "basic_farmland"]}})
    wait_for_tiles(page, vp)
    offered = page.eval_on_selector_all(".pf-layer", "els => els.map(e => e.dataset.layer)")
    assert sorted(offered) == ["basic_farmland", "districts"]
    tile_layers = {u.split("/tiles/")[1].split("/")[0] for u in requests if "/tiles/" in u}
    assert tile_layers == {"basic_farmland", "districts"}
    # `visible` named layers outside the lock: reported, not shown.
    assert "visible" in page.inner_text("#planfuse-status")
    assert_clean(page)


def test_district_param_frames_and_outlines_the_district(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    s.open(page, {"district": "500103", "center": None, "zoom": None})
    deadline = time.time() + 10
    while not any("/ogc/collections/districts/items?district=500103" in u for u in requests):
        assert time.time() < deadline, "the district outline was never asked for"
        page.wait_for_timeout(100)
    # The district now fills the middle of the map: its fill is at the centre.
    box = page.locator(".pf-map-canvas .ol-viewport").bounding_box()
    vp = Viewport(
        (DISTRICT_A.lon, DISTRICT_A.lat), 12, box["x"], box["y"], box["width"], box["height"]
    )
    deadline = time.time() + 10
    while pixels(page, vp, [(DISTRICT_A.lon, DISTRICT_A.lat)])[0][3] == 0:
        assert time.time() < deadline, "the district was not framed"
        time.sleep(0.1)
    assert_clean(page)


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * size
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def basemap_server(live_server):
    tiles = Flask("basemap")
    seen = []

    @tiles.get("/<int:z>/<int:x>/<int:y>.png")
    def tile(z, x, y):
        seen.append((z, x, y))
        response = Response(solid_png((200, 230, 255)), mimetype="image/png")
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    return live_server(tiles), seen


def test_a_configured_basemap_draws_under_the_layers_and_still_prints(site, new_page, live_server):
    tiles, seen = basemap_server(live_server)
    s = site(basemap_url=f"{tiles.url}/{{z}}/{{x}}/{{y}}.png")
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page)
    wait_for_tiles(page, vp)
    deadline = time.time() + 10
    while pixels(page, vp, [EMPTY])[0][3] == 0:
        assert time.time() < deadline, "the basemap never drew"
        time.sleep(0.1)
    assert pixels(page, vp, [EMPTY])[0][:3] == [200, 230, 255]
    assert seen and all(z == ZOOM for z, _, _ in seen)
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.get_attribute(".pf-map-print", "src").startswith("data:image/png")
    assert_clean(page)

    # The embedding page may turn it off.
    seen.clear()
    page2 = new_page(viewport={"width": 1100, "height": 800})
    vp2 = s.open(page2, {"basemap": False})
    wait_for_tiles(page2, vp2)
    assert seen == []
    assert pixels(page2, vp2, [EMPTY])[0][3] == 0
    assert_clean(page2)


def test_without_a_basemap_nothing_is_fetched_from_outside(site, new_page):
    s = site()
    page = new_page(viewport={"width": 1100, "height": 800})
    vp = s.open(page)
    wait_for_tiles(page, vp)
    # Pan and zoom around: still only loopback.
    page.focus(".pf-map-canvas")
    for key in ["-", "-", "ArrowUp", "ArrowLeft", "+"]:
        page.keyboard.press(key)
        page.wait_for_timeout(200)
    assert page.pf_log.requests
    assert_clean(page)
