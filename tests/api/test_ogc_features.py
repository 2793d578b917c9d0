"""OGC API – Features over HTTP, on SQLite and PostgreSQL, with known answers computed from
the stored geometry."""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

import pytest
import shapely
from pyproj import Transformer

from tests.api.ogc_fixtures import (
    DISTRICT_A,
    import_all,
    import_geojson,
    parcel_features,
    stored,
)

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def _get(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.get_data(as_text=True))
    return response


def _walk(client, url):
    """Follow `next` links; returns (ids in visiting order, numberMatched of each page)."""
    ids, matched = [], []
    pages = 0
    while url:
        body = _get(client, url).get_json()
        ids += [f["id"] for f in body["features"]]
        matched.append(body["numberMatched"])
        assert body["numberReturned"] == len(body["features"])
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = None
        if nxt:
            parts = urlsplit(nxt[0])
            url = f"{parts.path}?{parts.query}"
        pages += 1
        assert pages < 100
    return ids, matched


# --- landing page, conformance, collections ------------------------------------------------


def test_landing_page_links(client):
    body = _get(client, "/ogc").get_json()
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    assert _get(client, "/ogc/").get_json() == body


def test_conformance_lists_what_is_implemented(client):
    classes = _get(client, "/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30" in classes
    assert not any("html" in c for c in classes)


def test_api_definition_is_valid_openapi_and_covers_the_routes(client, app):
    from openapi_spec_validator import validate

    landing = _get(client, "/ogc").get_json()
    href = next(link["href"] for link in landing["links"] if link["rel"] == "service-desc")
    r = _get(client, urlsplit(href).path)
    assert r.mimetype == "application/vnd.oai.openapi+json"
    assert r.headers["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = r.get_json()
    validate(doc)
    routed = {
        rule.rule.replace("<", "{").replace(">", "}")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/ogc", "/tiles"))
    }
    routed = {p.rstrip("/") for p in routed}
    renamed = {
        "{collection_id}": "{collectionId}",
        "{feature_id}": "{featureId}",
        "{layer_id}": "{layerId}",
        "{tms_id}": "{tileMatrixSetId}",
        "{tile_matrix}": "{tileMatrix}",
        "{tile_row}": "{tileRow}",
        "{tile_col}": "{tileCol}",
    }
    for old, new in renamed.items():
        routed = {p.replace(old, new) for p in routed}
    assert routed == set(doc["paths"])


def test_collections_describe_every_layer_with_crs(client, data):
    body = _get(client, "/ogc/collections").get_json()
    ids = [c["id"] for c in body["collections"]]
    assert ids == ["districts", "facilities", "parcels", "roads"]
    parcels = _get(client, "/ogc/collections/parcels").get_json()
    assert parcels["title"] == "用地规划"
    assert parcels["storageCrs"] == EPSG + "4490"
    required = [CRS84] + [EPSG + c for c in ("4490", "4326", "4523", "4524", "4525")]
    required += [EPSG + c for c in ("4544", "4545", "4546", "3857")]
    assert set(required) <= set(parcels["crs"])
    spatial = parcels["extent"]["spatial"]
    assert spatial["crs"] == CRS84
    west, south, east, north = spatial["bbox"][0]
    assert (west, south) == pytest.approx((106.50, 29.50))
    assert (east, north) == pytest.approx((106.68, 29.65))
    # The storage CRS (EPSG:4490) lists latitude first.
    assert spatial["storageCrsBbox"][0] == pytest.approx([south, west, north, east])
    assert {link["rel"] for link in parcels["links"]} >= {"self", "items"}


def test_items_are_geojson_with_content_crs(client, data):
    r = _get(client, "/ogc/collections/parcels/items")
    assert r.mimetype == "application/geo+json"
    assert r.headers["Content-Crs"] == f"<{CRS84}>"
    body = r.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == 56
    assert body["numberReturned"] == 10  # ogc_limit_default
    assert [f["id"] for f in body["features"]] == list(range(1, 11))
    first = body["features"][0]
    assert first["properties"]["code"] == "0701"
    assert first["properties"]["district"] == DISTRICT_A
    r = _get(client, "/ogc/collections/parcels/items?f=json")
    assert r.mimetype == "application/json"


# --- paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "&bbox=106.515,29.515,106.565,29.545",
        "&code=0701",
        "&code=0701&code=1001",
        "&bbox=106.5,29.5,106.7,29.7&code=1601",
        "&district=500107",
    ],
)
def test_paging_walks_every_feature_exactly_once(client, data, query):
    ids, matched = _walk(client, f"/ogc/collections/parcels/items?limit=7{query}")
    assert len(ids) == len(set(ids)), "a feature was served twice"
    assert ids == sorted(ids)
    assert set(matched) == {len(ids)}
    everything, _ = _walk(client, "/ogc/collections/parcels/items?limit=1000")
    assert set(ids) <= set(everything)
    if not query:
        assert ids == list(range(1, 57))


