"""Construction timing over HTTP on SQLite and PostgreSQL: a known optimum that greedy by
priority misses, dependencies, idle funds with their reasons, quota use, projects that
are not landable, and bad input as problems naming the field."""

from __future__ import annotations

import json

import pytest
from reserve_support import RED_LINE_4490, body, ensure_projects_widget, projects_session

from planfuse.services.layers.importer import ImportOptions, import_layer

URL = "/api/v1/reserve"
YEARS = [2026, 2027]


@pytest.fixture
def api(embed_app, tmp_path):
    ensure_projects_widget(embed_app, tmp_path)
    return embed_app.test_client()


def landable(api, s, **changes) -> int:
    """A project with a red line, pre-studied (landable: no control layer is loaded; its
    land needed is what the quota is charged)."""
    pid = api.post(f"{URL}/projects", json=body(geometry=RED_LINE_4490, **changes), headers=s)
    pid = pid.get_json()["id"]
    assert api.post(f"{URL}/projects/{pid}/pre-study", headers=s).get_json()["outcome"] == (
        "landable"
    )
    return pid


def request(**changes):
    out = {
        "years": YEARS,
        "quotas": {"500107": {"2026": 20000, "2027": 20000}, "500108": {"2026": 0, "2027": 9000}},
        "budget": {"2026": 5000, "2027": 5000},
        "projects": "all",
    }
    out.update(changes)
    return out


def test_the_optimal_schedule_with_reasons_idle_funds_and_quota_use(api, host):
    s = projects_session(api, host)
    a = landable(api, s, name="A", priority=5, area_m2=20000, funds={"2026": 500, "2027": 500},
                 earliest_year=2026, latest_year=2027)  # fmt: skip
    b = landable(api, s, name="B", priority=4, area_m2=20000, funds={"2026": 800},
                 earliest_year=2026, latest_year=2026)  # fmt: skip
    c = landable(api, s, name="C", priority=3, area_m2=9000, district="500108",
                 funds={"2026": 100, "2027": 300}, depends_on=[a], earliest_year=None,
                 latest_year=None)  # fmt: skip
    d = api.post(f"{URL}/projects", json=body(name="D", funds={"2026": 70}), headers=s)
    d = d.get_json()["id"]  # never pre-studied
    r = api.post(f"{URL}/schedule", json=request(), headers=s)
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    # Greedy by priority would start A in 2026 and lose B; the optimum moves A to 2027.
    assert [(x["project_id"], x["year"]) for x in out["schedule"]] == [
        (b, 2026),
        (a, 2027),
        (c, 2027),
    ]
    assert out["objective"]["priority_sum"] == 12
    assert out["objective"]["weighted_delay"] == 5 + 3
    assert out["objective"]["optimal"] is True and out["objective"]["gap"] == 0
    assert out["unscheduled"] == [
        {
            "project_id": d,
            "reason": "pre_study",
            "pre_study_status": "not_studied",
            "message": "only landable projects are scheduled; its pre-study says not_studied",
        }
    ]
    idle = {(i["project_id"], i["year"]): i for i in out["idle_funds"]}
    assert set(idle) == {(a, 2026), (c, 2026), (d, 2026)}
    assert idle[(a, 2026)]["amount"] == 500 and idle[(a, 2026)]["reason"] == "later_start"
    assert idle[(a, 2026)]["blocked_by"] == [
        {"constraint": "quota", "district": "500107", "year": 2026, "needed_m2": 20000.0,
         "remaining_m2": 0.0}
    ]  # fmt: skip
    blocked = idle[(c, 2026)]["blocked_by"]
    assert {"constraint": "dependency", "project_id": a, "starts": 2027} in blocked
    assert idle[(d, 2026)]["reason"] == "pre_study"
    assert out["idle_funds_total"] == 670.0
    use = {(q["district"], q["year"]): q for q in out["quota_use"]}
    assert use[("500107", 2026)]["projects"] == [b] and use[("500107", 2026)]["remaining_m2"] == 0
    assert use[("500108", 2027)] == {
        "district": "500108", "year": 2027, "quota_m2": 9000.0, "used_m2": 9000.0,
        "remaining_m2": 0.0, "projects": [c],
    }  # fmt: skip
    budget = {u["year"]: u for u in out["budget_use"]}
    assert budget[2026]["used"] == 800 and budget[2027]["used"] == 500 + 300


