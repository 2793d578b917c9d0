"""Pre-study (预研预控) on the demo dataset's planted reserve (planfuse.demo.reserve): the
known outcome and figures of each planted project, traceable reasons, candidate sites for
a project without a red line, stored results and re-runs that say what changed."""

from __future__ import annotations

import pytest
import shapely
from sqlalchemy import select

from planfuse.demo.reserve import planted_reserve
from planfuse.services.layers.land_use import is_construction
from planfuse.services.reserve.prestudy import siting_request
from planfuse.services.reserve.projects import Scope, create_project, get_project
from planfuse.services.reserve.studies import Who, run_pre_study, stale_ids
from planfuse.services.siting.search import search
from planfuse.storage.models import ComplianceReport, Feature, Layer

SCOPE = Scope(app_id="app-demo", user_id="planner")
WHO = Who(app_id="app-demo", user="planner", via="session")
PLANTED = {p["key"]: p for p in planted_reserve()}


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


def planted(ctx, key: str) -> tuple[int, dict]:
    record = PLANTED[key]
    project = create_project(ctx, SCOPE, "planner", record["body"])
    return project["id"], record["expected"]


def on_status(ctx, geometry_4490: dict) -> tuple[float, float]:
    """(new construction land, farmland) of a red line, measured here straight from the
    stored features of the current land_use_status version."""
    red = ctx.work.to_work(shapely.geometry.shape(geometry_4490))
    minx, miny, maxx, maxy = shapely.geometry.shape(geometry_4490).bounds
    with ctx.db.session() as session:
        layer = session.scalars(select(Layer).where(Layer.kind == "land_use_status")).one()
        rows = session.execute(
            select(Feature.geom, Feature.properties).where(
                Feature.layer_id == layer.id,
                Feature.version == layer.current_version,
                Feature.minx <= maxx,
                Feature.maxx >= minx,
                Feature.miny <= maxy,
                Feature.maxy >= miny,
            )
        ).all()
    new = farm = 0.0
    for geom, props in rows:
        area = ctx.work.to_work(shapely.from_wkb(geom)).intersection(red).area
        code = str(props.get("code"))
        new += 0.0 if is_construction(code) else area
        farm += area if code.startswith("01") else 0.0
    return new, farm


def reason(result: dict, code: str) -> dict:
    return next(r for r in result["reasons"] if r["code"] == code)


def test_a_project_on_basic_farmland_is_not_landable_with_the_farmland_area(ctx):
    pid, expected = planted(ctx, "on_farmland")
    result = run_pre_study(ctx, SCOPE, pid, WHO)
    assert result["outcome"] == expected["outcome"] == "not_landable"
    assert result["red_line_area_m2"] == pytest.approx(expected["red_line_area_m2"], rel=1e-6)
    assert result["basic_farmland_m2"] == pytest.approx(expected["basic_farmland_m2"], rel=1e-6)
    # The status surveys the basic farmland as 0101 and the rest outside the boundary 0301.
    assert result["farmland_m2"] == pytest.approx(expected["farmland_m2"], rel=1e-6)
    assert result["new_construction_land_m2"] == pytest.approx(
        expected["new_construction_land_m2"], rel=1e-6
    )
    new, farm = on_status(ctx, PLANTED["on_farmland"]["body"]["geometry"])
    assert result["farmland_m2"] == pytest.approx(farm, abs=0.01)
    assert result["new_construction_land_m2"] == pytest.approx(new, abs=0.01)
    assert result["quota_m2"] == result["new_construction_land_m2"]
    assert result["quota_basis"] == "land_use_status"
    why = reason(result, expected["reason"])
    assert why["outcome"] == "not_landable" and why["rule"] == "basic_farmland"
    assert why["layers"] == ["basic_farmland"]
    assert why["measured"]["overlap_area_m2"] == pytest.approx(12_345.67, rel=1e-6)
    assert why["features"] and why["features"][0]["layer"] == "basic_farmland"
    assert "12,345.67" in why["message"]["zh-CN"]
    # The evidence is a stored, signed compliance report of the app.
    with ctx.db.session() as session:
        report = session.get(ComplianceReport, result["compliance_report_id"])
        assert report.app_id == "app-demo" and report.project_id == f"reserve:{pid}"
        assert report.verdict == "fail"


def test_a_red_line_across_the_urban_boundary_needs_a_smaller_red_line(ctx):
    pid, expected = planted(ctx, "across_boundary")
    result = run_pre_study(ctx, SCOPE, pid, WHO)
    assert result["outcome"] == "needs_adjustment"
    assert [r["code"] for r in result["reasons"]] == [expected["reason"]]
    why = result["reasons"][0]
    assert why["layers"] == ["urban_boundary"]
    assert why["measured"]["inside_area_m2"] == pytest.approx(80_000.0, rel=1e-6)
    assert why["measured"]["outside_area_m2"] == pytest.approx(60_000.0, rel=1e-6)
    assert why["adjustment"]["kind"] == "shrink_red_line"
    assert why["adjustment"]["area_m2"] == pytest.approx(60_000.0, rel=1e-6)
    assert result["red_line_area_m2"] == pytest.approx(140_000.0, rel=1e-6)
    assert result["basic_farmland_m2"] == 0.0
    assert result["farmland_m2"] == expected["farmland_m2"] == 0.0
    assert result["new_construction_land_m2"] == pytest.approx(
        expected["new_construction_land_m2"], rel=1e-6
    )
    new, farm = on_status(ctx, PLANTED["across_boundary"]["body"]["geometry"])
    assert (result["new_construction_land_m2"], result["farmland_m2"]) == (
        pytest.approx(new, abs=0.01),
        pytest.approx(farm, abs=0.01),
    )