def test_prev_and_self_links(client, data):
    body = _get(client, "/ogc/collections/parcels/items?limit=5&offset=10&code=0701").get_json()
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "offset=5" in links["prev"] and "code=0701" in links["prev"]
    assert "offset=10" in links["self"]
    last = _get(client, "/ogc/collections/parcels/items?limit=50&offset=50").get_json()
    assert last["numberReturned"] == 6
    assert "next" not in {link["rel"] for link in last["links"]}
    beyond = _get(client, "/ogc/collections/parcels/items?offset=500").get_json()
    assert beyond["features"] == [] and beyond["numberMatched"] == 56


# --- bbox: exactly the features whose geometry intersects ----------------------------------


BOXES = [
    (106.515, 29.515, 106.565, 29.545),  # across grid squares
    (106.63, 29.63, 106.64, 29.64),  # inside the L's bbox, outside the L
    (106.667, 29.507, 106.673, 29.513),  # inside the hole
    (106.50, 29.50, 106.70, 29.70),  # everything
    (106.5075, 29.5075, 106.5078, 29.5078),  # inside the first tiny parcel
    (106.506, 29.50, 106.506, 29.6),  # a vertical line on the squares' right edges
    (106.52, 29.505, 106.53, 29.505),  # a horizontal line
    (106.575, 29.505, 106.59, 29.52),  # off the right edge of the grid, touching
]


@pytest.mark.parametrize("box", BOXES)
@pytest.mark.parametrize("layer", ["parcels", "roads", "facilities"])
def test_bbox_returns_exactly_the_intersecting_features(client, data, layer, box):
    geoms = stored(data, layer)
    query = shapely.box(*box) if box[0] < box[2] and box[1] < box[3] else None
    if query is None:
        query = shapely.LineString([box[:2], box[2:]])
    expected = sorted(fid for fid, g in geoms.items() if g.intersects(query))
    bbox = ",".join(str(v) for v in box)
    body = _get(client, f"/ogc/collections/{layer}/items?bbox={bbox}&limit=1000").get_json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected)


def test_bbox_crs_in_a_gauss_kruger_zone_and_in_latlon_order(client, data):
    geoms = stored(data, "parcels")
    target = geoms[20].centroid
    to_4523 = Transformer.from_crs("EPSG:4490", "EPSG:4523", always_xy=True)
    easting, northing = to_4523.transform(target.x, target.y)
    assert 35_000_000 < easting < 36_000_000
    # EPSG:4523 lists northing first, so the bbox does too.
    bbox = f"{northing - 50},{easting - 50},{northing + 50},{easting + 50}"
    url = f"/ogc/collections/parcels/items?bbox={bbox}&bbox-crs={EPSG}4523"
    assert [f["id"] for f in _get(client, url).get_json()["features"]] == [20]
    bbox = f"{target.y - 0.0005},{target.x - 0.0005},{target.y + 0.0005},{target.x + 0.0005}"
    url = f"/ogc/collections/parcels/items?bbox={bbox}&bbox-crs={EPSG}4490"
    assert [f["id"] for f in _get(client, url).get_json()["features"]] == [20]
    # The same numbers read as CRS84 (lon,lat) put latitude at 106°: off the world.
    r = client.get(f"/ogc/collections/parcels/items?bbox={bbox}")
    assert r.status_code == 400
    assert "outside the world" in r.get_json()["detail"]


def test_bbox_crs_projected_large_box_counts_exactly(client, data):
    """A GK bbox is not a lon/lat rectangle: the count must follow its true shape."""
    geoms = stored(data, "parcels")
    to_4545 = Transformer.from_crs("EPSG:4490", "EPSG:4545", always_xy=True)
    e0, n0 = to_4545.transform(106.512, 29.512)
    e1, n1 = to_4545.transform(106.566, 29.548)
    from_4545 = Transformer.from_crs("EPSG:4545", "EPSG:4490", always_xy=True)
    box = shapely.segmentize(shapely.box(e0, n0, e1, n1), 10)
    ring = [from_4545.transform(x, y) for x, y in box.exterior.coords]
    query = shapely.Polygon(ring)
    expected = sorted(fid for fid, g in geoms.items() if g.intersects(query))
    url = f"/ogc/collections/parcels/items?bbox={n0},{e0},{n1},{e1}&bbox-crs=EPSG:4545&limit=100"
    body = _get(client, url).get_json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected)


