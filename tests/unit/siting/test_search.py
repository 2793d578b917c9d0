"""The siting search on a small world with known answers (tests/siting_world.py): every
condition, its reasons, the score and ranking, ties, bad input, and the relation cache."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import orjson
import pytest
import shapely

from planfuse.context import build_context
from planfuse.errors import DomainError
from planfuse.geo.crs import transform_geometry
from planfuse.http.problems import ProblemError, problem_from_exception
from planfuse.services.layers.data import current_layers, layer_index
from planfuse.services.siting import search
from planfuse.services.siting.relations import siting_cache
from planfuse.settings import load_settings
from tests.siting_world import (
    DISTRICT_A,
    DISTRICT_B,
    EXAMPLE,
    PARCELS,
    box,
    build_world,
    fid,
    import_parcels,
    names,
)


def _context(path):
    settings = load_settings({"database_url": f"sqlite:///{path / 'siting.db'}"}, environ={})
    ctx = build_context(settings)
    ctx.db.upgrade()
    return ctx


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One world for the read-only tests of this module (SQLite; storage is tested in the
    API tests on both databases)."""
    folder = tmp_path_factory.mktemp("siting-world")
    ctx = _context(folder)
    build_world(ctx, folder)
    yield ctx
    ctx.close()


@pytest.fixture
def fresh_world(tmp_path):
    ctx = _context(tmp_path)
    build_world(ctx, tmp_path)
    yield ctx
    ctx.close()


def run(ctx, request=None, **changes):
    body = copy.deepcopy(request or EXAMPLE)
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    scope = body.pop("scope", None)
    weights = body.pop("weights", None)
    limit = body.pop("limit", 50)
    output_crs = body.pop("output_crs", "EPSG:4490")
    return search(ctx, scope, body, weights, limit=limit, output_crs=output_crs)


def problem(ctx, status=400, **changes) -> ProblemError:
    with pytest.raises(DomainError) as info:
        run(ctx, **changes)
    problem = problem_from_exception(info.value)
    assert problem.status == status, problem.to_dict()
    return problem


def reason(candidate, condition, **match):
    for r in candidate["reasons"]:
        if r["condition"] == condition and all(r.get(k) == v for k, v in match.items()):
            return r
    raise AssertionError(f"no {condition} reason {match} in {candidate['reasons']}")


# --- known answers ---------------------------------------------------------------------


def _expected_score(p, *, road_m, school_m, centre):
    """The documented formula (scoring.py), computed independently from the world's layout."""
    lo, hi = 8000.0, 60000.0
    target = (lo + hi) / 2
    area = p.area_m2
    area_fit = 1 - abs(area - target) / max(target - lo, hi - target)
    road = 1 - min(road_m, 2000) / 2000
    school = 1 - min(school_m, 3000) / 3000
    compactness = 4 * math.pi * area / (2 * (p.w + p.h)) ** 2
    cx, cy = p.x + p.w / 2, p.y + p.h / 2
    radius = math.sqrt(10_000 * 10_000 / math.pi)
    centre_d = math.hypot(cx - centre[0], cy - centre[1])
    centre_s = 1 - min(centre_d, radius) / radius
    return (
        0.25 * area_fit
        + 0.25 * road
        + 0.15 * school
        + 0.15 * compactness
        + 0.10 * 1.0  # every survivor lies wholly inside the urban boundary
        + 0.10 * centre_s
    )


def _school_distance(p):
    sx, sy = 1500, 2000
    dx = max(p.x - sx, 0, sx - (p.x + p.w))
    dy = max(p.y - sy, 0, sy - (p.y + p.h))
    return math.hypot(dx, dy)


