"""The shared map's contract with the server: basemap templates and their CSP sources, the
map widget's manifest, and constants the map shares with the tile server."""

import re
from pathlib import Path

import pytest

from planfuse.embed.basemap import basemap_csp_source, basemap_page_parts, basemap_template
from planfuse.ogc.tiles import TILEJSON_MAXZOOM
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.widgets.registry import WidgetRegistry, load_registry

ROOT = Path(__file__).resolve().parents[3]
MAP_MODEL = (ROOT / "widgets" / "common" / "map-model.js").read_text(encoding="utf-8")
TIANDITU = "https://t{0-7}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk=0123abcd"


@pytest.mark.parametrize(
    ("url", "source"),
    [
        (TIANDITU, "https://*.tianditu.gov.cn"),
        ("http://127.0.0.1:8765/{z}/{x}/{y}.png", "http://127.0.0.1:8765"),
        ("https://Tiles.Example.org/base/{z}/{x}/{-y}.png", "https://tiles.example.org"),
        ("https://{a-c}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
    ],
)
def test_a_basemap_template_allows_exactly_its_host_for_images(url, source):
    assert basemap_template(url) == url
    config, csp = basemap_page_parts(url)
    assert config == {"basemap_url": url}
    assert csp == {"img-src": (source,)}
    assert basemap_csp_source(url) == source


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "https://example.org/tiles/{z}/{x}.png",  # no {y}
        "ftp://example.org/{z}/{x}/{y}.png",
        "javascript:alert(1)//{z}/{x}/{y}",
        "https://user:pw@example.org/{z}/{x}/{y}.png",  # credentials in the URL
        "https://{a-c}/{z}/{x}/{y}.png",  # the whole host a placeholder
        "https://t{0-7}.org/{z}/{x}/{y}.png",  # a wildcard over a whole TLD
        "https://a.{s}.example.org/{z}/{x}/{y}.png",  # a placeholder past the first label
        "https://example.org/{z}/{x}/{y}.png; script-src *",
        'https://example.org/{z}/{x}/{y}.png"',
    ],
)
def test_anything_else_adds_nothing(url):
    assert basemap_template(url) is None
    assert basemap_page_parts(url) == ({}, {})


def test_the_map_widget_registers_and_validates():
    registry = load_registry()
    widget = registry.get("map")
    assert widget is not None
    widget.validate()
    assert widget.template == "map/widget.html"
    assert (widget.templates_dir / "map" / "widget.html").is_file()
    manifest = widget.manifest
    assert set(manifest["commands"]) == {"show-layer", "fit", "overlay", "highlight", "measure"}
    assert set(manifest["events"]) == {"feature-selected", "measured", "layer-toggled"}
    assert manifest["params"]["layers"]["lockable"] is True
    assert manifest["params"]["layers"]["items"] == "string"
    for code, texts in manifest["errors"].items():
        assert set(texts) == {"zh-CN", "en"}, code


def test_the_map_registers_like_a_third_party_widget():
    import planfuse.widgets.map as map_widget

    registry = WidgetRegistry()
    map_widget.register(registry)
    assert registry.names() == ["map"]


def test_the_map_overzooms_beyond_the_tile_servers_maxzoom():
    declared = int(re.search(r"export const TILE_MAX_ZOOM = (\d+);", MAP_MODEL).group(1))
    assert declared == TILEJSON_MAXZOOM


def test_the_map_styles_every_layer_kind_of_the_server():
    order = re.search(r"export const KIND_ORDER = \[(.*?)\];", MAP_MODEL, re.S).group(1)
    assert set(re.findall(r"'(\w+)'", order)) == set(LAYER_KINDS)
    titles = re.search(r"export const KIND_TITLES = \{(.*?)\n\};", MAP_MODEL, re.S).group(1)
    for kind in LAYER_KINDS.values():
        assert f"{kind.name}: {{ 'zh-CN': '{kind.title_zh}'" in titles, kind.name
