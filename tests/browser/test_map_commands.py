"""The map widget embedded by a host page on another origin (the two-origin rig of
tests/embed_browser.py): the host drives the shared map through the widget's commands
(overlay, highlight, fit, show-layer, measure) and hears its events (feature-selected,
measured, layer-toggled). Nothing is mocked."""

from __future__ import annotations

import json

import pytest
from embed_browser import EmbedRig, browser_marks
from map_support import LAND_USE_RESIDENTIAL, load_map_dataset
from shapely.geometry import mapping

pytestmark = browser_marks()

PROJECT_CENTER = (106.5925, 29.585)  # an empty stretch between the districts


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    tmp = tmp_path_factory.mktemp("map-rig")
    rig = EmbedRig(f"sqlite:///{tmp / 'planfuse.db'}", {}, browser)
    load_map_dataset(rig.pf, tmp / "layers")
    yield rig
    rig.close()


def project_geojson() -> dict:
    from layer_files import square

    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "p1",
                "geometry": mapping(square(*PROJECT_CENTER, 500)),
                "properties": {"name": "项目红线"},
            }
        ],
    }


def send(page, name: str, payload: dict):
    """Send a host command; returns {"ok": ..., "result"|"error": ...}."""
    return page.evaluate(
        """([name, payload]) => window.handle.send(name, payload).then(
             (result) => ({ ok: true, result }),
             (error) => ({ ok: false, error: { code: error.code, message: error.message } }))""",
        [name, payload],
    )


def events(page, name: str) -> list:
    return page.evaluate(f"window.events.filter(e => e.name === {json.dumps(name)})")


def test_the_host_drives_the_map_and_hears_its_events(rig):
    page = rig.rig_page(
        {
            "widget": "map",
            "claims": {"widget": "map"},
            "params": {
                "center": list(PROJECT_CENTER),
                "zoom": 13,
                "visible": ["districts", "land_use_plan", "roads"],
            },
            "events": ["feature-selected", "measured", "layer-toggled"],
        }
    )
    assert rig.wait_for_event(page, "ready")["widget"] == "map"
    frame = rig.widget_frame(page)
    frame.wait_for_selector(".pf-layer")

    shown = send(
        page, "overlay", {"name": "project", "geojson": project_geojson(), "style": "project"}
    )
    assert shown == {"ok": True, "result": {"features": 1}}
    assert send(page, "highlight", {"overlay": "project", "id": "p1"}) == {
        "ok": True,
        "result": {"found": True},
    }
    assert send(page, "highlight", {"overlay": "project", "id": "nope"})["result"] == {
        "found": False
    }
    assert send(page, "fit", {"target": "project"})["result"] == {"fitted": True}
    assert send(page, "fit", {"target": [106.5, 29.5, 106.6, 29.6]})["result"] == {"fitted": True}
    assert send(page, "fit", {"target": "no-such-thing"})["result"] == {"fitted": False}
    assert send(page, "fit", {"target": "project"})["result"] == {"fitted": True}

    bad = send(page, "overlay", {"name": "x", "geojson": {"type": "Nonsense"}})
    assert bad["ok"] is False and bad["error"]["code"] == "invalid_geojson"
    unknown = send(page, "show-layer", {"id": "no_such_layer"})
    assert unknown["ok"] is False and unknown["error"]["code"] == "unknown_layer"

    # show-layer changes the map and the layer list; a user's toggle reaches the host.
    assert send(page, "show-layer", {"id": "roads", "visible": False})["result"] == {
        "id": "roads",
        "visible": False,
    }
    assert not frame.is_checked("#pf-layer-roads")
    frame.check("#pf-layer-roads")
    assert rig.wait_for_event(page, "layer-toggled") == {"id": "roads", "visible": True}

    # A click on the project (now in the middle of the map) selects it.
    box = frame.locator(".pf-map-canvas .ol-viewport").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    selected = rig.wait_for_event(page, "feature-selected")
    assert selected["overlay"]["overlay"] == "project"
    assert selected["overlay"]["id"] == "p1"
    assert selected["overlay"]["properties"] == {"name": "项目红线"}
    lon, lat = selected["coordinate"]
    assert abs(lon - PROJECT_CENTER[0]) < 0.002 and abs(lat - PROJECT_CENTER[1]) < 0.002
    page.keyboard.press("Escape")

    # Identify on a data layer reports the layer, the fid and the tile attributes.
    send(page, "fit", {"target": [
        LAND_USE_RESIDENTIAL.lon - 0.01, LAND_USE_RESIDENTIAL.lat - 0.01,
        LAND_USE_RESIDENTIAL.lon + 0.01, LAND_USE_RESIDENTIAL.lat + 0.01,
    ]})  # fmt: skip
    page.wait_for_timeout(800)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    rig.poll(page, "window.events.filter(e => e.name === 'feature-selected').length >= 2")
    identified = events(page, "feature-selected")[-1]["payload"]
    top = identified["features"][0]
    assert (top["layer"], top["kind"], top["fid"]) == ("land_use_plan", "land_use_plan", 1)
    assert top["properties"]["code"] == "0701"

    # Measuring, started by the host, reported back when the user finishes.
    assert send(page, "measure", {"kind": "distance"})["result"] == {"kind": "distance"}
    y = box["y"] + box["height"] / 2 + 60
    page.mouse.click(box["x"] + 100, y)
    page.wait_for_timeout(100)
    page.mouse.dblclick(box["x"] + 300, y)
    measured = rig.wait_for_event(page, "measured")
    assert measured["kind"] == "distance"
    assert measured["value_m"] > 0
    assert measured["geometry"]["type"] == "LineString"
    assert len(measured["geometry"]["coordinates"]) == 2
    assert send(page, "measure", {"kind": None})["result"] == {"kind": None}
    assert frame.get_attribute("[data-tool=distance]", "aria-pressed") == "false"
    assert not [e for e in events(page, "error") if e["payload"].get("code") != "invalid_param"]
