"""WFS requests sent as XML in a POST body, as OpenLayers' `WFS.writeGetFeature` writes them
(run here in Node with the npm `ol` package the widgets are built with): the same answer as
the request's KVP spelling, and clear exception reports for a body that is not a request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.api.ogc_fixtures import import_all
from tests.api.ows_support import exception_of

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "node_modules"
WRITE = """
import {{ JSDOM }} from '{jsdom}';
const dom = new JSDOM('<!doctype html><html><body></body></html>');
Object.assign(globalThis, {{ document: dom.window.document, Node: dom.window.Node,
  XMLSerializer: dom.window.XMLSerializer, DOMParser: dom.window.DOMParser }});
const {{ default: WFS }} = await import('{wfs}');
const f = await import('{filters}');
const options = JSON.parse(process.argv[2]);
const filter = options.filter;
delete options.filter;
if (filter === 'code-and-bbox') {{
  options.filter = f.and(f.equalTo('code', '0701'),
    f.bbox('geom', [106.499, 29.499, 106.53, 29.53], 'EPSG:4490'));
}} else if (filter === 'like') {{
  options.filter = f.like('name', '地块1*');
}}
const node = new WFS({{ version: options.version }}).writeGetFeature(options);
process.stdout.write(new XMLSerializer().serializeToString(node));
"""
pytestmark = pytest.mark.skipif(
    not (MODULES / "ol" / "format" / "WFS.js").exists() and not os.environ.get("CI"),
    reason="the npm packages (./bootstrap test installs them)",
)


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def openlayers_request(tmp_path: Path, **options) -> bytes:
    """The XML `new WFS({version}).writeGetFeature(options)` writes."""
    script = tmp_path / "write.mjs"
    script.write_text(
        WRITE.format(
            jsdom=(MODULES / "jsdom" / "lib" / "api.js").as_uri(),
            wfs=(MODULES / "ol" / "format" / "WFS.js").as_uri(),
            filters=(MODULES / "ol" / "format" / "filter.js").as_uri(),
        )
    )
    done = subprocess.run(
        [shutil.which("node") or "node", str(script), json.dumps(options)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def post(client, body: bytes):
    return client.post("/ows", data=body, content_type="text/xml")


def ids(response) -> list:
    assert response.status_code == 200, response.data[:600]
    return [f["id"] for f in json.loads(response.data)["features"]]


def test_an_openlayers_get_feature_is_answered_as_its_kvp(client, data, tmp_path):
    body = openlayers_request(
        tmp_path,
        version="2.0.0",
        featureNS="urn:example",
        featurePrefix="pf",
        featureTypes=["parcels"],
        srsName="EPSG:4490",
        outputFormat="application/json",
        count=50,
        filter="code-and-bbox",
    )
    assert b"<GetFeature" in body and b"PropertyIsEqualTo" in body and b"BBOX" in body
    posted = ids(post(client, body))
    fes = (
        '<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" '
        'xmlns:gml="http://www.opengis.net/gml/3.2"><fes:And><fes:PropertyIsEqualTo>'
        "<fes:ValueReference>code</fes:ValueReference><fes:Literal>0701</fes:Literal>"
        "</fes:PropertyIsEqualTo><fes:BBOX><fes:ValueReference>geom</fes:ValueReference>"
        '<gml:Envelope srsName="EPSG:4490"><gml:lowerCorner>106.499 29.499</gml:lowerCorner>'
        "<gml:upperCorner>106.53 29.53</gml:upperCorner></gml:Envelope></fes:BBOX></fes:And>"
        "</fes:Filter>"
    )
    kvp = client.get(
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=parcels&COUNT=50"
        f"&SRSNAME=EPSG:4490&OUTPUTFORMAT=application/json&FILTER={quote(fes)}"
    )
    assert posted == ids(kvp)
    assert 0 < len(posted) < 50


def test_hits_paging_and_a_like_filter(client, data, tmp_path):
    common = {"version": "2.0.0", "featureNS": "urn:example", "featurePrefix": "pf",
              "featureTypes": ["parcels"], "outputFormat": "application/json"}  # fmt: skip
    hits = post(client, openlayers_request(tmp_path, resultType="hits", **common))
    assert hits.status_code == 200, hits.data[:400]
    total = json.loads(hits.data)["numberMatched"]
    assert json.loads(hits.data)["features"] == []
    page = ids(post(client, openlayers_request(tmp_path, count=3, startIndex=2, **common)))
    every = ids(post(client, openlayers_request(tmp_path, count=1000, **common)))
    assert len(every) == total and page == every[2:5]
    liked = ids(post(client, openlayers_request(tmp_path, filter="like", **common)))
    assert liked and len(liked) < total


def test_wfs_1_1_0_from_openlayers(client, data, tmp_path):
    body = openlayers_request(
        tmp_path,
        version="1.1.0",
        featureNS="urn:example",
        featurePrefix="pf",
        featureTypes=["parcels"],
        maxFeatures=4,
    )
    assert b'version="1.1.0"' in body
    r = post(client, body)
    assert r.status_code == 200, r.data[:400]
    assert r.data.count(b"<gml:featureMember") + r.data.count(b"<gml:featureMembers") >= 1
    assert b'numberOfFeatures="4"' in r.data


def test_sort_by_in_the_body(client, data):
    body = (
        b'<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        b'xmlns:fes="http://www.opengis.net/fes/2.0" service="WFS" version="2.0.0" '
        b'outputFormat="application/json" count="5"><wfs:Query typeNames="parcels">'
        b"<fes:SortBy><fes:SortProperty><fes:ValueReference>name</fes:ValueReference>"
        b"<fes:SortOrder>DESC</fes:SortOrder></fes:SortProperty></fes:SortBy>"
        b"</wfs:Query></wfs:GetFeature>"
    )
    posted = ids(post(client, body))
    kvp = client.get(
        "/ows?SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&TYPENAMES=parcels&COUNT=5"
        "&OUTPUTFORMAT=application/json&SORTBY=name%20DESC"
    )
    assert posted == ids(kvp) and len(posted) == 5


@pytest.mark.parametrize(
    "body, code, locator, words",
    [
        (b"", "InvalidParameterValue", "request", "empty"),
        (b"<wfs:GetFeature", "InvalidParameterValue", "request", "line 1"),
        (
            b'<!DOCTYPE x [<!ENTITY a "b">]><x/>',
            "InvalidParameterValue",
            "request",
            "DOCTYPE",
        ),
        (
            b"<Transaction xmlns='http://www.opengis.net/wfs/2.0'/>",
            "OperationNotSupported",
            "request",
            "Transaction",
        ),
        (
            b"<GetFeature xmlns='http://www.opengis.net/wfs/2.0' service='WFS' version='2.0.0'>"
            b"<Query typeNames='parcels'/><Query typeNames='roads'/></GetFeature>",
            "InvalidParameterValue",
            "Query",
            "exactly one",
        ),
    ],
)
def test_a_body_that_is_not_a_request_is_an_exception_report(client, data, body, code,
                                                              locator, words):  # fmt: skip
    r = post(client, body)
    assert r.status_code == 400
    got_code, got_locator, text = exception_of(r)
    assert (got_code, got_locator) == (code, locator)
    assert words in text


def test_browsers_may_post_from_other_origins(client, data):
    r = client.options(
        "/ows",
        headers={
            "Origin": "https://gis.example.gov.cn",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "POST" in r.headers.get("Access-Control-Allow-Methods", "")
    assert "Content-Type" in r.headers.get("Access-Control-Allow-Headers", "")


@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_owslib_posts_its_get_feature(app, data, version):
    import re

    from owslib.wfs import WebFeatureService

    from tests.api.ows_support import serving

    # JSON in 2.0.0 (OWSLib writes the attribute as `outputformat`); GML in 1.1.0.
    options = {"outputFormat": "application/json"} if version == "2.0.0" else {}
    with serving(app) as base:
        service = WebFeatureService(f"{base}/ows", version=version, timeout=60)
        posted = service.getfeature(
            typename=["parcels"], maxfeatures=3, method="Post", **options
        ).read()
        fetched = service.getfeature(typename=["parcels"], maxfeatures=3, **options).read()
    if version == "2.0.0":
        got = [f["id"] for f in json.loads(posted)["features"]]
        assert got == [f["id"] for f in json.loads(fetched)["features"]] and len(got) == 3
    else:
        got = re.findall(rb'gml:id="([^"]+)"', posted)
        assert got == re.findall(rb'gml:id="([^"]+)"', fetched) and len(got) >= 3
