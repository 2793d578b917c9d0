"""Known answers on the demo dataset: a case opened for the planted projects freezes the
compliance figures and the conflict patches of the scenarios (server/demo/scenarios.json)."""

from __future__ import annotations

import orjson
import pytest
import shapely

from planfuse.auth.apps import create_host_app
from planfuse.auth.caller import Caller
from planfuse.demo import testing as demo
from planfuse.services.approval.cases import case_evidence, get_case, open_case
from planfuse.services.approval.opinions import give_opinion
from planfuse.services.compliance.projects import register_project
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import detect
from planfuse.services.conflicts.detection_jobs import save_detection


@pytest.fixture
def apps(demo_ctx):
    portal, _ = create_host_app(demo_ctx, "审批平台", ["https://portal.example.gov.cn"])
    nr, _ = create_host_app(demo_ctx, "规划和自然资源局", ["https://zrzy.example.gov.cn"])
    return Caller(app_id=portal.id, user=None, via="basic"), nr.id


def _register(ctx, app_id: str, name: str, geometry, crs: str, land_use: str, ptype: str):
    body = {
        "name": name,
        "geometry": geometry,
        "crs": crs,
        "land_use": land_use,
        "project_type": ptype,
    }
    return register_project(ctx, app_id, body)["id"]


def test_scenario_a_farmland_overlap_is_frozen_in_the_case(demo_ctx, apps):
    portal, nr_app = apps
    a = demo.scenario("a")
    inp = a["input"]
    project_id = _register(
        demo_ctx, portal.app_id, "a", inp["geometry"], inp["crs"], inp["land_use"], "urban"
    )
    case = open_case(
        demo_ctx,
        portal,
        {"project": project_id, "departments": [{"dept": "规划和自然资源局", "app": nr_app}]},
    )
    assert case["evidence"]["verdict"] == "fail"
    evidence = orjson.loads(case_evidence(demo_ctx, portal, case["id"]))
    items = {i["rule"]: i for i in evidence["compliance"]["items"]}
    for rule, expected in a["expected"]["items"].items():
        assert items[rule]["status"] == expected["status"], rule
        assert items[rule]["overlap_area_m2"] == pytest.approx(
            expected["overlap_area_m2"], abs=0.01
        ), rule
    assert items["basic_farmland"]["overlap_area_m2"] == pytest.approx(12_345.67, abs=0.01)
    # A natural-resources user agrees with conditions; the case shows it.
    user = Caller(
        app_id=nr_app, user="wang", roles=("approver",), dept="规划和自然资源局", name="王五"
    )
    give_opinion(
        demo_ctx,
        user,
        case["id"],
        {"opinion": "agree_with_conditions", "conditions": ["补划永久基本农田 12345.67 m²"]},
    )
    got = get_case(demo_ctx, portal, case["id"])
    assert got["departments"][0]["opinion"] == "agree_with_conditions"
    assert got["departments"][0]["user_name"] == "王五"


def test_scenario_g_two_plan_conflict_is_frozen_with_its_exact_area(demo_ctx, apps):
    portal, nr_app = apps
    g = demo.scenario("g")
    found = detect(demo_ctx, g["input"]["analysis"], g["input"]["districts"])
    save_detection(demo_ctx, found, job_id=None, actor=Actor("test"))
    zone = demo_ctx.work.to_work(demo.shape(g["zone"]["geometry"]))
    mine = [
        r
        for r in found.records
        if not r.sliver and shapely.within(shapely.point_on_surface(r.geom_work), zone)
    ]
    main = max(mine, key=lambda r: r.area_m2)
    assert main.area_m2 == pytest.approx(23_456.78, rel=1e-6)
    # The red line: the patch's envelope (in EPSG:4490), so the whole patch lies inside it.
    envelope = shapely.envelope(demo_ctx.work.to_storage(main.geom_work))
    project_id = _register(
        demo_ctx,
        portal.app_id,
        "g",
        shapely.geometry.mapping(envelope),
        "EPSG:4490",
        "1001",
        "other",
    )
    case = open_case(
        demo_ctx,
        portal,
        {"project": project_id, "departments": [{"dept": "规划和自然资源局", "app": nr_app}]},
    )
    evidence = orjson.loads(case_evidence(demo_ctx, portal, case["id"]))
    patch = evidence["conflicts"][0]
    assert patch["analysis"] == "two_plans" and patch["type"] == "04"
    assert patch["area_m2"] == 23_456.78
    assert patch["overlap_area_m2"] == pytest.approx(23_456.78, abs=0.01)
    assert [s["code"] for s in patch["sources"]] == ["M1", "1100"]
    assert patch["type_name"]["zh-CN"] and patch["type_name"]["en"]
    assert case["evidence"]["conflict_count"] == len(evidence["conflicts"])
    assert all(not c["sliver"] for c in evidence["conflicts"])
