"""The demo dataset after the round trip: generated, written in each department's CRS,
imported through the normal import path, read back from the database. The planted
scenarios' figures are measured again here with shapely in the working CRS."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
import shapely
from pyproj import Geod
from sqlalchemy import select

from planfuse.demo import DEMO_LAYERS
from planfuse.demo import testing as demo
from planfuse.demo.geography import DISTRICTS_FILE
from planfuse.demo.status import STATUS_LAYER
from planfuse.geo.measure import work_projection
from planfuse.storage.models import Feature, Layer, LayerVersion

REL = 1e-6  # relative agreement of planted figures after the round trip
ABS_M2 = 1e-3  # ... or absolute, for figures near zero (the 0.5 m² boundary noise)


def close(measured: float, expected: float) -> bool:
    return math.isclose(measured, expected, rel_tol=REL, abs_tol=ABS_M2)


@pytest.fixture(scope="module")
def ctx(demo_database_template, tmp_path_factory):
    url = demo.copy_demo_database(demo_database_template, tmp_path_factory.mktemp("demo-copy"))
    context = demo.demo_context(url)
    yield context
    context.close()


@pytest.fixture(scope="module")
def features(ctx):
    """layer id → (fids, work geometries, properties, districts) of the current versions."""
    out = {}
    wp = work_projection(ctx.settings.area_crs)
    with ctx.db.session() as session:
        for layer in session.scalars(select(Layer)):
            rows = session.execute(
                select(Feature.fid, Feature.geom, Feature.properties, Feature.district)
                .where(Feature.layer_id == layer.id, Feature.version == layer.current_version)
                .order_by(Feature.fid)
            ).all()
            geoms = wp.to_work(shapely.from_wkb([r[1] for r in rows]))
            out[layer.id] = (
                [r[0] for r in rows],
                np.asarray(geoms, dtype=object),
                [r[2] for r in rows],
                [r[3] for r in rows],
            )
    return out


def overlapping(features, layer_id: str, geom) -> list[tuple[dict, float]]:
    """(properties, overlap area m²) of every feature of a layer overlapping `geom`."""
    _, geoms, props, _ = features[layer_id]
    hits = np.flatnonzero(shapely.intersects(geoms, geom))
    areas = shapely.area(shapely.intersection(geoms[hits], geom))
    return [(props[i], float(a)) for i, a in zip(hits, areas, strict=True) if a > 0.01]


def by_demo_id(features, layer_id: str) -> dict:
    _, geoms, props, _ = features[layer_id]
    return {p["demo_id"]: g for p, g in zip(props, geoms, strict=True) if "demo_id" in p}


# --- the layers -------------------------------------------------------------------------


def test_every_layer_is_imported_with_its_kind_crs_and_department(ctx):
    with ctx.db.session() as session:
        rows = {
            layer.id: (layer, version)
            for layer, version in session.execute(
                select(Layer, LayerVersion).join(
                    LayerVersion,
                    (LayerVersion.layer_id == Layer.id)
                    & (LayerVersion.version == Layer.current_version),
                )
            )
        }
    assert set(rows) == {layer.id for layer in DEMO_LAYERS} | {STATUS_LAYER.id}
    for spec in (*DEMO_LAYERS, STATUS_LAYER):
        layer, version = rows[spec.id]
        assert (layer.kind, layer.department, version.source_crs) == (
            spec.kind,
            spec.department,
            spec.crs,
        )
        assert version.feature_count > 0


def test_districts_total_82437_km2(features):
    _, geoms, props, districts = features["districts"]
    assert len(geoms) == 38
    total_km2 = shapely.area(geoms).sum() / 1e6
    assert total_km2 == pytest.approx(82_437, rel=1e-3)
    assert sorted(districts) == sorted(p["adcode"] for p in props)


def _gcj02_forward(lon, lat):
    """The public WGS 84 → GCJ-02 algorithm, written out again here so the test does not
    check the geo core against itself."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    rad = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad) ** 2
    dlat = (dlat * 180.0) / ((a * (1 - ee)) / (magic * math.sqrt(magic)) * math.pi)
    dlon = (dlon * 180.0) / (a / math.sqrt(magic) * math.cos(rad) * math.pi)
    return lon + dlon, lat + dlat


# 渝中区's first boundary vertex (朝天门) is (106.588191, 29.571262) in the GCJ-02 source;
# its CGCS2000 position, ~480 m west-north-west of that:
YUZHONG_CGCS2000 = (106.5845046083, 29.5741498763)


