"""The home page lists what the server offers and the layer catalogue, safely."""

from planfuse.services.layers.importer import ImportOptions, import_layer
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


def test_favicon_is_served_and_every_page_links_it(client):
    ico = client.get("/favicon.ico")
    assert ico.status_code == 200
    assert ico.headers["Content-Type"] == "image/vnd.microsoft.icon"
    assert ico.data[:4] == b"\x00\x00\x01\x00"  # an ICO with one image
    assert "max-age=86400" in ico.headers["Cache-Control"]
    ico.close()  # a file response: closed, or its file is left open
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.data.startswith(b"<svg")
    svg.close()
    link = b'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
    assert link in client.get("/").data
    assert link in client.get("/admin/login").data
    assert link in client.get("/no-such-page", headers={"Accept": "text/html"}).data


def test_the_error_page_has_the_pages_policy_both_languages_and_a_way_home(client):
    from planfuse.web.home import HOME_CSP

    for path, method, status, zh in (
        ("/no/such/page", "get", 404, "页面不存在"),
        ("/", "post", 405, "不支持该请求方法"),
    ):
        r = getattr(client, method)(
            path, headers={"Accept": "text/html", "X-Request-Id": "req-err-1"}
        )
        assert r.status_code == status and r.mimetype == "text/html"
        assert r.headers["Content-Security-Policy"] == HOME_CSP
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        html = r.get_data(as_text=True)
        assert zh in html and ("Not Found" in html or "Method Not Allowed" in html)
        assert '<a href="/">返回首页' in html and "Back to the home page" in html
        assert "req-err-1" in html
        assert "<script" not in html


def test_the_error_page_escapes_what_the_request_sent(client):
    r = client.get(
        "/admin/apps/x", headers={"Accept": "text/html", "X-Request-Id": "<script>x</script>"}
    )
    html = r.get_data(as_text=True)
    assert "<script>" not in html and "&lt;script&gt;" in html
