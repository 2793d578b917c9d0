"""The siting REST API on SQLite and PostgreSQL: search, locked parameters, siting plans
(CRUD, isolation between users and apps, re-run stability, changed-data diffs), and every
bad input as a 4xx problem."""

from __future__ import annotations

import copy

import orjson
import pytest
from embed_support import basic, session_headers
from sqlalchemy import select

from planfuse.storage.models import SitingPlan
from tests.siting_world import (
    DISTRICT_A,
    DISTRICT_B,
    EXAMPLE,
    PARCELS,
    _import,
    box,
    build_world,
    names,
)

PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


@pytest.fixture
def world_app(embed_app, ctx, tmp_path):
    build_world(ctx, tmp_path)
    return embed_app


@pytest.fixture
def api(world_app):
    return world_app.test_client()


def session(client, host, *, sub="user-1", widget="siting", params=None) -> dict:
    claims = {"sub": sub} if params is None else {"sub": sub, "params": params}
    return session_headers(client, host, widget, **claims)


def assert_problem(r, status: int):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
    assert r.mimetype == "application/problem+json"
    body = r.get_json()
    assert body.keys() >= PROBLEM_KEYS and body["status"] == status
    assert "Traceback" not in r.get_data(as_text=True)
    return body


def plan_body(name="工业用地选址 A", **changes):
    body = copy.deepcopy(EXAMPLE)
    body.update(changes)
    return {"name": name, **body}


# --- search ------------------------------------------------------------------------------


def test_search_needs_a_siting_session_or_the_apps_credentials(api, host):
    assert_problem(api.post("/api/v1/siting/search", json=EXAMPLE), 401)
    probe = session(api, host, widget="probe")
    assert_problem(api.post("/api/v1/siting/search", json=EXAMPLE, headers=probe), 403)
    assert_problem(
        api.post("/api/v1/siting/search", json=EXAMPLE, headers=basic(host.id, "wrong")), 401
    )


def test_search_by_session_and_by_basic_agree(api, host):
    by_session = api.post("/api/v1/siting/search", json=EXAMPLE, headers=session(api, host))
    by_basic = api.post("/api/v1/siting/search", json=EXAMPLE, headers=basic(host.id, host.secret))
    assert by_session.status_code == by_basic.status_code == 200
    assert by_session.get_json() == by_basic.get_json()
    result = by_session.get_json()
    assert names(result["candidates"]) == ["P2", "P1", "P12", "P7"]
    first = result["candidates"][0]
    assert {
        "feature_id",
        "area_m2",
        "land_use",
        "score",
        "rank",
        "recommended",
        "reasons",
        "geometry",
    } <= first.keys()
    assert first["geometry"]["type"] == "Polygon" and result["crs"] == "EPSG:4490"


def test_options_list_the_form_choices(api, host):
    r = api.get("/api/v1/siting/options", headers=session(api, host))
    assert r.status_code == 200
    options = r.get_json()
    assert options["districts"] == [
        {"adcode": DISTRICT_A, "name": "渝中区"},
        {"adcode": DISTRICT_B, "name": "渝北区"},
    ]
    classes = {c["code"]: c for c in options["land_use_classes"]}
    assert classes["1001"]["name"]["zh-CN"] == "工业用地" and classes["1001"]["parent"] == "10"
    assert options["road_classes"] == ["county", "provincial"]
    assert options["facility_types"] == ["school"]
    assert options["sensitive_zones"]["geohazard"] == ["high", "medium"]
    loaded = {c["kind"]: c["loaded"] for c in options["controls"]}
    assert loaded["urban_boundary"] and not loaded["control_line"]
    assert sum(c["default_weight"] for c in options["criteria"]) == pytest.approx(1.0)


# --- locked parameters -------------------------------------------------------------------


def test_locked_district_and_land_use_may_be_narrowed_but_not_widened(api, host):
    headers = session(api, host, params={"districts": [DISTRICT_A], "land_use": "10"})
    search = lambda body: api.post("/api/v1/siting/search", json=body, headers=headers)  # noqa: E731
    # Nothing sent: the locked values apply.
    filled = search({"weights": {"area_fit": 1.0}})
    assert filled.status_code == 200
    kept = names(filled.get_json()["candidates"])
    assert "P9" not in kept and "P10" not in kept  # residential; other district
    assert all(c["land_use"].startswith("10") for c in filled.get_json()["candidates"])
    # Repeating or narrowing is fine.
    assert search({**EXAMPLE, "land_use": "1001"}).status_code == 200
    assert search({"scope": {"districts": [DISTRICT_A]}, "land_use": "100102"}).status_code == 200
    # Widening is not, and the problem names the parameter.
    for body, field in [
        ({"scope": {"districts": [DISTRICT_B]}}, "districts"),
        ({"scope": {"districts": [DISTRICT_A, DISTRICT_B]}}, "districts"),
        (
            {"scope": {"geometry": {"type": "Polygon", "coordinates": []}, "crs": "EPSG:4490"}},
            "districts",
        ),
        ({"scope": {"districts": [DISTRICT_A]}, "land_use": "07"}, "land_use"),
        ({"scope": {"districts": [DISTRICT_A]}, "land_use": "1"}, "land_use"),
    ]:
        problem = assert_problem(search(body), 403)
        assert problem["errors"][0]["field"] == field


