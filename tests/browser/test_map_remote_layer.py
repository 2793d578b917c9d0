"""The map widget draws a department's registered OGC API – Features collection (param
`remote`) read through PlanFuse's proxy with its widget session: a second PlanFuse
instance's parcels appear as overlay `remote:<id>`; a collection the host app is not
granted is reported and leaves the widget working. Nothing is mocked."""

from __future__ import annotations

import json
import urllib.request

import pytest
from conftest import TEST_SECRET
from embed_browser import EmbedRig, browser_marks

from planfuse.app import create_app
from planfuse.context import build_context
from planfuse.http.problems import problem_dict
from planfuse.services.monitoring.access import set_grant
from planfuse.services.remote.registry import register
from planfuse.settings import load_settings
from tests.api.ogc_fixtures import import_all
from tests.remote_servers import Restartable

pytestmark = browser_marks()


@pytest.fixture(scope="module")
def department(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("department")
    config = {"database_url": f"sqlite:///{tmp / 'dept.db'}", "secret_key": TEST_SECRET}
    loader = build_context(load_settings(config, environ={}), describe_failure=problem_dict)
    loader.db.upgrade()
    import_all(loader, tmp)
    loader.close()
    app = create_app(config)
    server = Restartable(app)
    server.start()
    yield server
    server.stop()
    app.extensions["planfuse"].close()


@pytest.fixture(scope="module")
def rig(tmp_path_factory, browser):
    tmp = tmp_path_factory.mktemp("map-remote-rig")
    rig = EmbedRig(
        f"sqlite:///{tmp / 'planfuse.db'}", {"remote_services_allow_private": True}, browser
    )
    yield rig
    rig.close()


def send(page, name: str, payload: dict):
    return page.evaluate(
        """([name, payload]) => window.handle.send(name, payload).then(
             (result) => ({ ok: true, result }),
             (error) => ({ ok: false, error: { code: error.code, message: error.message } }))""",
        [name, payload],
    )


def test_the_map_draws_a_granted_departments_collection(rig, department):
    base = f"{department.url}/ogc/collections/parcels"
    for service_id in ("eco_parcels", "eco_hidden"):
        register(
            rig.pf,
            {
                "id": service_id,
                "name": {"zh-CN": "生态环境局用地图斑", "en": "Ecology bureau parcels"},
                "dept": "ecology_environment",
                "kind": "ogc_features",
                "base_url": base,
            },
            by="test",
        )
    set_grant(rig.pf, "eco_parcels", rig.app_id, {"allowed": True}, by="test")
    with urllib.request.urlopen(f"{base}/items?limit=1") as answer:
        first = json.load(answer)["features"][0]["id"]

    page = rig.rig_page(
        {
            "widget": "map",
            "claims": {"widget": "map"},
            "params": {"remote": ["eco_parcels", "eco_hidden"], "visible": []},
            "events": ["error"],
        }
    )
    assert rig.wait_for_event(page, "ready")["widget"] == "map"
    # Not granted: said on the page and reported; the granted one is drawn all the same.
    error = rig.wait_for_event(page, "error")
    assert error["code"] == "remote_layer_unavailable" and "eco_hidden" in error["message"]
    frame = rig.widget_frame(page)
    frame.wait_for_selector("[role=status]:has-text('eco_hidden')")
    highlight = "{overlay: 'remote:eco_parcels', id: %s}" % json.dumps(first)  # noqa: UP031
    rig.poll(page, f"window.handle.send('highlight', {highlight}).then(r => r.found, () => false)")
    assert send(page, "fit", {"target": "remote:eco_parcels"}) == {
        "ok": True,
        "result": {"fitted": True},
    }
    # The widget still works: its own commands answer.
    assert send(page, "measure", {"kind": None})["ok"] is True


def test_the_map_draws_wfs_arcgis_and_wms_services_of_a_department(rig, department):
    """The same department server registered as a WFS, an ArcGIS FeatureServer (service
    URL: its first layer), a WMS and an ArcGIS MapServer: the first two drawn as features,
    the last two as pictures of the view fetched with the session; a layer that does not
    exist is named in the error."""
    arcgis = f"{department.url}/arcgis/rest/services/parcels"
    services = {
        "eco_wfs": ("wfs", f"{department.url}/ows"),
        "eco_features": ("arcgis_feature", f"{arcgis}/FeatureServer"),
        "eco_wms": ("wms", f"{department.url}/ows"),
        "eco_map": ("arcgis_map", f"{arcgis}/MapServer"),
    }
    for service_id, (kind, base) in services.items():
        register(
            rig.pf,
            {
                "id": service_id,
                "name": {"zh-CN": f"生态环境局 {kind}", "en": f"Ecology bureau {kind}"},
                "dept": "ecology_environment",
                "kind": kind,
                "base_url": base,
            },
            by="test",
        )
        set_grant(rig.pf, service_id, rig.app_id, {"allowed": True}, by="test")

    def picture(response) -> bool:
        return response.ok and response.headers.get("content-type", "").startswith("image/png")

    page = rig.rig_page(
        {
            "widget": "map",
            "claims": {"widget": "map"},
            "params": {
                "remote": [
                    "eco_wfs/pf:parcels",
                    "eco_features",
                    "eco_wms",
                    "eco_map",
                    "eco_wfs/pf:nothing",
                ],
                "visible": [],
            },
            "events": ["error"],
        }
    )
    with page.expect_response(
        lambda r: "/api/v1/remote/eco_wms?" in r.url and "GetMap" in r.url
    ) as wms:
        assert rig.wait_for_event(page, "ready")["widget"] == "map"
    assert picture(wms.value)
    with page.expect_response(lambda r: "/api/v1/remote/eco_map/export?" in r.url) as export:
        page.evaluate("window.handle.send('fit', {target: 'remote:eco_wfs'})")
    assert picture(export.value)
    error = rig.wait_for_event(page, "error")
    assert error["code"] == "remote_layer_unavailable"
    assert "eco_wfs" in error["message"] and "pf:nothing" in error["message"]
    # Both feature services drew the department's 56 parcels: the last one is there.
    for overlay, last in (("remote:eco_wfs", "parcels.56"), ("remote:eco_features", 56)):
        found = send(page, "highlight", {"overlay": overlay, "id": last})
        assert found == {"ok": True, "result": {"found": True}}, (overlay, found)
        assert send(page, "fit", {"target": overlay}) == {"ok": True, "result": {"fitted": True}}