def test_example_request_keeps_the_expected_parcels_ranked_by_the_documented_score(world):
    result = run(world)
    # Dropped: P3/P4 farmland, P5 half outside the urban boundary, P6 red line, P8 geohazard
    # high, P9 residential, P10 other district, P11 too big, P13 4 km from the road.
    assert sorted(names(result["candidates"])) == ["P1", "P12", "P2", "P7"]
    assert result["total"] == 4
    expected = {}
    for name in ("P1", "P2", "P7", "P12"):
        p = PARCELS[fid(name) - 1]
        expected[name] = _expected_score(
            p, road_m=p.y - 500, school_m=_school_distance(p), centre=(5000, 5000)
        )
    # P2 leads: its 22,500 m² is closest to the 34,000 m² middle of the range (area fit
    # 0.56 against 0.35 for the 10,000 m² squares) at the same 500 m from the road as P1.
    # P1 beats P12 on the road (500 m vs 700 m) and the school; P7 is 1,600 m from the road.
    ranked = sorted(expected, key=lambda n: -expected[n])
    assert names(result["candidates"]) == ranked == ["P2", "P1", "P12", "P7"]
    for c in result["candidates"]:
        assert c["score"] == pytest.approx(expected[PARCELS[c["feature_id"] - 1].name], abs=2e-6)
    assert [c["rank"] for c in result["candidates"]] == [1, 2, 3, 4]
    assert [c["recommended"] for c in result["candidates"]] == [True, False, False, False]
    assert result["data_versions"] == {
        "basic_farmland": 1,
        "districts": 1,
        "ecological_redline": 1,
        "facilities": 1,
        "land_use_plan": 1,
        "roads": 1,
        "sensitive_zones": 1,
        "urban_boundary": 1,
    }


def test_every_candidate_says_why_each_condition_holds(world):
    result = run(world)
    by_name = {PARCELS[c["feature_id"] - 1].name: c for c in result["candidates"]}
    p2 = by_name["P2"]
    assert p2["area_m2"] == pytest.approx(22_500, abs=0.01)
    assert p2["land_use"] == "100102"
    assert p2["land_use_name"] == {"zh-CN": "二类工业用地", "en": "Industrial land, class 2"}
    assert p2["district"] == DISTRICT_A and p2["district_name"] == "渝中区"
    assert reason(p2, "scope")["value"] == DISTRICT_A
    assert reason(p2, "land_use") == {
        "condition": "land_use",
        "value": "100102",
        "expected": "10",
        "holds": True,
    }
    assert reason(p2, "area")["value"] == pytest.approx(22_500, abs=0.01)
    inside = reason(p2, "control", kind="urban_boundary")
    assert inside["mode"] == "inside" and inside["unit"] == "share"
    assert inside["value"] == pytest.approx(1.0) and inside["threshold"] == 0.999
    assert reason(p2, "control", kind="ecological_redline")["value"] == 0.0
    road = reason(p2, "proximity", kind="road")
    assert road["value"] == pytest.approx(500.0, abs=0.01)
    assert road["class"] == "provincial" and road["threshold"] == 2000 and road["holds"]
    assert reason(p2, "exclude", type="geohazard")["value"] == 0.0
    assert all(r["holds"] for r in p2["reasons"])
    # The boundary-noise parcel: 0.5 m² on farmland is under the 1 m² tolerance, and says so.
    farmland = reason(by_name["P12"], "control", kind="basic_farmland")
    assert farmland["value"] == pytest.approx(0.5, abs=0.01)
    assert farmland["threshold"] == 1.0 and farmland["holds"]
    # Criteria: raw value, normalised score, weight and contribution.
    criteria = p2["criteria"]
    assert set(criteria) == {
        "area_fit",
        "road_distance",
        "facility_distance",
        "compactness",
        "urban_share",
        "centre_distance",
    }
    assert criteria["road_distance"]["value"] == pytest.approx(500, abs=0.01)
    assert criteria["road_distance"]["score"] == pytest.approx(0.75, abs=1e-6)
    assert criteria["compactness"]["value"] == pytest.approx(math.pi / 4, abs=1e-6)
    assert sum(c["contribution"] for c in criteria.values()) == pytest.approx(p2["score"], abs=1e-5)