def test_locked_output_crs_must_be_repeated_exactly(api, host):
    headers = session(api, host, params={"output_crs": "EPSG:4524"})
    ok = api.post("/api/v1/siting/search", json=EXAMPLE, headers=headers)
    assert ok.get_json()["crs"] == "EPSG:4524"
    denied = api.post(
        "/api/v1/siting/search", json={**EXAMPLE, "output_crs": "EPSG:4490"}, headers=headers
    )
    assert assert_problem(denied, 403)["errors"][0]["field"] == "output_crs"


# --- plans -------------------------------------------------------------------------------


def test_plan_crud_for_one_user(api, host):
    me = session(api, host)
    saved = api.post("/api/v1/siting/plans", json=plan_body(), headers=me)
    assert saved.status_code == 201
    plan = saved.get_json()
    assert plan["name"] == "工业用地选址 A" and plan["total"] == 4 and plan["runs"] == 1
    assert names(plan["result"]["candidates"]) == ["P2", "P1", "P12", "P7"]
    assert plan["conditions"]["land_use"] == "10"
    assert plan["scope"] == {"districts": [DISTRICT_A]}
    assert plan["diff"] is None
    listed = api.get("/api/v1/siting/plans", headers=me).get_json()["plans"]
    assert [p["id"] for p in listed] == [plan["id"]] and "result" not in listed[0]
    opened = api.get(f"/api/v1/siting/plans/{plan['id']}", headers=me).get_json()
    assert opened["result"] == plan["result"]
    assert api.delete(f"/api/v1/siting/plans/{plan['id']}", headers=me).status_code == 204
    assert_problem(api.get(f"/api/v1/siting/plans/{plan['id']}", headers=me), 404)
    assert api.get("/api/v1/siting/plans", headers=me).get_json()["plans"] == []


def test_plans_are_invisible_to_other_users_and_apps(api, ctx, host, other_host):
    mine = session(api, host, sub="user-1")
    plan = api.post("/api/v1/siting/plans", json=plan_body(), headers=mine).get_json()
    path = f"/api/v1/siting/plans/{plan['id']}"
    others = {
        "another user of the same app": session(api, host, sub="user-2"),
        "the same user id in another app": session(api, other_host, sub="user-1"),
        "the app's backend": basic(host.id, host.secret),
        "another app's backend": basic(other_host.id, other_host.secret),
    }
    for who, headers in others.items():
        assert api.get("/api/v1/siting/plans", headers=headers).get_json()["plans"] == [], who
        assert_problem(api.get(path, headers=headers), 404)
        assert_problem(api.post(path + "/run", headers=headers), 404)
        assert_problem(api.delete(path, headers=headers), 404)
    # Nothing changed: still there, never re-run.
    still = api.get(path, headers=mine).get_json()
    assert still["runs"] == 1 and still["result"] == plan["result"]
    with ctx.db.session() as s:
        assert s.scalar(select(SitingPlan.runs).where(SitingPlan.id == plan["id"])) == 1
    # The app's backend keeps its own plans, apart from its users'.
    backend = basic(host.id, host.secret)
    own = api.post("/api/v1/siting/plans", json=plan_body("后台方案"), headers=backend)
    assert own.status_code == 201
    assert [
        p["name"] for p in api.get("/api/v1/siting/plans", headers=backend).get_json()["plans"]
    ] == ["后台方案"]
    assert [
        p["name"] for p in api.get("/api/v1/siting/plans", headers=mine).get_json()["plans"]
    ] == ["工业用地选址 A"]