def test_when_the_inside_part_is_too_small_the_boundary_must_be_revised(ctx):
    body = dict(PLANTED["across_boundary"]["body"], area_m2=100_000)
    pid = create_project(ctx, SCOPE, "planner", body)["id"]
    why = run_pre_study(ctx, SCOPE, pid, WHO)["reasons"][0]
    assert why["adjustment"]["kind"] == "revise_urban_boundary"
    assert why["adjustment"]["area_m2"] == pytest.approx(60_000.0, rel=1e-6)


def test_a_project_inside_the_boundary_on_its_own_class_is_landable(ctx):
    pid, expected = planted(ctx, "all_pass")
    result = run_pre_study(ctx, SCOPE, pid, WHO)
    assert result["outcome"] == "landable" and result["reasons"] == []
    assert result["compliance_verdict"] == "pass"
    # On today's land-use status the site is already built-up (zone c lies inside the urban
    # boundary, surveyed as 0701): no new construction land, nothing charged to the quota.
    assert result["quota_m2"] == 0.0 and result["quota_basis"] == "land_use_status"
    assert result["new_construction_land_m2"] == expected["new_construction_land_m2"] == 0.0
    assert result["land_use_status"]["covered_m2"] == pytest.approx(40_000.0, rel=1e-6)
    assert "no_land_use_status" not in [n["code"] for n in result["notes"]]
    new, farm = on_status(ctx, PLANTED["all_pass"]["body"]["geometry"])
    assert (result["quota_m2"], result["farmland_m2"]) == (
        pytest.approx(new, abs=0.01),
        pytest.approx(farm, abs=0.01),
    )
    assert result["data_versions"]["land_use_status"] == result["land_use_status"]["version"]


def test_a_project_without_a_red_line_gets_candidate_sites_each_pre_studied(ctx):
    pid, expected = planted(ctx, "no_red_line")
    result = run_pre_study(ctx, SCOPE, pid, WHO)
    candidates = result["candidates"]
    assert candidates, result["reasons"]
    request = siting_request(ctx, get_project_subject(ctx, pid))
    assert request["conditions"]["area_min_m2"] == expected["area_min_m2"]
    assert request["conditions"]["area_max_m2"] == expected["area_max_m2"]
    # The candidates are the siting service's own answer for that request.
    found = search(ctx, request["scope"], request["conditions"], limit=request["limit"])
    assert [c["feature_id"] for c in candidates] == [c["feature_id"] for c in found["candidates"]]
    for c in candidates:
        assert c["district"] == "500112" and c["land_use"].startswith("1001")
        assert 20_000 <= c["area_m2"] <= 40_000
        assert c["compliance_report_id"], c
        assert c["outcome"] in ("landable", "needs_adjustment"), c["reasons"]
        assert c["geometry"]["type"] in ("Polygon", "MultiPolygon")
    best = min(
        candidates, key=lambda c: (["landable", "needs_adjustment"].index(c["outcome"]), c["rank"])
    )
    assert result["outcome"] == best["outcome"]
    assert result["best_candidate"]["feature_id"] == best["feature_id"]
    assert result["compliance_report_id"] == best["compliance_report_id"]


def get_project_subject(ctx, pid):
    from planfuse.services.reserve.studies import subject_of
    from planfuse.storage.models import ReserveProject

    with ctx.db.session() as session:
        return subject_of(
            session.scalars(select(ReserveProject).where(ReserveProject.id == pid)).one()
        )


def test_results_are_stored_and_a_rerun_says_what_changed(ctx):
    pid, _ = planted(ctx, "all_pass")
    assert stale_ids(ctx, SCOPE) == [pid]
    first = run_pre_study(ctx, SCOPE, pid, WHO)
    assert first["changes"] is None
    stored = get_project(ctx, SCOPE, pid)
    assert stored["pre_study_status"] == "landable"
    assert stored["pre_study"]["compliance_report_id"] == first["compliance_report_id"]
    assert stale_ids(ctx, SCOPE) == []
    again = run_pre_study(ctx, SCOPE, pid, WHO)
    assert again["changes"] == {
        "changed": False,
        "outcome": None,
        "layers": [],
        "figures": {},
        "previous_at": first["studied_at"],
    }


def test_the_demo_loads_its_planted_reserve_once(ctx):
    from planfuse.demo.reserve import load_demo_reserve

    ids = load_demo_reserve(ctx, "app-sample", "demo-reviewer-01")
    assert len(ids) == len(PLANTED)
    assert load_demo_reserve(ctx, "app-sample", "demo-reviewer-01") == []
    names = [get_project(ctx, Scope("app-sample", "demo-reviewer-01"), i)["name"] for i in ids]
    assert names == [p["body"]["name"] for p in planted_reserve()]