def test_each_condition_drops_exactly_its_parcels(world):
    everything = {
        "scope": {"districts": [DISTRICT_A, DISTRICT_B]},
        "weights": {"area_fit": 1.0},
    }
    assert set(names(run(world, everything)["candidates"])) == {p.name for p in PARCELS}

    def kept(**conditions):
        return set(names(run(world, everything, **conditions)["candidates"]))

    all_names = {p.name for p in PARCELS}
    assert all_names - kept(scope={"districts": [DISTRICT_A]}) == {"P10"}
    assert all_names - kept(land_use="10") == {"P9"}
    assert all_names - kept(land_use="1001") == {"P9"}
    assert all_names - kept(land_use="100102") == all_names - {"P2"}
    assert all_names - kept(area_max_m2=60000) == {"P11"}
    assert all_names - kept(area_min_m2=20000) == all_names - {"P2", "P11"}
    assert all_names - kept(controls=[{"kind": "urban_boundary", "mode": "inside"}]) == {
        "P5",
        "P6",
        "P10",
    }
    assert all_names - kept(controls=[{"kind": "basic_farmland", "mode": "outside"}]) == {
        "P3",
        "P4",
    }
    assert all_names - kept(controls=[{"kind": "ecological_redline", "mode": "outside"}]) == {"P6"}
    assert all_names - kept(controls=[{"kind": "ecological_redline", "mode": "inside"}]) == (
        all_names - {"P6"}
    )
    high = [{"kind": "sensitive_zone", "type": "geohazard", "level": "high"}]
    medium = [{"kind": "sensitive_zone", "type": "geohazard", "level": "medium"}]
    assert all_names - kept(exclude=high) == {"P8"}
    assert all_names - kept(exclude=medium) == {"P7"}
    assert all_names - kept(exclude=[{"type": "geohazard"}]) == {"P7", "P8"}
    road = [{"kind": "road", "class": "provincial", "within_m": 2000}]
    assert all_names - kept(proximity=road) == {"P11", "P13"}
    school = [{"kind": "facility", "type": "school", "within_m": 500, "required": True}]
    assert kept(proximity=school) == {"P7"}
    # Scored only: nothing is dropped, the distance is still reported.
    scored = run(world, everything, proximity=[{"kind": "road", "class": "county"}])
    assert scored["total"] == len(PARCELS)
    assert reason(scored["candidates"][0], "proximity")["required"] is False


def test_area_bounds_are_inclusive(world):
    [ref] = current_layers(world, ["land_use_plan"])
    exact = float(layer_index(world, ref).areas_m2[fid("P2") - 1])
    scope = {"districts": [DISTRICT_A]}
    assert "P2" in names(run(world, {"scope": scope}, area_min_m2=exact)["candidates"])
    assert "P2" in names(run(world, {"scope": scope}, area_max_m2=exact)["candidates"])
    assert "P2" in names(
        run(world, {"scope": scope}, area_min_m2=exact, area_max_m2=exact)["candidates"]
    )
    assert "P2" not in names(run(world, {"scope": scope}, area_min_m2=exact + 0.01)["candidates"])


def test_ties_go_to_the_larger_parcel_then_the_smaller_id(world):
    # Every survivor lies wholly inside the urban boundary: urban_share is 1 for all of them.
    result = run(world, weights={"urban_share": 1.0})
    assert {c["score"] for c in result["candidates"]} == {1.0}
    assert names(result["candidates"]) == ["P2", "P1", "P7", "P12"]
    assert result["candidates"][0]["recommended"]


def test_polygon_scope_in_gauss_kruger_and_the_wrong_zone(world):
    # 0…3,100 × 0…2,600 m holds P1, P2, P7, P9, P12 wholly; P3 (x 3,500) does not.
    polygon = box(0, 0, 3100, 2600)
    gk = transform_geometry(polygon, "EPSG:4490", "EPSG:4524")
    scope = {"geometry": json.loads(shapely.to_geojson(gk)), "crs": "EPSG:4524"}
    result = run(world, {"scope": scope, "weights": {"area_fit": 1.0}})
    assert set(names(result["candidates"])) == {"P1", "P2", "P7", "P9", "P12"}
    assert reason(result["candidates"][0], "scope")["kind"] == "polygon"
    assert reason(result["candidates"][0], "scope")["value"] == pytest.approx(1.0)

    # ≥ 99.9 % inside is inside: P1 (x 1,000…1,100) is 99.95 % inside x < 1,099.95 but only
    # 50 % inside x < 1,050.
    def in_box(x1):
        geometry = json.loads(shapely.to_geojson(box(0, 0, x1, 2600)))
        request = {
            "scope": {"geometry": geometry, "crs": "EPSG:4490"},
            "weights": {"area_fit": 1.0},
        }
        return names(run(world, request)["candidates"])

    assert in_box(1099.95) == ["P1"]
    assert in_box(1050) == []
    # The same numbers declared in zone 35 (EPSG:4523): eastings of the wrong zone.
    wrong = problem(world, scope={"geometry": scope["geometry"], "crs": "EPSG:4523"})
    assert wrong.errors and wrong.errors[0]["field"] == "scope.geometry"
    assert "4523" in wrong.detail
    # Lon/lat numbers declared as a projected CRS are out of its area too.
    lonlat = {"geometry": json.loads(shapely.to_geojson(polygon)), "crs": "EPSG:4524"}
    assert problem(world, scope=lonlat).errors[0]["field"] == "scope.geometry"