def test_plan_names_are_capped_and_markup_is_kept_as_text(api, host):
    me = session(api, host)
    long = assert_problem(
        api.post("/api/v1/siting/plans", json=plan_body("名" * 10_000), headers=me), 400
    )
    assert long["errors"][0]["field"] == "name" and "10,000" in long["detail"]
    for empty in ("", "   ", None, 5):
        assert_problem(api.post("/api/v1/siting/plans", json=plan_body(empty), headers=me), 400)
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    saved = api.post("/api/v1/siting/plans", json=plan_body(markup), headers=me)
    assert saved.status_code == 201 and saved.get_json()["name"] == markup
    listed = api.get("/api/v1/siting/plans", headers=me)
    assert listed.mimetype == "application/json"
    assert listed.get_json()["plans"][0]["name"] == markup
    exact = "名" * 200
    assert api.post("/api/v1/siting/plans", json=plan_body(exact), headers=me).status_code == 201


def test_rerun_on_unchanged_data_is_byte_identical(api, ctx, host):
    me = session(api, host)
    plan = api.post("/api/v1/siting/plans", json=plan_body(), headers=me).get_json()
    with ctx.db.session() as s:
        stored = s.scalar(select(SitingPlan.result).where(SitingPlan.id == plan["id"]))
    direct = api.post("/api/v1/siting/search", json=EXAMPLE, headers=me)
    assert orjson.dumps(direct.get_json()) == orjson.dumps(orjson.loads(stored))
    for run in (2, 3):
        again = api.post(f"/api/v1/siting/plans/{plan['id']}/run", headers=me)
        assert again.status_code == 200
        body = again.get_json()
        assert body["runs"] == run
        with ctx.db.session() as s:
            assert s.scalar(select(SitingPlan.result).where(SitingPlan.id == plan["id"])) == stored
        diff = body["diff"]
        assert diff["changed"] is False
        assert diff["added"] == diff["removed"] == diff["rank_changes"] == diff["modified"] == []
        assert diff["data_versions"]["changed"] == []


def test_rerun_on_changed_data_shows_what_changed(api, ctx, host, tmp_path):
    me = session(api, host)
    plan = api.post("/api/v1/siting/plans", json=plan_body(), headers=me).get_json()
    before = {c["feature_id"]: c for c in plan["result"]["candidates"]}
    p1 = next(c for c in plan["result"]["candidates"] if names([c]) == ["P1"])
    # The red line grows over P1 (a new version of the layer).
    _import(
        ctx,
        tmp_path,
        "ecological_redline",
        "ecological_redline",
        [box(6000, 0, 10_000, 10_000), box(900, 900, 1200, 1200)],
        [{"name": "缙云山"}, {"name": "新增生态红线"}],
        "-v2",
    )
    rerun = api.post(f"/api/v1/siting/plans/{plan['id']}/run", headers=me).get_json()
    diff = rerun["diff"]
    assert diff["changed"] is True
    assert [r["parcel_key"] for r in diff["removed"]] == [p1["parcel_key"]]
    assert diff["added"] == []
    assert diff["total"] == {"before": 4, "after": 3}
    assert diff["data_versions"]["changed"] == [
        {"layer": "ecological_redline", "before": 1, "after": 2}
    ]
    assert diff["data_versions"]["before"]["ecological_redline"] == 1
    moved = {(c["rank_before"], c["rank_after"]) for c in diff["rank_changes"]}
    assert moved == {(3, 2), (4, 3)}  # P12 and P7 move up
    assert diff["recommended"]["before"]["feature_id"] == diff["recommended"]["after"]["feature_id"]
    assert names(rerun["result"]["candidates"]) == ["P2", "P12", "P7"]
    assert rerun["data_versions"]["ecological_redline"] == 2
    # Reopened later, the plan still shows that diff.
    assert api.get(f"/api/v1/siting/plans/{plan['id']}", headers=me).get_json()["diff"] == diff
    # A renumbered parcel layer (new version, P2 dropped) matches parcels by geometry.
    from tests.siting_world import import_parcels

    import_parcels(ctx, tmp_path, [p for p in PARCELS if p.name != "P2"], tag="-v2")
    third = api.post(f"/api/v1/siting/plans/{plan['id']}/run", headers=me).get_json()["diff"]
    assert [r["feature_id"] for r in third["removed"]] == [2]
    assert third["added"] == []
    renumbered = {m["parcel_key"]: m["fields"] for m in third["modified"]}
    assert all(set(f) == {"feature_id"} for f in renumbered.values()) and renumbered
    assert {(c["rank_before"], c["rank_after"]) for c in third["rank_changes"]} == {(2, 1), (3, 2)}
    assert before  # silence unused


def test_rerun_applies_todays_locks(api, host):
    free = session(api, host)
    plan = api.post("/api/v1/siting/plans", json=plan_body(), headers=free).get_json()
    locked = session(api, host, params={"land_use": "07"})
    assert_problem(api.post(f"/api/v1/siting/plans/{plan['id']}/run", headers=locked), 403)
    assert api.get(f"/api/v1/siting/plans/{plan['id']}", headers=locked).get_json()["runs"] == 1


