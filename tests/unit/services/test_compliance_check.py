"""The compliance check service on a small exact world (tests/compliance_world.py), on
SQLite and PostgreSQL: rule by rule, union areas, not_checked, rulesets, validation, and
that nothing is stored on bad input."""

from __future__ import annotations

import orjson
import pytest
import shapely
from compliance_world import CENTRE, build_world, project, storage_box, work_box
from sqlalchemy import func, select

from planfuse.errors import DomainError
from planfuse.geo.errors import GeoError
from planfuse.http.problems import problem_from_exception
from planfuse.services.compliance.check import check, report_bytes
from planfuse.services.compliance.rulesets import (
    DEFAULT_RULESET,
    get_ruleset,
    save_ruleset,
)
from planfuse.storage.models import ComplianceReport


def run(ctx, geometry, land_use="0701", project_type="urban", **kw) -> dict:
    crs = kw.pop("crs", "EPSG:4490")
    report = check(ctx, geometry, crs, land_use, project_type, kw.pop("ruleset", None), **kw)
    return orjson.loads(report_bytes(report))


def items(report) -> dict:
    return {i["rule"]: i for i in report["items"]}


def stored(ctx) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(func.count()).select_from(ComplianceReport))


@pytest.fixture
def world(ctx):
    return build_world(ctx)


def test_farmland_overlap_fails_with_the_exact_area(ctx, world):
    report = run(ctx, project(-100, 50, 100, 150))
    farmland = items(report)["basic_farmland"]
    assert farmland["status"] == "fail"
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
    assert farmland["overlap_ratio"] == pytest.approx(0.5, rel=1e-4)
    assert report["project_area_m2"] == pytest.approx(20_000, rel=1e-4)
    assert report["verdict"] == "fail"
    [feature] = farmland["features"]
    assert feature["layer"] == "basic_farmland" and feature["fid"] == 1
    piece = shapely.geometry.shape(feature["geometry"])
    assert piece.geom_type == "Polygon"
    assert (
        shapely.equals_exact(
            ctx.work.to_work(piece).normalize(), work_box(0, 50, 100, 150).normalize(), 0.01
        )
        or abs(ctx.work.to_work(piece).area - 10_000) < 1
    )


def test_overlapping_features_of_one_layer_count_once(ctx, world):
    # Farmland features 2 and 3 overlap each other by 100 × 100 m; the project covers both.
    report = run(ctx, project(900, -100, 1400, 400))
    farmland = items(report)["basic_farmland"]
    assert farmland["feature_count"] == 2
    assert sum(f["overlap_area_m2"] for f in farmland["features"]) == pytest.approx(80_000, 1e-4)
    assert farmland["overlap_area_m2"] == pytest.approx(70_000, rel=1e-4)


def test_boundary_noise_under_the_tolerance_passes(ctx, world):
    # 0.4 m² of farmland: a 0.002 m sliver along the 200 m edge.
    report = run(ctx, project(-100, 0, 0.002, 200))
    farmland = items(report)["basic_farmland"]
    assert farmland["status"] == "pass"
    assert 0 < farmland["overlap_area_m2"] <= 1.0


def test_major_project_on_farmland_needs_approval(ctx, world):
    report = run(ctx, project(-100, 50, 100, 150), land_use="1201", project_type="major")
    assert items(report)["basic_farmland"]["status"] == "needs_approval"


def test_linear_project_across_the_red_line_needs_review(ctx, world):
    report = run(ctx, project(-300, 590, 300, 610), land_use="0701", project_type="linear")
    redline = items(report)["ecological_redline"]
    assert redline["status"] == "needs_review"
    assert redline["overlap_area_m2"] == pytest.approx(300 * 20, rel=1e-4)
    assert redline["features"][0]["attributes"] == {"name": "缙云山"}