# --- output CRS and axis order --------------------------------------------------------------


def _ring(client, crs: str | None):
    """The response and exterior ring of parcel 1 (the square 106.500–106.506°E,
    29.500–29.506°N) in `crs`."""
    url = "/ogc/collections/parcels/items/1" + (f"?crs={crs}" if crs else "")
    r = _get(client, url)
    return r, r.get_json()["geometry"]["coordinates"][0]


def _expected_ring(data, target: str, north_first: bool):
    ring = list(stored(data, "parcels")[1].exterior.coords)
    t = Transformer.from_crs("EPSG:4490", target, always_xy=True)
    out = []
    for lon, lat in ring:
        x, y = t.transform(lon, lat)
        out += [y, x] if north_first else [x, y]
    return out


def _flat(ring):
    return [v for vertex in ring for v in vertex]


def test_crs84_is_lon_lat(client, data):
    r, ring = _ring(client, None)
    assert r.headers["Content-Crs"] == f"<{CRS84}>"
    assert _flat(ring) == pytest.approx(_expected_ring(data, "EPSG:4490", north_first=False))
    assert [106.5, 29.5] in ring


def test_epsg_4490_and_4326_are_lat_lon(client, data):
    for code in ("4490", "4326"):
        r, ring = _ring(client, EPSG + code)
        assert r.headers["Content-Crs"] == f"<{EPSG}{code}>"
        assert [29.5, 106.5] in ring
        assert _flat(ring) == pytest.approx(_expected_ring(data, "EPSG:4490", north_first=True))