def test_output_crs(world):
    result = run(world, output_crs="EPSG:4524")
    assert result["crs"] == "EPSG:4524"
    x, y = result["candidates"][0]["geometry"]["coordinates"][0][0]
    assert 36_000_000 < x < 37_000_000 and 3_000_000 < y < 4_000_000
    lon, lat = result["candidates"][0]["geometry_4490"]["coordinates"][0][0]
    assert 106 < lon < 107 and 29 < lat < 30
    assert "geometry_4490" not in run(world)["candidates"][0]
    assert problem(world, output_crs="EPSG:9999").status == 400


def test_limit_and_total(world):
    result = run(world, {"scope": {"districts": [DISTRICT_A]}}, limit=2)
    assert len(result["candidates"]) == 2 and result["total"] == len(PARCELS) - 1


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"area_min_m2": 60001, "area_max_m2": 60000}, "area_min_m2"),
        ({"area_min_m2": -1}, "area_min_m2"),
        ({"area_max_m2": 1e15}, "area_max_m2"),
        ({"area_max_m2": "big"}, "area_max_m2"),
        ({"scope": {"districts": ["500199"]}}, "scope.districts"),
        ({"scope": {"districts": ["5001"]}}, "scope.districts"),
        ({"scope": {"districts": []}}, "scope.districts"),
        ({"scope": None}, "scope"),
        ({"scope": {"districts": [DISTRICT_A], "geometry": {"type": "Polygon"}}}, "scope"),
        ({"land_use": "9901"}, "land_use"),
        ({"land_use": "1x"}, "land_use"),
        ({"controls": [{"kind": "farmland", "mode": "outside"}]}, "controls[0].kind"),
        ({"controls": [{"kind": "road", "mode": "outside"}]}, "controls[0].kind"),
        ({"controls": [{"kind": "basic_farmland", "mode": "near"}]}, "controls[0].mode"),
        (
            {"controls": [{"kind": "sensitive_zone", "mode": "outside", "type": "pink"}]},
            "controls[0].type",
        ),
        ({"controls": [{"kind": "basic_farmland", "mode": "outside", "type": "x"}]}, "controls[0]"),
        (
            {"proximity": [{"kind": "road", "class": "motorway", "within_m": 10}]},
            "proximity[0].class",
        ),
        ({"proximity": [{"kind": "road", "within_m": -5}]}, "proximity[0].within_m"),
        ({"proximity": [{"kind": "road", "required": True}]}, "proximity[0].within_m"),
        ({"exclude": [{"type": "volcano"}]}, "exclude[0].type"),
        ({"exclude": [{"type": "geohazard", "level": "extreme"}]}, "exclude[0].level"),
        ({"weights": {"area_fit": 0.5, "compactness": 0.3}}, "weights"),
        ({"weights": {"area_fit": 2.0, "compactness": -1.0}}, "weights.compactness"),
        ({"weights": {"beauty": 1.0}}, "weights"),
        ({"limit": 0}, "limit"),
        ({"limit": 100_000}, "limit"),
        ({"area_min": 5}, "area_min"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world, changes, field):
    error = problem(world, **changes)
    assert error.code in {"invalid_siting_request", "invalid_scope_geometry", "layer_missing"}
    if field is not None:
        assert field in [e["field"] for e in error.errors], error.errors
    assert error.detail


def test_weights_error_says_they_are_not_rescaled_and_suggests_values(world):
    error = problem(world, weights={"area_fit": 0.5, "road_distance": 1.0})
    assert "sum to 1" in error.detail and "1.5" in error.detail
    assert '"area_fit": 0.3333' in error.detail


def test_control_on_a_kind_with_no_layer_is_409(world):
    error = problem(world, 409, controls=[{"kind": "control_line", "mode": "outside"}])
    assert error.code == "layer_missing" and "control_line" in error.detail


# --- the relation cache -------------------------------------------------------------------


