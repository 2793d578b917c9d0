"""OGC API – Features Part 3 at /ogc: CQL2 text and JSON filters, queryables and sortby, on
SQLite and PostgreSQL. Every count is checked against an answer computed here from the
features as imported (properties) and stored (geometry), not by the server's own code."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import func, select

from planfuse.storage.models import Feature
from tests.api.ogc_fixtures import import_all, parcel_features, stored
from tests.api.ows_support import gdal, requires_gdal, serving

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/"
BOX = (106.5, 29.5, 106.55, 29.55)


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


@pytest.fixture
def truth(data):
    """fid → (properties as imported, geometry as stored) of the parcels."""
    geoms = stored(data, "parcels")
    props = {i + 1: f["properties"] for i, f in enumerate(parcel_features())}
    return {fid: (props[fid], geoms[fid]) for fid in geoms}


def count(truth, test) -> int:
    return sum(1 for fid, (props, geom) in truth.items() if test(fid, props, geom))


def items(client, filter_, lang="cql2-text", status=200, extra=""):
    r = client.get(
        f"/ogc/collections/parcels/items?filter={quote(filter_)}&filter-lang={lang}"
        f"&limit=1000{extra}"
    )
    assert r.status_code == status, r.get_data(as_text=True)
    return r.get_json()


def matched(client, filter_, lang="cql2-text", extra="") -> int:
    body = items(client, filter_, lang, extra=extra)
    assert body["numberReturned"] == len(body["features"]) == body["numberMatched"]
    return body["numberMatched"]


BOX_GEOM = shapely.box(*BOX)
CASES = [
    # (cql2-text, cql2-json, the same test in Python)
    ("code = '0701'", {"op": "=", "args": [{"property": "code"}, "0701"]},
     lambda fid, p, g: p.get("code") == "0701"),
    ("code <> '0701'", {"op": "<>", "args": [{"property": "code"}, "0701"]},
     lambda fid, p, g: p.get("code") != "0701"),
    ("code IN ('0701', '1401')", {"op": "in", "args": [{"property": "code"}, ["0701", "1401"]]},
     lambda fid, p, g: p.get("code") in ("0701", "1401")),
    ("code LIKE '07%'", {"op": "like", "args": [{"property": "code"}, "07%"]},
     lambda fid, p, g: p.get("code", "").startswith("07")),
    ("name LIKE '地块_'", {"op": "like", "args": [{"property": "name"}, "地块_"]},
     lambda fid, p, g: len(p.get("name", "")) == 3 and p["name"].startswith("地块")),
    ("fid BETWEEN 10 AND 20", {"op": "between", "args": [{"property": "fid"}, 10, 20]},
     lambda fid, p, g: 10 <= fid <= 20),
    ("rank > 1", {"op": ">", "args": [{"property": "rank"}, 1]},
     lambda fid, p, g: p.get("rank") is not None and p["rank"] > 1),
    ("name IS NULL", {"op": "isNull", "args": [{"property": "name"}]},
     lambda fid, p, g: "name" not in p),
    ("NOT (code = '0701') AND rank = 0",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "=", "args": [{"property": "code"},
                                                                        "0701"]}]},
                            {"op": "=", "args": [{"property": "rank"}, 0]}]},
     lambda fid, p, g: p.get("code") != "0701" and p.get("rank") == 0),
    ("code = '1601' OR fid < 3",
     {"op": "or", "args": [{"op": "=", "args": [{"property": "code"}, "1601"]},
                           {"op": "<", "args": [{"property": "fid"}, 3]}]},
     lambda fid, p, g: p.get("code") == "1601" or fid < 3),
    ("CASEI(name) = CASEI('L形绿地')",
     {"op": "=", "args": [{"op": "casei", "args": [{"property": "name"}]},
                          {"op": "casei", "args": ["L形绿地"]}]},
     lambda fid, p, g: p.get("name") == "L形绿地"),
    ("S_INTERSECTS(geometry, BBOX(106.5, 29.5, 106.55, 29.55))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(BOX)}]},
     lambda fid, p, g: g.intersects(BOX_GEOM)),
    ("S_WITHIN(geometry, POLYGON((106.5 29.5, 106.55 29.5, 106.55 29.55, 106.5 29.55, "
     "106.5 29.5)))",
     {"op": "s_within", "args": [{"property": "geometry"}, shapely.geometry.mapping(BOX_GEOM)]},
     lambda fid, p, g: g.within(BOX_GEOM)),
    ("S_DISJOINT(geometry, POINT(106.503 29.503))",
     {"op": "s_disjoint", "args": [{"property": "geometry"},
                                   {"type": "Point", "coordinates": [106.503, 29.503]}]},
     lambda fid, p, g: g.disjoint(shapely.Point(106.503, 29.503))),
    ("code = '0701' AND S_INTERSECTS(geometry, BBOX(106.5, 29.5, 106.55, 29.55))",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "code"}, "0701"]},
                            {"op": "s_intersects", "args": [{"property": "geometry"},
                                                            {"bbox": list(BOX)}]}]},
     lambda fid, p, g: p.get("code") == "0701" and g.intersects(BOX_GEOM)),
]  # fmt: skip


@pytest.mark.parametrize("text, document, test", CASES, ids=[c[0][:40] for c in CASES])
def test_cql2_text_and_json_match_the_independent_count(client, truth, text, document, test):
    want = count(truth, test)
    assert matched(client, text) == want
    assert matched(client, json.dumps(document), "cql2-json") == want
    # cql2-text is the default language.
    body = client.get(f"/ogc/collections/parcels/items?filter={quote(text)}&limit=1").get_json()
    assert body["numberMatched"] == want


def test_owslib_features_with_a_cql2_text_filter(client, app, truth):
    from owslib.ogcapi.features import Features

    want = count(truth, lambda fid, p, g: p.get("code") == "0701" and g.intersects(BOX_GEOM))
    with serving(app) as url:
        api = Features(f"{url}/ogc")
        result = api.collection_items(
            "parcels",
            filter="code = '0701' AND S_INTERSECTS(geometry, BBOX(106.5,29.5,106.55,29.55))",
            limit=1000,
            **{"filter-lang": "cql2-text"},
        )
        assert result["numberMatched"] == len(result["features"]) == want
        queryables = api.collection_queryables("parcels")
    assert {"geometry", "fid", "district", "code", "rank", "name"} <= set(queryables["properties"])
    assert queryables["properties"]["geometry"]["x-ogc-role"] == "primary-geometry"


def test_filter_crs_reads_geometries_in_the_crs_axis_order(client, truth):
    want = count(truth, lambda fid, p, g: g.intersects(BOX_GEOM))
    # EPSG:4490 lists latitude first.
    lat_first = "S_INTERSECTS(geometry, BBOX(29.5, 106.5, 29.55, 106.55))"
    epsg = "http://www.opengis.net/def/crs/EPSG/0/"
    assert matched(client, lat_first, extra=f"&filter-crs={quote(epsg + '4490')}") == want
    # A Gauss–Krüger zone: a polygon whose corners are a box's, northing first (its edges
    # lie in the gaps between the parcels, where straight in one CRS or the other agree).
    inner = shapely.box(106.5085, 29.5085, 106.5485, 29.5485)
    want = count(truth, lambda fid, p, g: g.intersects(inner))
    to = Transformer.from_crs("EPSG:4490", "EPSG:4523", always_xy=True)
    ring = [to.transform(x, y) for x, y in inner.exterior.coords]
    wkt = "POLYGON((" + ", ".join(f"{n:.3f} {e:.3f}" for e, n in ring) + "))"
    got = matched(client, f"S_INTERSECTS(geometry, {wkt})",
                  extra=f"&filter-crs={quote(epsg + '4523')}")  # fmt: skip
    assert got == want
    # Longitude first in a latitude-first CRS leaves the world: refused with a hint.
    problem = items(client, "S_INTERSECTS(geometry, BBOX(106.5, 29.5, 106.55, 29.55))",
                    status=400, extra=f"&filter-crs={quote(epsg + '4490')}")  # fmt: skip
    assert "axis order" in problem["detail"]


def test_filter_with_bbox_and_property_parameters_and_paging(client, truth):
    box = (106.5, 29.5, 106.6, 29.6)
    want = sorted(
        fid
        for fid, (p, g) in truth.items()
        if g.intersects(shapely.box(*box)) and p.get("rank") in (0, 2) and p.get("code") != "1601"
    )
    url = (
        f"/ogc/collections/parcels/items?filter={quote('rank <> 1')}&bbox=106.5,29.5,106.6,29.6"
        "&limit=4&code=0701&code=0702&code=0703&code=1401&code=1201&code=0601&code=0901"
    )
    allowed = {"0701", "0702", "0703", "1401", "1201", "0601", "0901"}
    want = [fid for fid in want if truth[fid][0].get("code") in allowed]
    seen = []
    while url:
        body = client.get(url).get_json()
        assert body["numberMatched"] == len(want)
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        url = None
        if nxt:
            parts = urlsplit(nxt[0])
            url = f"{parts.path}?{parts.query}"
    assert seen == want


def test_sortby(client, truth):
    body = client.get("/ogc/collections/parcels/items?sortby=-code,%2Bfid&limit=1000").get_json()
    got = [(f["properties"].get("code"), f["id"]) for f in body["features"]]
    codes = sorted({p.get("code") for p, _ in truth.values()}, reverse=True)
    want = [
        (code, fid)
        for code in codes
        for fid in sorted(fid for fid, (p, _) in truth.items() if p.get("code") == code)
    ]
    assert got == want and body["numberMatched"] == len(truth)
    filtered = client.get(
        f"/ogc/collections/parcels/items?filter={quote('code = ' + repr('0701'))}&sortby=-fid"
    ).get_json()
    fids = [f["id"] for f in filtered["features"]]
    assert fids == sorted(fids, reverse=True) and fids


def test_conformance_and_links_declare_part_3(client, data):
    classes = set(client.get("/ogc/conformance").get_json()["conformsTo"])
    for name in ("queryables", "filter", "features-filter"):
        assert FEATURES_3 + name in classes
    for name in ("cql2-text", "cql2-json", "basic-cql2", "basic-spatial-functions"):
        assert CQL2 + name in classes
    collection = client.get("/ogc/collections/parcels").get_json()
    link = next(x for x in collection["links"] if x["rel"].endswith("/queryables"))
    r = client.get(urlsplit(link["href"]).path)
    assert r.mimetype == "application/schema+json"
    schema = r.get_json()
    assert schema["additionalProperties"] is False
    assert schema["properties"]["code"] == {"title": "code", "type": "string"}
    assert client.get("/ogc/collections/nothing/queryables").status_code == 404


@pytest.mark.parametrize(
    "query, field, words",
    [
        ("filter=code%20%3D%20%3D%201", "filter", "character 8"),
        ("filter=code%20%3D%20'0701'%20AND", "filter", "character"),
        ("filter=nothing%20%3D%201", "filter", "unknown property 'nothing'"),
        ("filter=T_AFTER(code,%20DATE('2020-01-01'))", "filter", "character"),
        ("filter=code%20%2B%201%20%3D%202", "filter", "not supported"),
        ("filter=S_INTERSECTS(code,%20POINT(1%202))", "filter", "spatial function"),
        ("filter=S_INTERSECTS(geometry,%20BBOX(2,%202,%201,%201))", "filter", "minimum"),
        ("filter=" + quote('{"op": "=", "args": [{"property": "code"}, '), "filter",
         "not JSON"),
        ("filter=" + quote('{"op": "and", "args": [{"op": "xor", "args": []}]}'), "filter",
         "/args/0"),
        ("filter=code%20%3D%20'1'&filter-lang=sql", "filter-lang", "cql2-text"),
        ("filter=code%20%3D%20'1'&filter-crs=EPSG:9999", "filter-crs", "EPSG:9999"),
        ("filter-lang=cql2-text", "filter-lang", "needs a filter"),
        ("sortby=nothing", "sortby", "cannot sort by 'nothing'"),
        ("sortby=code;drop", "sortby", "+name or -name"),
    ],
)  # fmt: skip
def test_malformed_filters_are_problems_that_say_where(client, data, query, field, words):
    if "%7B" in query and "filter-lang" not in query:
        query += "&filter-lang=cql2-json"
    r = client.get(f"/ogc/collections/parcels/items?{query}")
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert set(problem) >= PROBLEM_KEYS
    assert problem["errors"][0]["field"] == field
    assert words in problem["detail"], problem["detail"]


def test_filters_are_never_sql(client, data):
    # A quote that would end an SQL string is part of the value.
    quoted = {"op": "=", "args": [{"property": "code"}, "0701' OR '1'='1"]}
    assert matched(client, json.dumps(quoted), "cql2-json") == 0
    assert items(client, "code = '0701' OR '1'='1' --", status=400)["errors"][0]["position"]
    # A second statement is not CQL2.
    body = items(client, "code = '0701'; DELETE FROM features", status=400)
    assert body["errors"][0]["field"] == "filter"
    with data.db.session() as session:
        left = session.scalar(select(func.count()).select_from(Feature))
    assert left == 56 + 2 + 3 + 3


@requires_gdal
def test_gdal_oapif_with_an_attribute_filter(app, truth):
    want = count(truth, lambda fid, p, g: p.get("code") == "0701")
    with serving(app) as url:
        out = gdal("ogrinfo", "-ro", "-so", "-where", "code = '0701'", f"OAPIF:{url}/ogc",
                   "parcels")  # fmt: skip
    assert f"Feature Count: {want}" in out


def test_draft_language_name_and_restricted_layers(client, ctx, tmp_path, truth, admin_token):
    from tests.api.ogc_fixtures import import_geojson

    # The drafts' name of the text encoding (what GDAL 3.6 sends) reads the same filter.
    assert matched(client, "code = '0701'", "cql-text") == count(
        truth, lambda fid, p, g: p.get("code") == "0701"
    )
    import_geojson(ctx, tmp_path, "secret", "basic_farmland", parcel_features()[:5],
                   restricted=True)  # fmt: skip
    url = f"/ogc/collections/secret/items?filter={quote('code = ' + repr('0701'))}"
    assert client.get(url).status_code == 401
    body = client.get(url, headers={"Authorization": f"Bearer {admin_token}"}).get_json()
    assert body["numberMatched"] == 1  # parcels 1–5: only fid 1 has code 0701