# --- bad input ---------------------------------------------------------------------------


BAD_SEARCHES = [
    ("min above max", {"area_min_m2": 70000, "area_max_m2": 60000}, 400),
    ("negative area", {"area_min_m2": -5}, 400),
    ("absurd area", {"area_max_m2": 1e18}, 400),
    ("text area", {"area_max_m2": "60000"}, 400),
    ("boolean area", {"area_max_m2": True}, 400),
    ("unknown district", {"scope": {"districts": ["500199"]}}, 400),
    ("malformed district", {"scope": {"districts": ["渝北"]}}, 400),
    ("no scope", {"scope": None}, 400),
    ("both scopes", {"scope": {"districts": [DISTRICT_A], "geometry": {"type": "Point"}}}, 400),
    ("unknown land use", {"land_use": "9901"}, 400),
    ("malformed land use", {"land_use": "10a"}, 400),
    ("unknown control kind", {"controls": [{"kind": "farmland", "mode": "outside"}]}, 400),
    ("control mode", {"controls": [{"kind": "basic_farmland", "mode": "near"}]}, 400),
    (
        "control on a missing layer",
        {"controls": [{"kind": "control_line", "mode": "outside"}]},
        409,
    ),
    (
        "unknown road class",
        {"proximity": [{"kind": "road", "class": "motorway", "within_m": 100}]},
        400,
    ),
    ("within_m zero", {"proximity": [{"kind": "road", "within_m": 0}]}, 400),
    ("unknown sensitive type", {"exclude": [{"type": "volcano"}]}, 400),
    ("weights not summing to 1", {"weights": {"area_fit": 0.6, "road_distance": 0.6}}, 400),
    ("negative weight", {"weights": {"area_fit": 1.5, "road_distance": -0.5}}, 400),
    ("unknown criterion", {"weights": {"price": 1}}, 400),
    ("weights of 1e308", {"weights": {"area_fit": 1e308, "road_distance": 1e308}}, 400),
    ("a weight over 1", {"weights": {"area_fit": 2, "road_distance": -1}}, 400),
    ("limit too big", {"limit": 10_000}, 400),
    ("unknown field", {"colour": "red"}, 400),
    ("unknown output crs", {"output_crs": "EPSG:1"}, 400),
    (
        "polygon in the wrong CRS",
        {
            "scope": {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]],
                },
                "crs": "EPSG:4523",
            }
        },
        400,
    ),
    (
        "self-intersecting polygon",
        {
            "scope": {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[106.5, 29.5], [106.6, 29.6], [106.6, 29.5], [106.5, 29.6], [106.5, 29.5]]
                    ],
                },
                "crs": "EPSG:4490",
            }
        },
        400,
    ),
    ("point scope", {"scope": {"geometry": {"type": "Point", "coordinates": [106.5, 29.5]}}}, 400),
    (
        "unknown scope crs",
        {
            "scope": {
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
                "crs": "EPSG:9",
            }
        },
        400,
    ),
]


@pytest.mark.parametrize(
    ("what", "changes", "status"), BAD_SEARCHES, ids=[b[0] for b in BAD_SEARCHES]
)
def test_bad_search_input_is_a_problem(api, host, what, changes, status):
    body = {**copy.deepcopy(EXAMPLE), **changes}
    body = {k: v for k, v in body.items() if v is not None}
    problem = assert_problem(
        api.post("/api/v1/siting/search", json=body, headers=basic(host.id, host.secret)), status
    )
    assert problem["detail"]
    # The same request saved as a plan is refused the same way and nothing is stored.
    saved = api.post(
        "/api/v1/siting/plans", json={"name": what, **body}, headers=basic(host.id, host.secret)
    )
    assert_problem(saved, status)
    assert (
        api.get("/api/v1/siting/plans", headers=basic(host.id, host.secret)).get_json()["plans"]
        == []
    )


def test_bodies_that_are_not_json_objects(api, host):
    headers = basic(host.id, host.secret)
    for data in (b"", b"not json", b"[1, 2]", b'"text"'):
        r = api.post(
            "/api/v1/siting/search",
            data=data,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert_problem(r, 400)
    assert_problem(api.get("/api/v1/siting/plans/999999", headers=headers), 404)
    assert_problem(api.delete("/api/v1/siting/plans/abc", headers=headers), 404)
    assert_problem(api.post("/api/v1/siting/plans/999999/run", headers=headers), 404)