def test_a_project_that_cannot_fit_says_which_constraint(api, host):
    s = projects_session(api, host)
    big = landable(api, s, name="大", area_m2=50000, funds={"2026": 100, "2027": 100})
    out = api.post(f"{URL}/schedule", json=request(), headers=s).get_json()
    assert out["schedule"] == []
    (entry,) = out["unscheduled"]
    assert entry["project_id"] == big and entry["reason"] == "capacity"
    assert [y["blocked_by"][0]["constraint"] for y in entry["years"]] == ["quota", "quota"]
    assert "20,000.00 m² left, 50,000.00 m² needed" in entry["message"]
    poor = api.post(f"{URL}/schedule", json=request(budget={"2026": 0, "2027": 0}, quotas={
        "500107": {"2026": 1e6, "2027": 1e6}}), headers=s).get_json()  # fmt: skip
    assert [y["blocked_by"][0]["constraint"] for y in poor["unscheduled"][0]["years"]] == [
        "budget",
        "budget",
    ]


def test_no_landable_projects_is_an_empty_schedule_with_reasons(api, host):
    s = projects_session(api, host)
    pid = api.post(f"{URL}/projects", json=body(), headers=s).get_json()["id"]
    api.post(f"{URL}/projects/{pid}/pre-study", headers=s)  # no red line, no parcels
    r = api.post(f"{URL}/schedule", json=request(), headers=s)
    assert r.status_code == 200
    out = r.get_json()
    assert out["schedule"] == []
    assert out["unscheduled"][0]["pre_study_status"] == "not_landable"


def test_a_window_outside_the_horizon_and_a_district_without_quota(api, host):
    s = projects_session(api, host)
    late = landable(api, s, name="late", earliest_year=2029, latest_year=2030)
    away = landable(api, s, name="away", district="500113")
    out = api.post(f"{URL}/schedule", json=request(), headers=s).get_json()
    reasons = {u["project_id"]: u["reason"] for u in out["unscheduled"]}
    assert reasons == {late: "window", away: "no_quota"}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"years": []}, "years"),
        ({"years": [2026, 2026]}, "years"),
        ({"years": ["x"]}, "years[0]"),
        ({"quotas": {"5001": {}}}, "quotas.5001"),
        ({"quotas": {"500107": {"2026": -1, "2027": 5}}}, "quotas.500107.2026"),
        ({"quotas": {"500107": {"2026": 1}}}, "quotas.500107.2027"),
        ({"quotas": {"500107": {"2026": 1, "2027": 1, "2031": 1}}}, "quotas.500107.2031"),
        ({"budget": {"2026": 100}}, "budget.2027"),
        ({"budget": {"2026": -5, "2027": 1}}, "budget.2026"),
        ({"projects": "some"}, "projects"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"colour": 1}, "colour"),
    ],
)
def test_bad_input_names_the_field(api, host, changes, field):
    s = projects_session(api, host)
    r = api.post(f"{URL}/schedule", json=request(**changes), headers=s)
    assert r.status_code == 400, r.get_json()
    assert field in {e["field"] for e in r.get_json()["errors"]}


def test_a_quota_for_an_unknown_district_is_refused(ctx, api, host, tmp_path):
    ring = [[106.3, 29.4], [106.6, 29.4], [106.6, 29.6], [106.3, 29.6], [106.3, 29.4]]
    feature = {
        "type": "Feature",
        "properties": {"adcode": "500107", "name": "九龙坡区"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    import_layer(ctx, path, ImportOptions(layer_id="districts", kind="district", crs="EPSG:4490"))
    s = projects_session(api, host)
    r = api.post(f"{URL}/schedule", json=request(), headers=s)
    assert r.status_code == 400
    assert {e["field"] for e in r.get_json()["errors"]} == {"quotas.500108"}
    assert "unknown district" in r.get_json()["errors"][0]["message"]


def test_unknown_projects_are_not_found(api, host):
    s = projects_session(api, host)
    assert api.post(f"{URL}/schedule", json=request(projects=[777]), headers=s).status_code == 404
