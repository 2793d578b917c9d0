"""`f=pbf` on the FeatureServer's `query`: Esri's FeatureCollection PBF, read by a real
decoder (the npm package arcgis-pbf-parser, as web maps on ArcGIS services use it), gives
the same features as `f=geojson` — ids, attributes, and every vertex to within one
quantization step — for polygons with holes and several parts, lines and points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
import shapely

from tests.api.ogc_fixtures import import_all, import_geojson

ROOT = Path(__file__).resolve().parents[2]
BASE = "/arcgis/rest/services"
PARSER = ROOT / "node_modules" / "arcgis-pbf-parser" / "dist" / "arcgis-pbf.mjs"
DECODE = """
import decode from '{parser}';
import {{ readFileSync }} from 'node:fs';
const out = decode(new Uint8Array(readFileSync(process.argv[2])));
process.stdout.write(JSON.stringify(out));
"""
pytestmark = pytest.mark.skipif(
    not PARSER.exists() and not os.environ.get("CI"),
    reason="the npm packages (./bootstrap test installs them)",
)


def _shapes() -> list[dict]:
    """A polygon with a hole and a polygon of two parts, near the test districts."""
    outer = [[106.50, 29.50], [106.52, 29.50], [106.52, 29.52], [106.50, 29.52], [106.50, 29.50]]
    hole = [[106.505, 29.505], [106.505, 29.51], [106.51, 29.51], [106.51, 29.505],
            [106.505, 29.505]]  # fmt: skip
    square = [[106.53, 29.50], [106.54, 29.50], [106.54, 29.51], [106.53, 29.51], [106.53, 29.50]]
    return [
        {"type": "Feature", "properties": {"name": "有洞", "zone": "A"},
         "geometry": {"type": "Polygon", "coordinates": [outer, hole]}},
        {"type": "Feature", "properties": {"name": "两块", "zone": None},
         "geometry": {"type": "MultiPolygon", "coordinates": [[outer], [square]]}},
    ]  # fmt: skip


@pytest.fixture
def data(ctx, tmp_path):
    import_all(ctx, tmp_path)
    import_geojson(ctx, tmp_path, "shapes", "basic_farmland", _shapes())
    return ctx


def _get(client, layer: str, **params) -> bytes | dict:
    query = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    r = client.get(f"{BASE}/{layer}/FeatureServer/0/query?{query}")
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    return r.data if params.get("f") == "pbf" else json.loads(r.data)


def decoded(tmp_path: Path, payload: bytes) -> dict:
    """The payload as the npm decoder reads it (GeoJSON features)."""
    source = tmp_path / "payload.pbf"
    source.write_bytes(payload)
    script = tmp_path / "decode.mjs"
    script.write_text(DECODE.format(parser=PARSER.as_uri()))
    done = subprocess.run(
        [shutil.which("node") or "node", str(script), str(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("layer", ["parcels", "roads", "facilities", "shapes"])
@pytest.mark.parametrize("out_sr", [4490, 3857])
def test_pbf_decodes_to_the_geojson_answer(client, data, tmp_path, layer, out_sr):
    params = {"where": "1=1", "outFields": "*", "outSR": out_sr}
    payload = _get(client, layer, f="pbf", **params)
    want = _get(client, layer, f="geojson", **params)
    got = decoded(tmp_path, payload)
    assert got["exceededTransferLimit"] is False
    features = got["featureCollection"]["features"]
    assert len(features) == len(want["features"]) > 0
    step = 1e-9 if out_sr == 4490 else 1e-4
    for mine, theirs in zip(features, want["features"], strict=True):
        assert mine["id"] == theirs["id"]
        # Every field has a value in PBF (null where the feature has none); JSON leaves
        # those out.
        assert set(theirs["properties"]) <= set(mine["properties"])
        assert mine["properties"] == {k: theirs["properties"].get(k) for k in mine["properties"]}
        a, b = (_parts(shapely.geometry.shape(f["geometry"])) for f in (mine, theirs))
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert x.geom_type == y.geom_type
            assert shapely.equals_exact(x, y, tolerance=step)


def _parts(geom) -> list:
    """The parts, normalised and in a fixed order (the decoder writes a polygon with a hole
    as a MultiPolygon of one)."""
    return sorted(shapely.normalize(shapely.get_parts(geom)).tolist(), key=lambda g: g.wkt)


def test_holes_and_parts_come_back_as_drawn(client, data, tmp_path):
    got = decoded(tmp_path, _get(client, "shapes", f="pbf", where="1=1", outFields="name"))
    by_name = {f["properties"]["name"]: f for f in got["featureCollection"]["features"]}
    holed = shapely.geometry.shape(by_name["有洞"]["geometry"])
    assert len(shapely.get_parts(holed)) == 1 and len(shapely.get_parts(holed)[0].interiors) == 1
    # 0.02° × 0.02° less the 0.005° × 0.005° hole, in square degrees.
    assert holed.area == pytest.approx(0.02 * 0.02 - 0.005 * 0.005, rel=1e-6)
    two = shapely.geometry.shape(by_name["两块"]["geometry"])
    assert two.geom_type == "MultiPolygon" and len(two.geoms) == 2
    # What the ArcGIS Maps SDK adds: accepted; the payload's own Transform still reads right.
    view = '{"mode":"view","originPosition":"upperLeft","tolerance":0.0001}'
    again = decoded(
        tmp_path, _get(client, "shapes", f="pbf", where="1=1", quantizationParameters=view)
    )
    assert len(again["featureCollection"]["features"]) == 2


def test_paging_count_and_no_geometry(client, data, tmp_path):
    total = _get(client, "parcels", f="json", where="1=1", returnCountOnly="true")["count"]
    assert total > 3
    page = decoded(tmp_path, _get(client, "parcels", f="pbf", where="1=1", resultRecordCount=2))
    assert page["exceededTransferLimit"] is True
    assert len(page["featureCollection"]["features"]) == 2
    bare = decoded(tmp_path, _get(client, "parcels", f="pbf", where="1=1", returnGeometry="false"))
    assert all(f["geometry"] is None for f in bare["featureCollection"]["features"])
    # returnCountOnly: a CountResult (the npm decoder reads feature results only), byte by
    # byte: version "1.0" (field 1), QueryResult (2) { CountResult (2) { count (1) } }.
    assert total < 128, "one varint byte below"
    counted = _get(client, "parcels", f="pbf", where="1=1", returnCountOnly="true")
    assert counted == b"\x0a\x031.0" + b"\x12\x04" + b"\x12\x02" + b"\x08" + bytes([total])


def test_layers_say_they_answer_pbf(client, data):
    for path in (f"{BASE}/parcels/FeatureServer", f"{BASE}/parcels/FeatureServer/0"):
        body = json.loads(client.get(f"{path}?f=json").data)
        assert "PBF" in body["supportedQueryFormats"]