def test_a_gcj02_point_lands_within_half_a_metre_of_its_cgcs2000_position(ctx):
    source = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))
    feature = next(f for f in source["features"] if f["properties"]["adcode"] == "500103")
    gcj = feature["geometry"]["coordinates"][0][0][0]
    with ctx.db.session() as session:
        wkb = session.scalar(
            select(Feature.geom).where(
                Feature.layer_id == "districts", Feature.district == "500103"
            )
        )
    stored = shapely.get_coordinates(shapely.from_wkb(wkb))[0]
    geod = Geod(ellps="GRS80")
    # The stored vertex, offset forward again by the public algorithm, is the source vertex.
    fx, fy = _gcj02_forward(*stored)
    assert abs(geod.inv(fx, fy, *gcj)[2]) < 0.5
    # ... and it is where CGCS2000 puts it, ~480 m from the GCJ-02 coordinates.
    assert abs(geod.inv(*stored, *YUZHONG_CGCS2000)[2]) < 0.5
    assert 400 < abs(geod.inv(*stored, *gcj)[2]) < 600
    assert gcj == [106.588191, 29.571262]


def test_every_feature_is_valid_and_in_its_district(features):
    _, dgeoms, dprops, _ = features["districts"]
    district = {p["adcode"]: g for p, g in zip(dprops, dgeoms, strict=True)}
    for g in dgeoms:
        shapely.prepare(g)
    for layer_id, (_, geoms, _, districts) in features.items():
        assert shapely.is_valid(geoms).all(), layer_id
        assert None not in districts, f"{layer_id}: features without a district"
        own = np.array([district[d] for d in districts], dtype=object)
        inside = shapely.contains(own, shapely.point_on_surface(geoms))
        assert inside.all(), layer_id
        if layer_id in ("districts", "facilities", "roads"):
            continue
        check = ~shapely.contains(own, geoms)
        outside = shapely.area(shapely.difference(geoms[check], own[check]))
        allowed = 1e-6 * shapely.area(geoms[check]) + 1.0
        assert (outside <= allowed).all(), (layer_id, float(outside.max()))


def test_planted_features_have_the_fixture_ids(ctx):
    stored = demo.planted_geometries(ctx)
    assert set(stored) == set(demo.load_scenarios()["features"])


# --- compliance scenarios ------------------------------------------------------------------

COMPLIANCE = ["a", "b", "c", "d", "e", "f"]
ITEM_LAYERS = {
    "basic_farmland": "basic_farmland",
    "ecological_redline": "ecological_redline",
    "urban_boundary": "urban_boundary",
    "sensitive_zone": "sensitive_zones",
    "control_line": "control_lines",
}


@pytest.mark.parametrize("letter", COMPLIANCE)
def test_compliance_scenario_figures(features, letter):
    record = demo.scenario(letter)
    expected = record["expected"]
    project = demo.project_work(record)
    assert close(project.area, expected["project_area_m2"])
    for rule, layer_id in ITEM_LAYERS.items():
        hits = overlapping(features, layer_id, project)
        item = expected["items"][rule]
        assert close(sum(a for _, a in hits), item["overlap_area_m2"]), (rule, hits)
        assert sorted(p["demo_id"] for p, _ in hits) == item["features"]
    by_code = defaultdict(float)
    for props, area in overlapping(features, "land_use_plan", project):
        by_code[props["code"]] += area
    planned = expected["items"]["land_use_plan"]["planned_codes_m2"]
    assert set(by_code) == set(planned) == {record["input"]["land_use"]}
    for code, area in planned.items():
        assert close(by_code[code], area)


def test_boundary_noise_is_under_the_tolerance(features):
    record = demo.scenario("b")
    hits = overlapping(features, "basic_farmland", demo.project_work(record))
    assert len(hits) == 1 and 0.499 < hits[0][1] < 0.501


