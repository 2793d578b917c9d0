"""The home page lists what the server offers and the layer catalogue, safely."""

from planfuse.services.layers import ImportOptions, import_layer
from tests.layer_files import JIEFANGBEI, feature_collection, square, write_geojson


def test_home_page_lists_services_and_layers(client, ctx, tmp_path):
    path = write_geojson(tmp_path / "f.geojson", feature_collection([square(*JIEFANGBEI, 50)]))
    import_layer(
        ctx,
        path,
        ImportOptions(
            layer_id="basic_farmland",
            kind="basic_farmland",
            crs="EPSG:4490",
            name="<b>永久基本农田</b>",
        ),
    )
    r = client.get("/", headers={"Accept": "text/html"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/ogc" in html and "/admin" in html and "openapi.json" in html
    # Layer names are data: escaped, never markup.
    assert "&lt;b&gt;永久基本农田&lt;/b&gt;" in html and "<b>永久基本农田" not in html
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp


def test_home_page_without_layers_says_how_to_get_some(client):
    html = client.get("/").get_data(as_text=True)
    assert "planfuse layers import" in html


def test_error_pages_for_browsers_are_html(client):
    r = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "404" in r.get_data(as_text=True)
