"""The demo dataset through the OWS interfaces, read by GDAL's WFS and ESRIJSON drivers and
OWSLib: every layer's feature count, and the planted basic-farmland parcel a:F1 with its
stored coordinates (WFS) and its legend colour (WMS)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import shapely
from PIL import Image

from planfuse.demo.testing import planted_geometries
from planfuse.services.features.layers import current_layers
from tests.api.ows_support import gdal, requires_gdal, serving

GML = "{http://www.opengis.net/gml/3.2}"
# basic_farmland: rgba(233,196,64,0.45) over white.
FARMLAND_ON_WHITE = (245, 228, 168)


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def url(app):
    with serving(app) as base:
        yield base


@requires_gdal
def test_gdal_counts_every_demo_layer(ctx, url):
    refs = current_layers(ctx)
    assert len(refs) >= 10
    wfs = f"WFS:{url}/ows?service=WFS&version=2.0.0"
    listing = gdal("ogrinfo", "-ro", "-so", "-al", wfs)
    for ref in refs:
        assert f"Layer name: pf:{ref.id}\n" in listing, ref.id
        section = listing.split(f"Layer name: pf:{ref.id}\n", 1)[1]
        assert f"Feature Count: {ref.feature_count}\n" in section.split("Layer name:", 1)[0]
    for ref in refs[:3]:
        source = f"{url}/arcgis/rest/services/{ref.id}/FeatureServer/0/query?where=1%3D1&f=json"
        info = gdal("ogrinfo", "-ro", "-so", source, "ESRIJSON")
        assert f"Feature Count: {ref.feature_count}" in info, ref.id


def test_planted_parcel_through_wfs_and_wms(ctx, url):
    from owslib.wfs import WebFeatureService
    from owslib.wms import WebMapService

    planted = planted_geometries(ctx, "basic_farmland")["a:F1"]
    wfs = WebFeatureService(f"{url}/ows", version="2.0.0")
    body = wfs.getfeature(
        typename=["pf:basic_farmland"],
        featureid=["basic_farmland.1"],
        srsname="urn:ogc:def:crs:EPSG::4490",
    ).read()
    pos = ET.fromstring(body).find(f".//{GML}posList")
    lat_lon = np.array([float(v) for v in pos.text.split()]).reshape(-1, 2)
    exterior = np.asarray(shapely.get_exterior_ring(planted).coords)
    assert lat_lon[:, ::-1] == pytest.approx(exterior, abs=1e-9)  # latitude first

    west, south, east, north = planted.bounds
    pad = max(east - west, north - south) * 0.1
    box = (west - pad, south - pad, east + pad, north + pad)
    wms = WebMapService(f"{url}/ows", version="1.3.0")
    image = Image.open(
        io.BytesIO(
            wms.getmap(
                layers=["basic_farmland"],
                srs="EPSG:4490",
                bbox=box,
                size=(300, 300),
                format="image/png",
            ).read()
        )
    ).convert("RGB")
    pixels = np.asarray(image)
    xs, ys = np.meshgrid(np.arange(300), np.arange(300))
    lon = box[0] + (xs + 0.5) / 300 * (box[2] - box[0])
    lat = box[3] - (ys + 0.5) / 300 * (box[3] - box[1])
    inner = shapely.contains_xy(planted.buffer(-pad / 5), lon, lat)
    fill = np.all(np.abs(pixels[inner].astype(int) - FARMLAND_ON_WHITE) <= 2, axis=1)
    assert fill.mean() > 0.8  # the rest: the dot hatch


@requires_gdal
def test_gdal_oapif_reads_every_demo_layer_with_count_extent_and_crs(ctx, url):
    """GDAL's OGC API – Features driver (Debian's gdal-bin) over /ogc: every layer listed
    with the stored feature count, its stored extent, and CRS84 (GDAL 3.6 reads the default
    CRS: WGS 84 in longitude/latitude order, which CGCS2000 coincides with here)."""
    refs = current_layers(ctx)
    listing = gdal("ogrinfo", "-ro", "-so", "-al", f"OAPIF:{url}/ogc")
    assert "Unexpected Content-Type" not in listing
    for ref in refs:
        assert f"Layer name: {ref.id}\n" in listing, ref.id
        section = listing.split(f"Layer name: {ref.id}\n", 1)[1].split("Layer name:", 1)[0]
        assert f"Feature Count: {ref.feature_count}\n" in section, ref.id
        extent = section.split("Extent: (", 1)[1].split("\n", 1)[0]
        numbers = [float(v) for v in extent.replace(") - (", ",").rstrip(")").split(",")]
        assert numbers == pytest.approx(list(ref.bbox), abs=1e-6), ref.id
        assert 'ID["EPSG",4326]' in section and "axis mapping: 2,1" in section, ref.id
    farmland = next(ref for ref in refs if ref.id == "basic_farmland")
    west, south, east, north = planted_geometries(ctx, "basic_farmland")["a:F1"].bounds
    clipped = gdal(
        "ogrinfo", "-ro", "-so", "-spat", str(west), str(south), str(east), str(north),
        f"OAPIF:{url}/ogc", farmland.id,
    )  # fmt: skip
    count = int(clipped.split("Feature Count: ", 1)[1].split("\n", 1)[0])
    box = f"{west},{south},{east},{north}"
    served = ctx_count(url, farmland.id, box)
    assert 1 <= count == served


def ctx_count(url: str, layer: str, bbox: str) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/ogc/collections/{layer}/items?bbox={bbox}&limit=1") as r:
        return json.load(r)["numberMatched"]


def test_owslib_ogc_api_features_reads_the_planted_parcel(ctx, url):
    from owslib.ogcapi.features import Features

    api = Features(f"{url}/ogc")
    ids = [c["id"] for c in api.collections()["collections"]]
    assert "basic_farmland" in ids
    planted = planted_geometries(ctx, "basic_farmland")["a:F1"]
    west, south, east, north = planted.bounds
    items = api.collection_items("basic_farmland", bbox=[west, south, east, north], limit=100)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in items["features"]]
    assert any(g.equals_exact(planted, 1e-9) or g.equals(planted) for g in geoms)
