"""Known answers of the demo's planted conflict scenarios (server/demo/scenarios.json):
a two-plan type-04 conflict of exact area surrounded by slivers, with a 210 m² conflict
that is kept (g), and three-line overlaps just under and just over the sliver size (h)."""

from __future__ import annotations

import pytest
import shapely

from planfuse.demo import testing as demo
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.detect import detect
from planfuse.services.conflicts.detection_jobs import save_detection
from planfuse.services.conflicts.queries import ConflictQuery, list_conflicts


def in_zone(ctx, record, scenario) -> bool:
    zone = ctx.work.to_work(demo.shape(scenario["zone"]["geometry"]))
    return shapely.within(shapely.point_on_surface(record.geom_work), zone)


def demo_ids(record) -> list[str]:
    lookup = {
        (entry["layer"], entry["fid"]): demo_id
        for demo_id, entry in demo.load_scenarios()["features"].items()
    }
    return [lookup.get((s["layer"], s["fid"])) for s in record.sources]


def test_two_plan_conflict_of_exact_area_surrounded_by_slivers(demo_ctx):
    g = demo.scenario("g")
    found = detect(demo_ctx, g["input"]["analysis"], g["input"]["districts"])
    mine = [r for r in found.records if in_zone(demo_ctx, r, g)]
    expected = g["expected"]
    conflicts = sorted((r for r in mine if not r.sliver), key=lambda r: -r.area_m2)
    assert [(r.type, round(r.area_m2, 2), demo_ids(r)) for r in conflicts] == [
        (c["type"], c["area_m2"], [c["urban_plan"]["demo_id"], c["land_plan"]["demo_id"]])
        for c in expected["conflicts"]
    ]
    main = conflicts[0]
    # Exact by construction; the files' coordinate rounding moves it by < 1e-6 relative.
    assert main.area_m2 == pytest.approx(23_456.78, rel=1e-6)
    assert [s["code"] for s in main.sources] == ["M1", "1100"]
    assert main.district == g["district"] and main.district_name == g["district_name"]
    assert main.thickness_m == pytest.approx(expected["conflicts"][0]["thinness_m"], abs=0.01)
    assert sum(r.area_m2 for r in conflicts) == pytest.approx(
        expected["conflict_area_m2"], abs=0.01
    )
    slivers = sorted((r for r in mine if r.sliver), key=lambda r: (-r.area_m2, r.thickness_m))
    want = sorted(expected["slivers"], key=lambda s: (-s["area_m2"], s["thinness_m"]))
    assert [(round(r.area_m2, 2), r.sliver_reason, demo_ids(r)) for r in slivers] == [
        (s["area_m2"], s["sliver_reason"], [s["urban_plan"]["demo_id"], s["land_plan"]["demo_id"]])
        for s in want
    ]
    assert sum(r.area_m2 for r in slivers) == pytest.approx(expected["sliver_area_m2"], abs=0.01)
    # Consistent pieces (01/02) are counted, not kept as conflicts.
    assert {r.type for r in found.records} <= {"03", "04"}
    # Stored: the conflicts are listed with their areas, the slivers only apart.
    save_detection(demo_ctx, found, job_id=None, actor=Actor("test"))
    listed = list_conflicts(
        demo_ctx, ConflictQuery(analysis="two_plans", districts=(g["district"],), limit=500)
    )
    areas = [c["area_m2"] for c in listed["conflicts"]]
    assert 23_456.78 in areas and 210.0 in areas
    assert not any(c["sliver"] for c in listed["conflicts"])
    apart = list_conflicts(
        demo_ctx,
        ConflictQuery(analysis="two_plans", districts=(g["district"],), sliver=True, limit=500),
    )
    for s in expected["slivers"]:
        assert s["area_m2"] in [c["area_m2"] for c in apart["conflicts"]]


def test_three_line_overlaps_just_under_and_over_the_sliver_size(demo_ctx):
    h = demo.scenario("h")
    found = detect(demo_ctx, h["input"]["analysis"], h["input"]["districts"])
    mine = [r for r in found.records if in_zone(demo_ctx, r, h)]
    got = sorted((round(r.area_m2, 2), r.sliver, sorted(x for x in demo_ids(r) if x)) for r in mine)
    want = sorted(
        (p["area_m2"], p["sliver"], sorted(p["features"])) for p in h["expected"]["pieces"]
    )
    assert got == want
    for r in mine:
        assert r.area_m2 == pytest.approx(199.0 if r.sliver else 201.0, rel=1e-6)
        assert r.sliver_reason == ("area" if r.sliver else None)
    kinds = {tuple(s["kind"] for s in r.sources) for r in mine if not r.sliver}
    assert kinds == {
        ("basic_farmland", "ecological_redline"),
        ("basic_farmland", "urban_boundary"),
        ("ecological_redline", "urban_boundary"),
    }


def test_the_sliver_size_is_the_detection_services_configuration(demo_ctx):
    """服务配置: with conflict_detection's `sliver_area_m2` at 200.5 m² instead of 200, the
    planted 201 m² overlaps stay conflicts and the 199 m² ones slivers; at 202 m² every one
    of them is a sliver. The conflicts options say which rule the next detection uses."""
    from planfuse.services.conflicts.queries import conflict_options
    from planfuse.services.monitoring.config import set_service_config

    h = demo.scenario("h")

    def slivers_by_area() -> dict[float, set[bool]]:
        found = detect(demo_ctx, h["input"]["analysis"], h["input"]["districts"])
        out: dict[float, set[bool]] = {}
        for r in found.records:
            if in_zone(demo_ctx, r, h):
                out.setdefault(round(r.area_m2), set()).add(r.sliver)
        return out

    def configure(value):
        body = {"values": {"sliver_area_m2": value}, "note": "scenario h"}
        set_service_config(demo_ctx, "conflict_detection", body, by="admin")

    configure(200.5)
    assert slivers_by_area() == {199: {True}, 201: {False}}
    configure(202)
    assert slivers_by_area() == {199: {True}, 201: {True}}
    assert conflict_options(demo_ctx)["sliver"] == {"area_m2": 202.0, "thinness_m": 1.0}
    configure(None)
    assert conflict_options(demo_ctx)["sliver"]["area_m2"] == 200.0