def test_urban_boundary_ratio_and_info_for_other_types(ctx, world):
    inside = run(ctx, project(-500, -500, -300, -300))
    assert items(inside)["urban_boundary"]["status"] == "pass"
    half = run(ctx, project(800, 0, 1100, 100))  # 100 of 300 m inside (zone 02)
    ub = items(half)["urban_boundary"]
    assert ub["status"] == "fail"
    assert ub["overlap_ratio"] == pytest.approx(1 / 3, rel=1e-4)
    assert ub["details"]["outside_area_m2"] == pytest.approx(20_000, rel=1e-4)
    assert shapely.geometry.shape(ub["details"]["outside_geometry"]).area > 0
    assert ub["details"]["by_zone"] == [
        {
            "zone": "02",
            "name": ub["details"]["by_zone"][0]["name"],
            "area_m2": pytest.approx(10_000, rel=1e-4),
        }
    ]
    warn = run(ctx, project(600, 0, 1000, 100))  # 300 of 400 m inside
    assert items(warn)["urban_boundary"]["status"] == "warn"
    other = run(ctx, project(800, 0, 1100, 100), project_type="other")
    assert items(other)["urban_boundary"]["status"] == "info"


def test_land_use_compatibility_and_slivers(ctx, world):
    # 100 m onto cropland (0101) planned land: incompatible with 0701.
    report = run(ctx, project(-100, -300, 100, -200))
    land = items(report)["land_use_plan"]
    assert land["status"] == "fail"
    assert land["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
    assert {c["code"]: c["allowed"] for c in land["details"]["classes"]} == {
        "0701": True,
        "0101": False,
    }
    assert all(not f["allowed"] for f in land["features"] if f["counted"])
    # Cropland itself is allowed for a farm use (01 ↔ 01–04, 23).
    assert (
        items(run(ctx, project(100, -300, 200, -200), land_use="0103"))["land_use_plan"]["status"]
        == "pass"
    )
    # A piece of 0101 under the 200 m² sliver size is ignored: 1.5 m × 100 m = 150 m².
    sliver = items(run(ctx, project(-100, -300, 1.5, -200)))["land_use_plan"]
    assert sliver["status"] == "pass"
    assert sliver["details"]["sliver_count"] == 1
    assert sliver["details"]["sliver_area_m2"] == pytest.approx(150, rel=1e-3)


def test_land_use_thin_pieces_are_slivers(ctx, world):
    # The 0901 strip is 10 m wide; a project crossing 0.8 m of it gets a piece 0.8 m thin
    # but 800 m² large: thinner than 1 m, so it is a sliver.
    report = run(ctx, project(-900, 990, -100, 1000.8))
    land = items(report)["land_use_plan"]
    assert land["status"] == "pass"
    assert land["details"]["sliver_count"] == 1


def test_land_use_roads_and_green_are_allowed_beside_housing(ctx, world):
    report = run(ctx, project(-900, 1010, -100, 1015))
    assert items(report)["land_use_plan"]["status"] == "pass"


def test_sensitive_zone_levels(ctx, world):
    high = items(run(ctx, project(1950, 50, 2050, 150)))["sensitive_zone"]
    assert high["status"] == "fail"
    assert high["details"]["by_class"][0]["type"] == "geohazard"
    medium = items(run(ctx, project(2250, 50, 2350, 150)))["sensitive_zone"]
    assert medium["status"] == "warn"
    water = items(run(ctx, project(2550, 50, 2650, 150)))["sensitive_zone"]
    assert water["status"] == "fail"
    low = items(run(ctx, project(2850, 50, 2950, 150)))["sensitive_zone"]
    assert low["status"] == "pass"
    assert low["overlap_area_m2"] == pytest.approx(5_000, rel=1e-4)
    assert low["details"]["by_class"][0]["status"] == "info"
    assert low["feature_count"] == 1 and low["counted_feature_count"] == 0
    assert low["features"] == []
    both = items(run(ctx, project(2150, 50, 2350, 150)))["sensitive_zone"]
    assert both["status"] == "fail"  # high and medium: the worst wins


def test_control_lines(ctx, world):
    report = run(ctx, project(3900, 100, 4200, 200))
    lines = items(report)["control_line"]
    assert lines["status"] == "fail"
    assert lines["overlap_area_m2"] == pytest.approx(20 * 100 + 30 * 100, rel=1e-4)
    assert {b["type"] for b in lines["details"]["by_type"]} == {"road", "blue"}


def test_all_pass_project(ctx, world):
    report = run(ctx, project(-600, -600, -400, -400))
    assert report["verdict"] == "pass"
    assert {i["status"] for i in report["items"]} == {"pass"}


def test_a_kind_without_data_is_not_checked_and_warns(ctx):
    build_world(ctx, ["basic_farmland", "urban_boundary", "land_use_plan"])
    report = run(ctx, project(-600, -600, -400, -400))
    status = {i["rule"]: i["status"] for i in report["items"]}
    assert status["ecological_redline"] == "not_checked"
    assert status["sensitive_zone"] == "not_checked"
    assert status["control_line"] == "not_checked"
    assert status["basic_farmland"] == "pass"
    assert report["verdict"] == "warn"


def test_no_data_at_all_warns(ctx):
    report = run(ctx, project(-600, -600, -400, -400))
    assert {i["status"] for i in report["items"]} == {"not_checked"}
    assert report["verdict"] == "warn"


def test_same_areas_in_gauss_kruger_and_cgcs2000(ctx, world):
    g4490 = run(ctx, project(-100, 50, 100, 150))
    for crs in ("EPSG:4523", "EPSG:4543", "EPSG:4524", "GCJ-02"):
        other = run(ctx, project(-100, 50, 100, 150, crs=crs), crs=crs)
        assert other["input"]["crs"] == crs
        assert other["project_area_m2"] == pytest.approx(g4490["project_area_m2"], rel=1e-4)
        for a, b in zip(g4490["items"], other["items"], strict=True):
            assert b["overlap_area_m2"] == pytest.approx(a["overlap_area_m2"], rel=1e-4, abs=0.01)


def test_report_is_stored_with_who_when_versions(ctx, world):
    class Caller:
        app_id, user, via, name, dept = "app_x", "u-1", "session", "张三", "规划科"

    report = run(ctx, project(-100, 50, 100, 150), caller=Caller())
    assert report["id"].startswith("cr_")
    assert report["checked_by"] == {
        "app": "app_x",
        "user": "u-1",
        "name": "张三",
        "dept": "规划科",
        "via": "session",
    }
    assert report["ruleset"]["id"] == "default" and report["ruleset"]["version"] == 1
    assert report["data_versions"] == {layer: 1 for layer in world}
    with ctx.db.session() as session:
        row = session.get(ComplianceReport, report["id"])
        assert row.app_id == "app_x" and row.user == "u-1"
        assert row.verdict == "fail" and row.source_crs == "EPSG:4490"
        assert row.data_versions == report["data_versions"]
        assert orjson.loads(row.result)["signature"]["jws"] == report["signature"]["jws"]
        geom = shapely.from_wkb(row.geom)
        assert ctx.work.to_work(geom).area == pytest.approx(20_000, rel=1e-4)


def test_new_layer_version_is_recorded(ctx, world):
    build_world(ctx, ["basic_farmland"])  # re-import: version 2
    report = run(ctx, project(-100, 50, 100, 150))
    assert report["data_versions"]["basic_farmland"] == 2


# --- rulesets ---------------------------------------------------------------------------


def test_default_ruleset_is_seeded_once(ctx):
    a = get_ruleset(ctx)
    b = get_ruleset(ctx, "default")
    assert a.version == b.version == 1
    assert a.settings["tolerance_m2"] == 1.0
    assert a.rules["land_use_plan"]["compatibility"]["07"] == ["07", "1207", "14"]


def test_editing_a_ruleset_adds_a_version_and_changes_results(ctx, world):
    doc = {**DEFAULT_RULESET, "settings": {"tolerance_m2": 20_000.0}}
    new = save_ruleset(ctx, "default", doc, created_by="admin:test")
    assert new.version == 2
    report = run(ctx, project(-100, 50, 100, 150))
    assert report["ruleset"]["version"] == 2
    assert items(report)["basic_farmland"]["status"] == "pass"
    old = run(ctx, project(-100, 50, 100, 150), ruleset="default")
    assert old["ruleset"]["version"] == 2
    assert get_ruleset(ctx, "default", 1).settings["tolerance_m2"] == 1.0


def test_ruleset_validation_names_every_problem(ctx):
    bad = {
        "name": {"zh-CN": "x"},
        "settings": {"tolerance_m2": -1, "typo": 3},
        "rules": {
            "land_use_plan": {"compatibility": {"07": ["0799"], "99": ["07"]}},
            "sensitive_zone": {"classes": [{"type": "volcano", "status": "boom"}]},
            "farmland": {},
        },
    }
    with pytest.raises(DomainError) as info:
        save_ruleset(ctx, "strict", bad, created_by="t", create=True)
    fields = {e["field"] for e in info.value.errors}
    assert {
        "settings.tolerance_m2",
        "settings.typo",
        "rules.farmland",
        "rules.land_use_plan.compatibility.07[0]",
        "rules.land_use_plan.compatibility.99",
        "rules.sensitive_zone.classes[0].type",
        "rules.sensitive_zone.classes[0].status",
    } <= fields


# --- bad input: a 4xx problem and nothing stored ------------------------------------------


BAD_INPUTS = {
    "empty": ({"type": "Polygon", "coordinates": []}, {}, "invalid_geometry"),
    "point": ({"type": "Point", "coordinates": [106.5, 29.5]}, {}, "invalid_geometry"),
    "line": (
        {"type": "LineString", "coordinates": [[106.5, 29.5], [106.6, 29.6]]},
        {},
        "invalid_geometry",
    ),
    "bowtie": (
        {
            "type": "Polygon",
            "coordinates": [
                [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]
            ],
        },
        {},
        "self_intersection",
    ),
    "unprefixed_under_prefixed": (
        # Zone-35 eastings without the "35" prefix, declared as EPSG:4523 (prefixed).
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [650000, 3270000],
                    [650200, 3270000],
                    [650200, 3270200],
                    [650000, 3270200],
                    [650000, 3270000],
                ]
            ],
        },
        {"crs": "EPSG:4523"},
        "coordinates_out_of_range",
    ),
    "unknown_crs": (None, {"crs": "EPSG:999999"}, "unknown_crs"),
    "unknown_land_use": (None, {"land_use": "0799"}, "unknown_land_use"),
    "bad_land_use_format": (None, {"land_use": "R2"}, "unknown_land_use"),
    "bad_project_type": (None, {"project_type": "mega"}, "invalid_project_type"),
    "unknown_ruleset": (None, {"ruleset": "nope"}, "unknown_ruleset"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_a_clear_problem_and_stores_nothing(ctx, world, case):
    geometry, overrides, code = BAD_INPUTS[case]
    geometry = geometry or project(-100, 50, 100, 150)
    args = {"crs": "EPSG:4490", "land_use": "0701", "project_type": "urban", "ruleset": None}
    args.update(overrides)
    with pytest.raises((DomainError, GeoError)) as info:
        check(ctx, geometry, **args)
    exc = problem_from_exception(info.value)
    assert 400 <= exc.status < 500
    assert exc.code == code, exc.detail
    assert exc.detail
    assert stored(ctx) == 0


def test_self_intersection_offers_repair_and_repair_works(ctx, world):
    # The project rectangle's corners in bow-tie order: two triangles of 5,000 m².
    x0, y0, x1, y1 = shapely.bounds(work_box(-100, 50, 100, 150))
    ring = shapely.LinearRing([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    coords = shapely.get_coordinates(ctx.work.to_storage(ring)).tolist()
    bowtie = {"type": "Polygon", "coordinates": [coords]}
    with pytest.raises(DomainError) as info:
        check(ctx, bowtie, "EPSG:4490", "0701", "urban")
    assert info.value.code == "self_intersection"
    assert any(e.get("repairable") for e in info.value.errors)
    assert "repair" in problem_from_exception(info.value).detail
    report = orjson.loads(
        report_bytes(check(ctx, bowtie, "EPSG:4490", "0701", "urban", repair=True))
    )
    assert report["input"]["repaired"] is True
    assert report["project_area_m2"] == pytest.approx(10_000, rel=1e-3)
    assert stored(ctx) == 1


def test_a_project_over_the_maximum_area_is_refused(ctx, world, monkeypatch):
    settings = dict(ctx.settings)
    settings["max_project_area_m2"] = 10_000.0
    from planfuse.settings import Settings

    monkeypatch.setattr(ctx, "settings", Settings(settings))
    with pytest.raises(DomainError) as info:
        check(ctx, project(-100, 50, 100, 150), "EPSG:4490", "0701", "urban")
    assert info.value.code == "project_too_large"
    assert "max_project_area_m2" in problem_from_exception(info.value).detail
    assert stored(ctx) == 0


def test_several_bad_fields_are_reported_together(ctx, world):
    with pytest.raises(DomainError) as info:
        check(ctx, project(-100, 50, 100, 150), "EPSG:4490", "99", "mega", "nope")
    fields = [e["field"] for e in info.value.errors]
    assert fields == ["land_use", "project_type", "ruleset"]


def test_feature_collections_merge_into_one_project(ctx, world):
    a, b = storage_box(-100, 50, 0, 150), storage_box(0, 50, 100, 150)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)}
            for g in (a, b)
        ],
    }
    report = run(ctx, orjson.loads(orjson.dumps(fc)))
    assert report["input"]["parts"] == 2
    assert report["project_area_m2"] == pytest.approx(20_000, rel=1e-4)