def test_cold_and_warm_results_are_identical_and_warm_computes_nothing(fresh_world):
    cache = siting_cache(fresh_world)
    cold = orjson.dumps(run(fresh_world))
    [ref] = current_layers(fresh_world, ["land_use_plan"])
    table = cache.table(fresh_world, ref)
    computed = table.computed()
    assert computed > 0
    warm = orjson.dumps(run(fresh_world))
    assert warm == cold
    assert table.computed() == computed  # every relation came from the cache
    cache.clear()
    assert orjson.dumps(run(fresh_world)) == cold


def test_partly_filled_columns_give_the_same_answer_as_a_cold_search(fresh_world):
    wide = {
        "scope": {"districts": [DISTRICT_A, DISTRICT_B]},
        **{k: v for k, v in EXAMPLE.items() if k != "scope"},
    }
    cold = orjson.dumps(run(fresh_world, wide))
    siting_cache(fresh_world).clear()
    # A narrow search first fills the columns for some parcels only.
    run(fresh_world, land_use="100102")
    run(fresh_world, area_min_m2=20000)
    assert orjson.dumps(run(fresh_world, wide)) == cold


def test_a_new_layer_version_invalidates_its_relations(fresh_world, tmp_path):
    before = run(fresh_world)
    cache = siting_cache(fresh_world)
    [ref] = current_layers(fresh_world, ["land_use_plan"])
    old_table = cache.table(fresh_world, ref)
    assert old_table.column_count() > 0
    # The red line grows over P1: a new version, so new relations.
    from tests.siting_world import _import

    _import(
        fresh_world,
        tmp_path,
        "ecological_redline",
        "ecological_redline",
        [box(6000, 0, 10_000, 10_000), box(900, 900, 1200, 1200)],
        [{"name": "缙云山"}, {"name": "新增"}],
        "-v2",
    )
    after = run(fresh_world)
    assert "P1" in names(before["candidates"]) and "P1" not in names(after["candidates"])
    assert after["data_versions"]["ecological_redline"] == 2
    # Columns measured on red line version 1 were dropped.
    assert ("ecological_redline", 1) not in {
        v for c in cache.table(fresh_world, ref)._columns.values() for v in c.versions
    }
    assert all(
        c.versions <= {(r.layer_id, r.version) for r in current_layers(fresh_world)}
        for c in cache.table(fresh_world, ref)._columns.values()
    )


def test_parcel_layer_setting(tmp_path):
    ctx = _context(tmp_path)
    try:
        build_world(ctx, tmp_path)
        import_parcels(ctx, tmp_path, PARCELS[:2], tag="-other")
        # A second parcel layer of another id, named by the setting.
        from tests.siting_world import _import, parcel_geoms

        _import(
            ctx,
            tmp_path,
            "parcels_b",
            "land_use_plan",
            parcel_geoms(PARCELS[:3]),
            [{"code": p.code} for p in PARCELS[:3]],
            "-b",
        )
        settings = load_settings(
            {"database_url": ctx.settings.database_url, "siting_parcel_layer": "parcels_b"},
            environ={},
        )
        other = build_context(settings)
        try:
            result = run(other, {"scope": {"districts": [DISTRICT_A]}})
            assert {c["layer"] for c in result["candidates"]} == {"parcels_b"}
            assert result["total"] == 3
        finally:
            other.close()
    finally:
        ctx.close()


def test_overlap_never_counts_overlapping_features_twice():
    from planfuse.geo.index import LayerIndex
    from planfuse.services.siting.relations import SourceGeometries, overlap_areas_m2

    parcel = shapely.box(0, 0, 100, 100)
    # Two zones covering the same left half of the parcel: 5,000 m², not 10,000.
    zones = LayerIndex([1, 2], [shapely.box(-10, -10, 50, 110), shapely.box(-20, -20, 50, 120)])
    areas = overlap_areas_m2(
        np.array([parcel]), np.array([10_000.0]), SourceGeometries([zones], ())
    )
    assert areas[0] == pytest.approx(5000.0)
    # Covered wholly by one feature: the parcel's own area, no intersection needed.
    big = LayerIndex([1], [shapely.box(-1, -1, 101, 101)])
    full = overlap_areas_m2(np.array([parcel]), np.array([10_000.0]), SourceGeometries([big], ()))
    assert full[0] == 10_000.0
