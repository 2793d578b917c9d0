"""The project reserve's REST API on SQLite and PostgreSQL: the create contract, per-app
and per-user isolation, red lines in several CRSs, dependencies (unknown ids, cycles),
locked department and district, and every bad input as a problem naming the field."""

from __future__ import annotations

import json

import pytest
from embed_support import basic
from reserve_support import (
    RED_LINE_4490,
    body,
    ensure_projects_widget,
    projects_session,
    red_line_in,
)

from planfuse.geo.offsets import wgs84_to_gcj02
from planfuse.services.layers.importer import ImportOptions, import_layer

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}
URL = "/api/v1/reserve/projects"


@pytest.fixture
def api(embed_app, tmp_path):
    ensure_projects_widget(embed_app, tmp_path)
    return embed_app.test_client()


def problem(r, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json"
    out = r.get_json()
    assert out.keys() >= PROBLEM_KEYS
    return out


def fields(p: dict) -> set[str]:
    return {e.get("field") for e in p["errors"]}


def create(api, headers, **changes) -> dict:
    r = api.post(URL, json=body(**changes), headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


# --- the contract and isolation ----------------------------------------------------------


def test_create_answers_201_with_the_id_and_the_project(api, host):
    s = projects_session(api, host)
    r = api.post(URL, json=body(), headers=s)
    assert r.status_code == 201
    out = r.get_json()
    assert isinstance(out["id"], int)
    assert r.headers["Location"] == f"{URL}/{out['id']}"
    assert out["user"] == "user-1"
    assert out["funds"] == {"2026": 500.0, "2027": 1500.0} and out["funds_total"] == 2000.0
    assert out["has_red_line"] is False and out["geometry"] is None
    assert out["pre_study_status"] is None
    got = api.get(f"{URL}/{out['id']}", headers=s).get_json()
    assert got["name"] == "第二实验小学新建工程" and got["depends_on"] == []


def test_session_users_see_only_their_own_projects_and_apps_only_theirs(api, host, other_host):
    mine = projects_session(api, host, sub="alice")
    theirs = projects_session(api, host, sub="bob")
    other_app = projects_session(api, other_host, sub="alice")
    a = create(api, mine, name="甲")
    b = create(api, theirs, name="乙")
    assert [p["id"] for p in api.get(URL, headers=mine).get_json()["projects"]] == [a["id"]]
    for headers in (theirs, other_app):
        problem(api.get(f"{URL}/{a['id']}", headers=headers), 404)
        problem(api.patch(f"{URL}/{a['id']}", json={"priority": 1}, headers=headers), 404)
        problem(api.delete(f"{URL}/{a['id']}", headers=headers), 404)
    assert api.get(URL, headers=other_app).get_json() == {"total": 0, "projects": []}
    # The host's backend sees every project of its app, and names the user it acts for.
    listed = api.get(URL, headers=basic(host)).get_json()
    assert [p["id"] for p in listed["projects"]] == [a["id"], b["id"]]
    # Another user cannot depend on a project they cannot see.
    p = problem(api.post(URL, json=body(depends_on=[a["id"]]), headers=theirs), 400)
    assert fields(p) == {"depends_on"}


def test_a_host_backend_names_the_proposing_user(api, host):
    p = problem(api.post(URL, json=body(), headers=basic(host)), 400)
    assert fields(p) == {"user"}
    r = api.post(URL, json={**body(), "user": "u-42"}, headers=basic(host))
    assert r.status_code == 201 and r.get_json()["user"] == "u-42"
    s = projects_session(api, host)
    assert fields(problem(api.post(URL, json={**body(), "user": "x"}, headers=s), 400)) == {"user"}


def test_calls_need_a_projects_session_or_the_apps_credentials(api, host):
    problem(api.get(URL), 401)
    problem(api.get(URL, headers=basic(host.id, "wrong")), 401)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"name": ""}, "name"),
        ({"type": "factory"}, "type"),
        ({"dept": "教育局"}, "dept"),
        ({"dept": "education"}, "dept"),
        ({"district": "5001"}, "district"),
        ({"land_use": "9999"}, "land_use"),
        ({"area_m2": -5}, "area_m2"),
        ({"area_m2": "big"}, "area_m2"),
        ({"funds": {"2026": -1}}, "funds.2026"),
        ({"funds": {"year": 10}}, "funds.year"),
        ({"funds": [500]}, "funds"),
        ({"priority": 6}, "priority"),
        ({"priority": True}, "priority"),
        ({"depends_on": ["a"]}, "depends_on[0]"),
        ({"earliest_year": 2029, "latest_year": 2027}, "earliest_year"),
        ({"latest_year": 1900}, "latest_year"),
        ({"colour": "red"}, "colour"),
        ({"geometry": {"type": "Point", "coordinates": [106.45, 29.5]}}, "geometry"),
        ({"geometry": RED_LINE_4490, "crs": "EPSG:99999"}, "crs"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(api, host, changes, field):
    s = projects_session(api, host)
    p = problem(api.post(URL, json=body(**changes), headers=s), 400)
    assert field in fields(p) or field in p["detail"], p
    assert api.get(URL, headers=s).get_json()["total"] == 0


def test_every_bad_field_is_named_at_once(api, host):
    s = projects_session(api, host)
    p = problem(api.post(URL, json={"name": "x", "priority": 0, "area_m2": 0}, headers=s), 400)
    assert fields(p) >= {"type", "dept", "district", "land_use", "area_m2", "priority"}


def test_a_body_that_is_not_an_object_is_a_problem(api, host):
    s = projects_session(api, host)
    problem(api.post(URL, data="[1]", headers=s, content_type="application/json"), 400)


# --- red lines ------------------------------------------------------------------------------


def test_red_lines_in_any_supported_crs_measure_the_same(api, host):
    s = projects_session(api, host)
    lon, lat = wgs84_to_gcj02(
        [c[0] for c in RED_LINE_4490["coordinates"][0]],
        [c[1] for c in RED_LINE_4490["coordinates"][0]],
    )
    gcj = {"type": "Polygon", "coordinates": [[[x, y] for x, y in zip(lon, lat, strict=True)]]}
    areas = {}
    for crs, geometry in (
        ("EPSG:4490", RED_LINE_4490),
        ("EPSG:4523", red_line_in("EPSG:4523")),  # zone 35, easting with its prefix
        ("EPSG:4545", red_line_in("EPSG:4545")),  # 108°E, no prefix
        ("EPSG:3857", red_line_in("EPSG:3857")),
        ("GCJ-02", gcj),
    ):
        out = create(api, s, geometry=geometry, crs=crs)
        assert out["has_red_line"] and out["crs"] == crs
        assert out["geometry"]["type"] == "Polygon"
        areas[crs] = out["red_line_area_m2"]
    reference = areas["EPSG:4490"]
    # 0.002° × 0.0015° at 29.5°N: about 193.9 m × 166.3 m.
    assert 32_000 < reference < 32_500
    for crs, area in areas.items():
        assert area == pytest.approx(reference, rel=2e-4), crs


def test_a_red_line_in_the_wrong_zone_is_refused(api, host):
    s = projects_session(api, host)
    wrong = red_line_in("EPSG:4523")  # zone-35 eastings declared as zone 36
    p = problem(api.post(URL, json=body(geometry=wrong, crs="EPSG:4524"), headers=s), 400)
    assert p["errors"]


def test_patch_keeps_the_red_line_and_null_removes_it(api, host):
    s = projects_session(api, host)
    out = create(api, s, geometry=RED_LINE_4490)
    patched = api.patch(f"{URL}/{out['id']}", json={"priority": 2}, headers=s).get_json()
    assert patched["priority"] == 2 and patched["has_red_line"]
    assert patched["red_line_area_m2"] == out["red_line_area_m2"]
    removed = api.patch(f"{URL}/{out['id']}", json={"geometry": None}, headers=s).get_json()
    assert removed["has_red_line"] is False and removed["red_line_area_m2"] is None
    replaced = api.put(f"{URL}/{out['id']}", json=body(name="新"), headers=s)
    assert replaced.status_code == 200 and replaced.get_json()["name"] == "新"


# --- dependencies ---------------------------------------------------------------------------


def test_dependencies_unknown_self_and_cycles_are_refused_naming_them(api, host):
    s = projects_session(api, host)
    a = create(api, s, name="A")
    b = create(api, s, name="B", depends_on=[a["id"]])
    c = create(api, s, name="C", depends_on=[b["id"]])
    p = problem(api.post(URL, json=body(depends_on=[9999]), headers=s), 400)
    assert fields(p) == {"depends_on"} and "9999" in p["errors"][0]["message"]
    p = problem(api.patch(f"{URL}/{a['id']}", json={"depends_on": [a["id"]]}, headers=s), 400)
    assert "itself" in p["detail"]
    p = problem(api.patch(f"{URL}/{a['id']}", json={"depends_on": [c["id"]]}, headers=s), 400)
    assert p["type"].endswith("dependency_cycle")
    assert p["errors"][0]["cycle"] == [a["id"], c["id"], b["id"], a["id"]]
    # Nothing changed, and a project others depend on cannot be deleted.
    assert api.get(f"{URL}/{a['id']}", headers=s).get_json()["depends_on"] == []
    p = problem(api.delete(f"{URL}/{a['id']}", headers=s), 409)
    assert p["errors"][0]["dependents"] == [b["id"]]
    assert api.delete(f"{URL}/{c['id']}", headers=s).status_code == 204
    problem(api.get(f"{URL}/{c['id']}", headers=s), 404)


# --- locked department and district --------------------------------------------------------


def test_locked_department_and_district_narrow_and_refuse(api, host):
    free = projects_session(api, host, sub="u")
    create(api, free, dept="housing_construction", district="500107")
    create(api, free, dept="water_resources", district="500107")
    locked = projects_session(api, host, sub="u", params={"dept": "housing_construction"})
    listed = api.get(URL, headers=locked).get_json()
    assert [p["dept"] for p in listed["projects"]] == ["housing_construction"]
    p = problem(api.post(URL, json=body(dept="water_resources"), headers=locked), 403)
    assert fields(p) == {"dept"}
    health_id = api.get(URL + "?dept=water_resources", headers=free).get_json()["projects"][0]["id"]
    problem(api.get(f"{URL}/{health_id}", headers=locked), 404)
    by_district = projects_session(api, host, sub="u", params={"district": "500107"})
    first = listed["projects"][0]["id"]
    p = problem(api.patch(f"{URL}/{first}", json={"district": "500108"}, headers=by_district), 403)
    assert fields(p) == {"district"}


def test_list_filters_by_department_district_and_status(api, host):
    s = projects_session(api, host)
    create(api, s, dept="housing_construction", district="500107")
    create(api, s, dept="transport", district="500108")
    assert api.get(URL + "?dept=transport", headers=s).get_json()["total"] == 1
    assert api.get(URL + "?district=500107,500108", headers=s).get_json()["total"] == 2
    assert api.get(URL + "?status=not_studied", headers=s).get_json()["total"] == 2
    assert api.get(URL + "?status=landable", headers=s).get_json()["total"] == 0
    assert fields(problem(api.get(URL + "?status=ok", headers=s), 400)) == {"status"}
    assert fields(problem(api.get(URL + "?limit=0", headers=s), 400)) == {"limit"}


def test_a_district_must_be_one_of_the_district_layer_when_it_is_loaded(ctx, api, host, tmp_path):
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
    create(api, s, district="500107")
    p = problem(api.post(URL, json=body(district="500199"), headers=s), 400)
    assert fields(p) == {"district"}
