"""The demo's planted project reserve (项目储备库): projects placed in the planted scenarios'
zones, whose pre-study outcome and figures are known by construction (the land-use status
figures hold because the demo's status surveys the zones from their planted lines: basic
farmland 0101, the urban boundary 0701, the rest 0301).

- `on_farmland` (zone a): the red line of scenario a, 12,345.67 m² on basic farmland →
  `not_landable`, 12,345.67 m² of basic farmland (and of farmland on the status).
- `across_boundary` (zone f): 350 m × 400 m on a 0901 parcel, 200 m inside the 弹性发展区 and
  150 m outside → `needs_adjustment`: shrink by 60,000 m² to the 80,000 m² inside.
- `all_pass` (zone c): the red line of scenario c → `landable`.
- `no_red_line` (渝北区): an industrial (1001) project of 20,000 m² without a red line →
  candidate sites from the siting search, each pre-studied.
"""

from __future__ import annotations

from typing import Any

from planfuse.demo.scenarios import ZONES, box, geojson_in

#: Land needed by the project across the urban boundary: what fits inside it (80,000 m²)
#: is enough, so shrinking the red line is the adjustment.
ACROSS_NEEDED_M2 = 60_000.0


def _red_line(letter: str, local) -> dict[str, Any]:
    return geojson_in(ZONES[letter].place(local), "EPSG:4490")


def planted_reserve() -> list[dict[str, Any]]:
    """The planted projects: `key`, the create body (`body`) and what the pre-study must
    answer (`expected`, areas in m² exact by construction)."""
    w = 61.72835  # scenario a: 200 m × 61.72835 m = 12,345.67 m² on the farmland
    return [
        {
            "key": "on_farmland",
            "body": {
                "name": "九龙坡城南安置房（占用永久基本农田）",
                "type": "urban",
                "dept": "housing_construction",
                "district": "500107",
                "land_use": "0701",
                "area_m2": 50_000,
                "geometry": _red_line("a", box(-200, -100, w, 100)),
                "crs": "EPSG:4490",
                "funds": {"2026": 3000, "2027": 2000},
                "priority": 3,
                "depends_on": [],
                "earliest_year": 2026,
                "latest_year": 2028,
            },
            "expected": {
                "outcome": "not_landable",
                "reason": "on_basic_farmland",
                "red_line_area_m2": 52_345.67,
                "basic_farmland_m2": 12_345.67,
                # On the status: the farmland part is 0101, none of it construction land.
                "farmland_m2": 12_345.67,
                "new_construction_land_m2": 12_345.67,
            },
        },
        {
            "key": "across_boundary",
            "body": {
                "name": "北碚商业综合体（跨城镇开发边界）",
                "type": "urban",
                "dept": "development_reform",
                "district": "500109",
                "land_use": "0901",
                "area_m2": ACROSS_NEEDED_M2,
                "geometry": _red_line("f", box(-300, -200, 50, 200)),
                "crs": "EPSG:4490",
                "funds": {"2026": 1000, "2027": 4000},
                "priority": 2,
                "depends_on": [],
            },
            "expected": {
                "outcome": "needs_adjustment",
                "reason": "outside_urban_boundary",
                "red_line_area_m2": 140_000.0,
                "inside_area_m2": 80_000.0,
                "outside_area_m2": 60_000.0,
                "adjustment": {"kind": "shrink_red_line", "area_m2": 60_000.0},
                "basic_farmland_m2": 0.0,
                # On the status: 0701 inside the boundary, 0301 (forest) outside it.
                "farmland_m2": 0.0,
                "new_construction_land_m2": 60_000.0,
            },
        },
        {
            "key": "all_pass",
            "body": {
                "name": "渝北人才公寓",
                "type": "urban",
                "dept": "housing_construction",
                "district": "500112",
                "land_use": "0701",
                "area_m2": 40_000,
                "geometry": _red_line("c", box(-125, -80, 125, 80)),
                "crs": "EPSG:4490",
                "funds": {"2026": 2500},
                "priority": 4,
                "depends_on": [],
            },
            "expected": {
                "outcome": "landable",
                "red_line_area_m2": 40_000.0,
                "basic_farmland_m2": 0.0,
                "farmland_m2": 0.0,
                "new_construction_land_m2": 0.0,
            },
        },
        {
            "key": "no_red_line",
            "body": {
                "name": "渝北智能制造标准厂房（待选址）",
                "type": "urban",
                "dept": "development_reform",
                "district": "500112",
                "land_use": "1001",
                "area_m2": 20_000,
                "funds": {"2027": 1800},
                "priority": 5,
                "depends_on": [],
            },
            "expected": {"candidates": True, "area_min_m2": 20_000.0, "area_max_m2": 40_000.0},
        },
    ]


def load_demo_reserve(ctx, app_id: str, user_id: str) -> list[int]:
    """Put the planted projects in the reserve of `app_id` for `user_id` (once: nothing is
    added when that user already has projects); returns their ids. The visitor runs the
    pre-study in the `projects` widget."""
    from planfuse.services.reserve.projects import ListFilter, Scope, create_project, list_projects

    scope = Scope(app_id=app_id, user_id=user_id)
    if list_projects(ctx, scope, ListFilter(limit=1))["total"]:
        return []
    return [create_project(ctx, scope, user_id, p["body"])["id"] for p in planted_reserve()]