def test_zone_edge_project_is_the_same_in_both_zones(features):
    record = demo.scenario("f")
    expected = record["expected"]["project_area_m2"]
    areas = {}
    for crs, geometry in record["inputs_by_crs"].items():
        x = shapely.get_coordinates(demo.shape(geometry))[:, 0]
        if crs == "EPSG:4523":
            assert (x // 1_000_000 == 35).all()
        if crs == "EPSG:4524":
            assert (x // 1_000_000 == 36).all()
        project = demo.project_work(record, crs)
        areas[crs] = project.area
        assert project.area == pytest.approx(expected, rel=1e-4)
        farmland = sum(a for _, a in overlapping(features, "basic_farmland", project))
        assert close(farmland, record["expected"]["items"]["basic_farmland"]["overlap_area_m2"])
    assert max(areas.values()) - min(areas.values()) < 1e-6 * expected
    lon = shapely.get_coordinates(demo.shape(record["inputs_by_crs"]["EPSG:4490"]))[:, 0]
    assert lon.min() < 106.5 < lon.max()


# --- conflict scenarios ---------------------------------------------------------------------


def _in_zone(features, layer_id: str, record) -> tuple[list[dict], np.ndarray]:
    zone = demo.to_work(demo.shape(record["zone"]["geometry"]), "EPSG:4490")
    _, geoms, props, _ = features[layer_id]
    hits = np.flatnonzero(shapely.area(shapely.intersection(geoms, zone)) > 1e-6)
    return [props[i] for i in hits], geoms[hits]


def test_two_plan_conflict_patch_slivers_and_keeper(features):
    record = demo.scenario("g")
    up_props, up = _in_zone(features, "urban_plan", record)
    lp_props, lp = _in_zone(features, "land_plan", record)
    found = []
    for i, j in zip(*np.nonzero(shapely.intersects(up[:, None], lp[None, :])), strict=True):
        piece = up[i].intersection(lp[j])
        if piece.area <= 1e-6:
            continue
        cg = not up_props[i]["code"].startswith("E")
        tg = lp_props[j]["code"].startswith("2")
        if cg and not tg:  # type 04
            found.append(
                (
                    piece.area,
                    2 * piece.area / piece.length,
                    up_props[i].get("demo_id", up_props[i]),
                    lp_props[j].get("demo_id", lp_props[j]),
                )
            )
    found.sort(reverse=True)
    # Where the two plans share an edge (drawn in different CRSs, rounded differently) the
    # overlay leaves hairline pieces: slivers by thinness, far under any figure here.
    hairlines = [f for f in found if f[0] < 0.01]
    assert all(t < 1e-4 for _, t, _, _ in hairlines)
    found = [f[:3] for f in found if f[0] >= 0.01]
    expected = {
        p["urban_plan"]["demo_id"]: (p["area_m2"], p["thinness_m"])
        for p in record["expected"]["conflicts"] + record["expected"]["slivers"]
    }
    assert sorted(uid for _, _, uid in found) == sorted(expected) and len(found) == 7
    for area, thin, uid in found:
        assert close(area, expected[uid][0]) and thin == pytest.approx(expected[uid][1], abs=1e-3)
    kept = [f for f in found if f[0] >= 200 and f[1] >= 1]
    assert [round(a, 2) for a, _, _ in kept] == [23_456.78, 210.0]
    slivers = [f for f in found if f not in kept]
    assert all(a < 200 or t < 1 for a, t, _ in slivers)
    assert sum(1 for _, t, _ in slivers if t < 1) == 2


def test_three_line_overlaps_just_under_and_over_the_sliver_size(features):
    record = demo.scenario("h")
    layers = ["basic_farmland", "ecological_redline", "urban_boundary"]
    zone = {name: _in_zone(features, name, record) for name in layers}
    found = []
    for a in range(3):
        for b in range(a + 1, 3):
            _, ga = zone[layers[a]]
            _, gb = zone[layers[b]]
            for i in range(len(ga)):
                for j in range(len(gb)):
                    area = ga[i].intersection(gb[j]).area
                    if area > 1e-6:
                        found.append(([layers[a], layers[b]], round(area, 3)))
    expected = [(p["layers"], p["area_m2"]) for p in record["expected"]["pieces"]]
    assert sorted(found) == sorted(expected)


# --- siting ---------------------------------------------------------------------------------


def test_siting_candidates(features):
    record = demo.scenario("i")
    parcels = by_demo_id(features, "land_use_plan")
    road = by_demo_id(features, "roads")["i:R1"]
    for candidate in record["expected"]["candidates"]:
        geom = parcels[candidate["demo_id"]]
        assert close(geom.area, candidate["area_m2"])
        assert geom.distance(road) == pytest.approx(candidate["distance_to_road_m"], abs=1e-3)
    # The scope holds no other 1001 parcel than the eight candidates.
    scope = demo.to_work(demo.shape(record["input"]["scope"]["geometry"]), "EPSG:4490")
    _, geoms, props, _ = features["land_use_plan"]
    inside = np.flatnonzero(shapely.intersects(geoms, scope))
    industrial = sorted(props[i]["demo_id"] for i in inside if props[i]["code"].startswith("1001"))
    assert industrial == [f"i:C{n}" for n in range(1, 9)]
    # Nearest provincial road to each candidate is the planted one.
    _, rgeoms, rprops, _ = features["roads"]
    provincial = rgeoms[[p["class"] == "provincial" for p in rprops]]
    for candidate in record["expected"]["candidates"]:
        d = shapely.distance(provincial, parcels[candidate["demo_id"]])
        assert d.min() == pytest.approx(candidate["distance_to_road_m"], abs=1e-3)
    assert record["expected"]["passing"] == ["i:C1", "i:C2"]
