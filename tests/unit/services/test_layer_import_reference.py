"""Import results pinned: the Chongqing districts and 400 parcels (EPSG:4523, attributes of
every JSON type) import to the stored geometries, bounds, areas, districts and properties
in tests/fixtures/import/reference.json, on SQLite and PostgreSQL.

The reference was written by the per-feature importer that preceded the bulk parsing and
writing paths; a faster importer must store the same. Regenerate it only for a deliberate
change of results (and say why in the commit).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from planfuse.services.layers.importer import ImportOptions, import_layer
from planfuse.storage.models import Feature
from tests.conftest import DISTRICTS_FILE

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "import"
REFERENCE = json.loads((FIXTURES / "reference.json").read_text(encoding="utf-8"))
LAYERS = {
    "districts": (DISTRICTS_FILE, "district", "EPSG:4490"),
    "parcels": (FIXTURES / "parcels_4523.geojson", "land_use_plan", "EPSG:4523"),
}


def stored(ctx, layer: str) -> list[list]:
    columns = (Feature.minx, Feature.miny, Feature.maxx, Feature.maxy, Feature.area_m2)
    with ctx.db.session() as s:
        rows = s.execute(
            select(Feature.fid, Feature.geom, *columns, Feature.district, Feature.properties)
            .where(Feature.layer_id == layer)
            .order_by(Feature.fid)
        ).all()
    return [[r[0], hashlib.sha256(bytes(r[1])).hexdigest(), *r[2:]] for r in rows]


@pytest.fixture
def imported(ctx):
    summaries = {}
    for layer, (path, kind, crs) in LAYERS.items():
        options = ImportOptions(layer_id=layer, kind=kind, crs=crs)
        summaries[layer] = import_layer(ctx, path, options)
    return summaries


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_import_stores_the_reference_features(ctx, imported, layer):
    expected = REFERENCE[layer]
    summary = imported[layer]
    assert summary.total_area_m2 == pytest.approx(expected["total_area_m2"], rel=1e-9)
    assert summary.bbox == pytest.approx(expected["bbox"], rel=1e-12)
    got = stored(ctx, layer)
    assert [row[:2] for row in got] == [row[:2] for row in expected["features"]]
    for row, want in zip(got, expected["features"], strict=True):
        fid = row[0]
        assert row[2:6] == pytest.approx(want[2:6], rel=1e-12), f"bounds of {fid}"
        assert row[6] == pytest.approx(want[6], rel=1e-9), f"area of {fid}"
        assert (row[7], row[8]) == (want[7], want[8]), f"district and properties of {fid}"


def test_parcels_lie_in_several_districts():
    # The reference exercises district assignment, not one district for everything.
    districts = {row[7] for row in REFERENCE["parcels"]["features"]}
    assert len(districts) >= 5