def test_gauss_kruger_zone_35_has_prefixed_eastings(client, data):
    r, ring = _ring(client, EPSG + "4523")
    assert r.headers["Content-Crs"] == f"<{EPSG}4523>"
    # EPSG:4523 defines northing (X) first, easting (Y, zone-prefixed) second.
    expected = _expected_ring(data, "EPSG:4523", north_first=True)
    assert _flat(ring) == pytest.approx(expected, abs=1e-3)
    assert all(int(vertex[1] // 1_000_000) == 35 for vertex in ring)
    items = _get(client, f"/ogc/collections/parcels/items?crs={EPSG}4523&limit=56").get_json()
    eastings = [f["geometry"]["coordinates"][0][0][1] for f in items["features"]]
    assert all(35_000_000 < e < 36_000_000 for e in eastings)


def test_unprefixed_zone_and_web_mercator(client, data):
    _, ring = _ring(client, "EPSG:4545")
    assert _flat(ring) == pytest.approx(
        _expected_ring(data, "EPSG:4545", north_first=True), abs=1e-3
    )
    assert all(vertex[1] < 1_000_000 for vertex in ring)
    _, ring = _ring(client, EPSG + "3857")
    assert _flat(ring) == pytest.approx(
        _expected_ring(data, "EPSG:3857", north_first=False), abs=1e-3
    )


# --- property filters -----------------------------------------------------------------------


def test_property_filter_matches_values(client, data):
    codes = [f["properties"]["code"] for f in parcel_features()]
    body = _get(client, "/ogc/collections/parcels/items?code=1001&limit=100").get_json()
    assert [f["id"] for f in body["features"]] == [
        i + 1 for i, c in enumerate(codes) if c == "1001"
    ]
    body = _get(client, "/ogc/collections/parcels/items?rank=2&limit=100").get_json()
    assert body["numberMatched"] == 16  # numbers compare as text
    body = _get(client, "/ogc/collections/roads/items?class=expressway").get_json()
    assert [f["properties"]["name"] for f in body["features"]] == ["内环快速路"]


@pytest.mark.parametrize(
    "value",
    [
        "0701' OR '1'='1",
        "0701'; DROP TABLE features; --",
        '0701") OR 1=1 --',
        "%",
        "*",
    ],
)
def test_sql_in_a_filter_value_is_just_a_value(client, data, value):
    r = client.get("/ogc/collections/parcels/items", query_string={"code": value})
    assert r.status_code == 200
    assert r.get_json()["numberMatched"] == 0
    assert _get(client, "/ogc/collections/parcels/items").get_json()["numberMatched"] == 56


def test_a_limit_above_the_maximum_is_capped(client, data):
    body = _get(client, "/ogc/collections/parcels/items?limit=10001").get_json()
    assert body["numberReturned"] == 56
    body = _get(client, "/ogc/collections/parcels/items?limit=99999999999999999999999").get_json()
    assert body["numberReturned"] == 56


# --- bad input: every one a 4xx problem ----------------------------------------------------

BAD_ITEMS_QUERIES = [
    ("limit=0", 400),
    ("limit=-1", 400),
    ("limit=abc", 400),
    ("limit=1.5", 400),
    ("offset=-1", 400),
    ("offset=x", 400),
    ("offset=1e3", 400),
    ("bbox=1,2,0,3", 400),
    ("bbox=0,3,1,2", 400),
    ("bbox=-190,0,0,10", 400),
    ("bbox=0,-95,10,10", 400),
    ("bbox=0,0,181,1", 400),
    ("bbox=1,2,3", 400),
    ("bbox=a,b,c,d", 400),
    ("bbox=nan,0,1,1", 400),
    ("bbox=0,0,inf,1", 400),
    ("bbox=", 400),
    (f"bbox=29,106,30,107&bbox-crs={EPSG}4490&bbox-crs={EPSG}4326", 400),
    (f"bbox-crs={EPSG}4490", 400),
    (f"crs={EPSG}9999999", 400),
    (f"crs={EPSG}2000", 400),
    ("crs=EPSG:32648", 400),
    ("crs=not-a-crs", 400),
    ("crs=BD-09", 400),
    (f"bbox=0,0,1,1&bbox-crs={EPSG}32648", 400),
    ("nope=1", 400),
    ("code;DROP TABLE features=1", 400),
    ("code)--=1", 400),
    ("code=%00", 400),
    ("code=a%0Ab", 400),
    ("datetime=2020-01-01T00:00:00Z", 400),
    ("f=xml", 400),
]


@pytest.mark.parametrize(("query", "status"), BAD_ITEMS_QUERIES)
def test_bad_items_input_is_a_problem(client, data, query, status):
    r = client.get(f"/ogc/collections/parcels/items?{query}")
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    assert r.get_json().keys() >= PROBLEM_KEYS


ODD_BUT_NOT_SERVER_ERRORS = [
    f"bbox=0,0,1,1&bbox-crs={EPSG}4523",
    f"bbox=-1e30,-1e30,1e30,1e30&bbox-crs={EPSG}3857",
    f"bbox=3e6,3.5e7,3.1e6,3.6e7&bbox-crs={EPSG}4545",
    "bbox=-180,-90,180,90",
    "bbox=106.5,29.5,106.5,29.5",
    "offset=2147483647&limit=10000",
    "offset=2147483647&code=0701",
    "limit=10000&crs=EPSG:3857",
    "code=" + "%E4%BD%8F%E5%AE%85",
    "district=",
]


@pytest.mark.parametrize("query", ODD_BUT_NOT_SERVER_ERRORS)
def test_odd_queries_are_never_server_errors(client, data, query):
    r = client.get(f"/ogc/collections/parcels/items?{query}")
    assert r.status_code in (200, 400), r.get_data(as_text=True)
    if r.status_code == 400:
        assert r.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/collections/nothing",
        "/ogc/collections/nothing/items",
        "/ogc/collections/nothing/items/1",
        "/ogc/collections/parcels/items/57",
        "/ogc/collections/parcels/items/0",
        "/ogc/collections/parcels/items/-1",
        "/ogc/collections/parcels/items/abc",
        "/ogc/collections/parcels/items/99999999999999999999",
        "/ogc/collections/" + "x" * 300,
        "/ogc/collections/%00",
        "/ogc/collections/a%00b/items",
        "/ogc/collections/%E4%BD%8F/items/1",
        "/ogc/collections/Parcels",
    ],
)
def test_unknown_collection_or_feature_is_404(client, data, url):
    r = client.get(url)
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert r.get_json().keys() >= PROBLEM_KEYS


def test_single_feature_rejects_list_parameters(client, data):
    r = client.get("/ogc/collections/parcels/items/1?bbox=0,0,1,1")
    assert r.status_code == 400
    assert client.get(f"/ogc/collections/parcels/items/1?crs={EPSG}1").status_code == 400


# --- restricted layers ------------------------------------------------------------------------


@pytest.fixture
def restricted(ctx, tmp_path):
    import_geojson(
        ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5], restricted=True
    )
    return "secret"


def test_restricted_layer_needs_a_token(client, restricted, admin_token):
    for url in (
        "/ogc/collections/secret/items",
        "/ogc/collections/secret/items/1",
    ):
        r = client.get(url)
        assert r.status_code == 401
        assert r.mimetype == "application/problem+json"
        assert "WWW-Authenticate" in r.headers
        r = client.get(url, headers={"Authorization": f"Bearer {admin_token}"})
        assert r.status_code == 200
    bad = client.get("/ogc/collections/secret/items", headers={"Authorization": "Bearer pfa_nope"})
    assert bad.status_code in (401, 403)
    # Metadata stays public, like the layer catalogue.
    assert client.get("/ogc/collections/secret").status_code == 200


