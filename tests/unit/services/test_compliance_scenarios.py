"""Known answers: the planted compliance scenarios of the demo dataset
(server/demo/scenarios.json) through the compliance service, item by item."""

from __future__ import annotations

import orjson
import pytest

from planfuse.demo import testing as demo
from planfuse.services.compliance.check import check, report_bytes

COMPLIANCE = [s["name"] for s in demo.load_scenarios()["scenarios"] if s["service"] == "compliance"]


def run(ctx, body: dict, crs: str | None = None, geometry=None) -> dict:
    report = check(
        ctx,
        geometry if geometry is not None else body["geometry"],
        crs or body["crs"],
        body["land_use"],
        body["project_type"],
        store=False,
    )
    return orjson.loads(report_bytes(report))


def planted_ids(item: dict) -> set[str]:
    lookup = {
        (entry["layer"], entry["fid"]): demo_id
        for demo_id, entry in demo.load_scenarios()["features"].items()
    }
    return {lookup.get((f["layer"], f["fid"]), "?") for f in item["features"] if f["counted"]}


@pytest.mark.parametrize("name", COMPLIANCE)
def test_planted_scenario(demo_ctx, name):
    scenario = demo.scenario(name)
    expected = scenario["expected"]
    report = run(demo_ctx, scenario["input"])
    assert report["verdict"] == expected["verdict"]
    assert report["project_area_m2"] == pytest.approx(expected["project_area_m2"], rel=1e-3)
    for item in report["items"]:
        want = expected["items"][item["rule"]]
        assert item["status"] == want["status"], (item["rule"], item["reason"])
        # ±0.1 % of the planted area (and 1 cm² absolute for the zero ones).
        assert item["overlap_area_m2"] == pytest.approx(
            want["overlap_area_m2"], rel=1e-3, abs=0.01
        ), item["rule"]
        assert item["overlap_ratio"] == pytest.approx(want["overlap_ratio"], rel=1e-3, abs=1e-5)
        if item["rule"] != "land_use_plan" and want["features"]:
            assert set(want["features"]) <= planted_ids(item), item["rule"]


def test_farmland_overlap_is_exact(demo_ctx):
    scenario = demo.scenario("a")
    farmland = next(
        i for i in run(demo_ctx, scenario["input"])["items"] if i["rule"] == "basic_farmland"
    )
    assert farmland["status"] == "fail"
    assert farmland["overlap_area_m2"] == pytest.approx(12_345.67, rel=1e-3)


def test_boundary_noise_passes(demo_ctx):
    report = run(demo_ctx, demo.scenario("b")["input"])
    farmland = next(i for i in report["items"] if i["rule"] == "basic_farmland")
    assert 0 < farmland["overlap_area_m2"] <= 1.0
    assert farmland["status"] == "pass"
    assert report["verdict"] == "pass"


def test_zone_edge_project_gives_the_same_areas_in_every_crs(demo_ctx):
    scenario = demo.scenario("f")
    body = scenario["input"]
    reports = {
        crs: run(demo_ctx, body, crs=crs, geometry=geometry)
        for crs, geometry in scenario["inputs_by_crs"].items()
    }
    base = reports["EPSG:4490"]
    for crs in ("EPSG:4523", "EPSG:4524"):
        other = reports[crs]
        assert other["input"]["crs"] == crs
        # Within 0.01 %.
        assert other["project_area_m2"] == pytest.approx(base["project_area_m2"], rel=1e-4)
        for a, b in zip(base["items"], other["items"], strict=True):
            assert b["status"] == a["status"]
            assert b["overlap_area_m2"] == pytest.approx(a["overlap_area_m2"], rel=1e-4, abs=0.01)


def test_major_on_farmland_needs_approval(demo_ctx):
    report = run(demo_ctx, demo.scenario("d")["input"])
    assert report["verdict"] == "needs_approval"


def test_linear_across_redline_needs_review(demo_ctx):
    report = run(demo_ctx, demo.scenario("e")["input"])
    assert report["verdict"] == "needs_review"
    redline = next(i for i in report["items"] if i["rule"] == "ecological_redline")
    assert redline["overlap_area_m2"] == pytest.approx(29_650.41, rel=1e-3)


def test_all_pass(demo_ctx):
    report = run(demo_ctx, demo.scenario("c")["input"])
    assert report["verdict"] == "pass"
    assert {i["status"] for i in report["items"]} == {"pass"}