def test_geojson_crs_member_names_the_crs(ctx, world):
    geometry = project(-100, 50, 100, 150, crs="EPSG:4523")
    feature = {
        "type": "Feature",
        "properties": {},
        "geometry": geometry,
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4523"}},
    }
    report = orjson.loads(report_bytes(check(ctx, feature, None, "0701", "urban")))
    assert report["input"]["crs"] == "EPSG:4523"
    assert report["project_area_m2"] == pytest.approx(20_000, rel=1e-4)


def test_boundary_point_text_input(ctx, world):
    from planfuse.geo.crs import transform_geometry

    x0, y0, x1, y1 = shapely.bounds(work_box(-100, 50, 100, 150))
    corners = ctx.work.to_storage(shapely.LinearRing([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))
    ring = shapely.get_coordinates(transform_geometry(corners, "EPSG:4490", "EPSG:4523"))
    # Surveyors list X (northing) first.
    text = "\n".join(f"J{i + 1},{y:.3f},{x:.3f}" for i, (x, y) in enumerate(ring))
    report = run(ctx, text, crs="EPSG:4523")
    assert report["project_area_m2"] == pytest.approx(20_000, rel=1e-3)
    assert any("swapped" in n for n in report["input"]["notes"])


def test_report_features_are_capped(ctx, world, monkeypatch):
    from planfuse.settings import Settings

    monkeypatch.setattr(ctx, "settings", Settings({**ctx.settings, "compliance_max_features": 1}))
    farmland = items(run(ctx, project(900, -100, 1400, 400)))["basic_farmland"]
    assert farmland["feature_count"] == 2
    assert len(farmland["features"]) == 1
    assert farmland["features_truncated"] is True


def test_world_centre_is_inside_chongqing():
    assert 105.3 < CENTRE[0] < 110.2 and 28.2 < CENTRE[1] < 32.2