def test_restricted_layer_accepts_host_app_credentials_and_sessions(
    embed_client, pf, host, tmp_path
):
    from planfuse.auth.sessions import issue_session
    from planfuse.auth.tokens import validate_embed_token

    import_geojson(pf, tmp_path, "secret", "basic_farmland", parcel_features()[:3], restricted=True)
    basic = base64.b64encode(f"{host.id}:{host.secret}".encode()).decode()
    r = embed_client.get(
        "/ogc/collections/secret/items", headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200 and r.get_json()["numberMatched"] == 3
    wrong = base64.b64encode(f"{host.id}:wrong".encode()).decode()
    r = embed_client.get(
        "/ogc/collections/secret/items", headers={"Authorization": f"Basic {wrong}"}
    )
    assert r.status_code == 401
    session, _ = issue_session(pf, validate_embed_token(pf, host.token()))
    r = embed_client.get(
        "/ogc/collections/secret/items", headers={"Authorization": f"Bearer {session}"}
    )
    assert r.status_code == 200


# --- the layer catalogue -----------------------------------------------------------------------


def test_layer_catalogue_fields(client, data):
    layers = _get(client, "/api/v1/layers").get_json()["layers"]
    parcels = next(entry for entry in layers if entry["id"] == "parcels")
    for name in ("id", "name", "kind", "department", "crs", "version", "feature_count", "bbox"):
        assert name in parcels
    assert "updated" in parcels
    assert parcels["kind"] == "land_use_plan"
    assert parcels["crs"] == "EPSG:4490"
    assert parcels["version"] == 1
    assert parcels["feature_count"] == 56
    assert parcels["bbox"] == pytest.approx([106.50, 29.50, 106.68, 29.65])


# --- GCJ-02 for web maps on AMap / Tencent basemaps ----------------------------------------

GCJ02_URI = "urn:planfuse:crs:GCJ-02"


def _gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS 84 → GCJ-02 by the published algorithm (Krasovsky 1940 ellipsoid), written out
    here independently of the server's implementation."""
    import math

    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    d_lat = (d_lat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    d_lon = (d_lon * 180.0) / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


def test_gcj02_is_offered_and_written_lon_lat_with_the_offset(client, data):
    parcels = _get(client, "/ogc/collections/parcels").get_json()
    assert GCJ02_URI in parcels["crs"]
    for spelling in (GCJ02_URI, "GCJ-02", f"[{GCJ02_URI}]"):
        r, ring = _ring(client, spelling)
        assert r.headers["Content-Crs"] == f"<{GCJ02_URI}>"
        expected = [
            v for lon, lat in stored(data, "parcels")[1].exterior.coords for v in _gcj02(lon, lat)
        ]
        assert _flat(ring) == pytest.approx(expected, abs=1e-8)
    # The offset near Chongqing is a few hundred metres east and south: (106.5, 29.5) moves
    # to about (106.5037, 29.4972).
    corner = next(v for v in ring if v == pytest.approx(list(_gcj02(106.5, 29.5)), abs=1e-8))
    assert 0.003 < corner[0] - 106.5 < 0.005 and -0.004 < corner[1] - 29.5 < -0.002


def test_bbox_in_gcj02_finds_what_a_web_map_shows_there(client, data):
    target = stored(data, "parcels")[20].centroid
    lon, lat = _gcj02(target.x, target.y)
    bbox = f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}"
    url = f"/ogc/collections/parcels/items?bbox={bbox}&bbox-crs={GCJ02_URI}&crs={GCJ02_URI}"
    r = _get(client, url)
    assert [f["id"] for f in r.get_json()["features"]] == [20]
    assert r.headers["Content-Crs"] == f"<{GCJ02_URI}>"
    # The same box read as CGCS2000 lon/lat misses it: the offset is larger than the box.
    r = _get(client, f"/ogc/collections/parcels/items?bbox={bbox}")
    assert 20 not in [f["id"] for f in r.get_json()["features"]]


def test_gcj02_is_not_offered_by_wfs_or_wms(client):
    """Desktop GIS clients expect EPSG codes only in the OWS capabilities."""
    for service in ("WFS", "WMS"):
        r = client.get(f"/ows?service={service}&request=GetCapabilities")
        assert r.status_code == 200
        assert b"GCJ" not in r.data
