"""Compliance review over HTTP, on SQLite and PostgreSQL: check and report, sessions and
Basic credentials, locked projects, isolation between apps, JWS verification against the
JWKS alone, exports, red-line uploads, rulesets (admin), and bad input → 4xx and nothing
stored."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile

import pytest
import shapely
from compliance_world import build_world, project, storage_box
from embed_support import basic, session_headers
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from layer_files import write_zipped_shapefile
from sqlalchemy import func, select

from planfuse.storage.models import ComplianceProject, ComplianceReport

CHECK = "/api/v1/compliance/check"
BODY = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}


def session(client, host, **claims) -> dict:
    return session_headers(client, host, "compliance", **claims)


def count(pf, model=ComplianceReport) -> int:
    with pf.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(pf):
    return build_world(pf)


@pytest.fixture
def client(embed_client):
    return embed_client


def test_check_with_a_session_returns_the_signed_report(client, pf, host, world):
    headers = session(client, host)
    r = client.post(CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=headers)
    assert r.status_code == 201, r.get_json()
    report = r.get_json()
    assert r.headers["Location"] == f"/api/v1/compliance/reports/{report['id']}"
    assert report["verdict"] == "fail"
    farmland = next(i for i in report["items"] if i["rule"] == "basic_farmland")
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
    assert report["checked_by"]["app"] == host.id
    assert report["checked_by"]["user"] == "user-1"
    assert report["checked_by"]["name"] == "张三"
    again = client.get(r.headers["Location"], headers=headers)
    assert again.status_code == 200
    assert again.get_json() == report


def test_the_signature_verifies_with_the_jwks_alone(client, pf, host, world):
    r = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    )
    report = r.get_json()
    token = report["signature"]["jws"]
    keys = client.get("/api/v1/compliance/jwks.json")
    assert keys.status_code == 200
    assert keys.headers["Access-Control-Allow-Origin"] == "*"
    key_set = KeySet.import_key_set(keys.get_json())
    assert all("d" not in k for k in keys.get_json()["keys"])
    # Any JOSE library: a compact JWS verified with the JWKS, then its JSON claims.
    verified = jws.deserialize_compact(token, key_set, algorithms=["ES256"])
    claims = json.loads(verified.payload)
    assert verified.protected["kid"] == report["signature"]["kid"]
    assert verified.protected["typ"] == "planfuse-compliance+jwt"
    assert claims["jti"] == report["id"] and claims["aud"] == host.id
    signed = claims["report"]
    assert signed["verdict"] == report["verdict"]
    assert signed["items"][0] == {
        "rule": "basic_farmland",
        "status": "fail",
        "overlap_area_m2": report["items"][0]["overlap_area_m2"],
        "overlap_ratio": report["items"][0]["overlap_ratio"],
        "feature_count": 1,
    }
    assert signed["data_versions"] == report["data_versions"]
    # As a JWT too.
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])
    assert decoded.claims["report"]["id"] == report["id"]
    # A tampered payload does not verify.
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["report"]["verdict"] = "pass"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(Exception):  # noqa: B017 - any JOSE error
        jws.deserialize_compact(f"{header}.{forged_payload}.{signature}", key_set)


def test_the_signing_key_is_made_once_and_kept(client, pf, host, world):
    first = client.get("/api/v1/compliance/jwks.json").get_json()
    pf.extras.pop("server_signing_key", None)  # as a new process would start
    second = client.get("/api/v1/compliance/jwks.json").get_json()
    assert first == second and len(first["keys"]) == 1


def signed_report(client, host) -> dict:
    r = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()


def verifies(client, report: dict) -> bool:
    key_set = KeySet.import_key_set(client.get("/api/v1/compliance/jwks.json").get_json())
    try:
        jws.deserialize_compact(report["signature"]["jws"], key_set, algorithms=["ES256"])
    except (JoseError, ValueError):
        return False
    return True


def test_rotation_signs_with_a_new_key_and_old_reports_still_verify(client, pf, host, world):
    from planfuse.signing.server_keys import rotate_signing_key, signing_keys

    before = signed_report(client, host)
    new_kid = rotate_signing_key(pf)
    after = signed_report(client, host)
    assert before["signature"]["kid"] != new_kid == after["signature"]["kid"]
    published = [k["kid"] for k in client.get("/api/v1/compliance/jwks.json").get_json()["keys"]]
    assert published == [new_kid, before["signature"]["kid"]]  # newest first
    assert verifies(client, before) and verifies(client, after)
    listed = signing_keys(pf)
    assert [(k["kid"], k["current"], k["can_sign"]) for k in listed] == [
        (new_kid, True, True),
        (before["signature"]["kid"], False, True),
    ]


def test_a_rotation_by_another_process_is_picked_up_without_a_restart(client, pf, host, world):
    from planfuse.context import build_context
    from planfuse.signing import server_keys

    first = signed_report(client, host)["signature"]["kid"]
    other = build_context(pf.settings)  # e.g. `planfuse keys rotate` run beside the server
    try:
        new_kid = server_keys.rotate_signing_key(other)
    finally:
        other.close()
    # Until the recheck interval has passed this process keeps its key…
    assert signed_report(client, host)["signature"]["kid"] == first
    key, loaded_at = pf.extras["server_signing_key"]
    pf.extras["server_signing_key"] = (key, loaded_at - server_keys.RECHECK_S - 1)
    # …then signs with the newest one.
    assert signed_report(client, host)["signature"]["kid"] == new_kid


def test_a_retired_key_leaves_the_jwks_and_the_current_key_cannot_be_retired(
    client, pf, host, world
):
    from planfuse.errors import DomainError
    from planfuse.http.problems import problem_from_exception
    from planfuse.signing.server_keys import retire_signing_key, rotate_signing_key

    old = signed_report(client, host)
    old_kid = old["signature"]["kid"]
    with pytest.raises(DomainError) as refused:
        retire_signing_key(pf, old_kid)
    assert (
        problem_from_exception(refused.value).status == 409
        and "rotate" in problem_from_exception(refused.value).detail
    )
    new_kid = rotate_signing_key(pf)
    retire_signing_key(pf, old_kid)
    published = [k["kid"] for k in client.get("/api/v1/compliance/jwks.json").get_json()["keys"]]
    assert published == [new_kid]
    assert not verifies(client, old)
    assert verifies(client, signed_report(client, host))
    with pytest.raises(DomainError) as unknown:
        retire_signing_key(pf, "no-such-kid")
    assert problem_from_exception(unknown.value).status == 404


def test_reports_are_isolated_between_apps(client, pf, host, other_host, world):
    r = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    )
    report_id = r.get_json()["id"]
    for headers in (basic(other_host), session(client, other_host)):
        for suffix in ("", "/items.csv", "/items.xlsx"):
            got = client.get(f"/api/v1/compliance/reports/{report_id}{suffix}", headers=headers)
            assert got.status_code == 404, suffix
            assert got.get_json()["type"].endswith("not_found")
    listed = client.get("/api/v1/compliance/reports", headers=basic(other_host)).get_json()
    assert listed["reports"] == []
    mine = client.get("/api/v1/compliance/reports", headers=basic(host)).get_json()
    assert [x["id"] for x in mine["reports"]] == [report_id]
    assert client.get(f"/api/v1/compliance/reports/{report_id}").status_code == 401


def test_a_session_of_another_widget_cannot_check(client, host, world):
    token = host.token("probe")
    r = client.post("/embed/session", json={"token": token})
    headers = {"Authorization": "Bearer " + r.get_json()["session_token"]}
    r = client.post(CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=headers)
    assert r.status_code == 403


def test_exports(client, host, world):
    r = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    )
    report = r.get_json()
    got = client.get(f"/api/v1/compliance/reports/{report['id']}/items.csv", headers=basic(host))
    assert got.status_code == 200
    assert got.mimetype == "text/csv"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{report["id"]}.csv"'
    text = got.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["序号", "审查项", "规则"]
    assert len(rows) == 1 + len(report["items"])
    farmland = rows[1]
    assert farmland[1] == "永久基本农田" and farmland[4] == "fail"
    assert float(farmland[5]) == pytest.approx(10_000, rel=1e-4)
    assert float(farmland[6]) == pytest.approx(15.0, rel=1e-4)  # 10,000 m² = 15 亩
    english = client.get(
        f"/api/v1/compliance/reports/{report['id']}/items.csv?locale=en", headers=basic(host)
    )
    assert english.get_data().decode("utf-8").lstrip("\ufeff").startswith("No.,Item,Rule")

    xlsx = client.get(f"/api/v1/compliance/reports/{report['id']}/items.xlsx", headers=basic(host))
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    values = [
        row[: max((i + 1 for i, v in enumerate(row) if v is not None), default=0)] for row in values
    ]
    assert values[0] == ["审查报告编号", report["id"]]
    header = values.index(
        [
            "序号",
            "审查项",
            "规则",
            "结论",
            "状态码",
            "面积（m²）",
            "面积（亩）",
            "占项目面积比例",
            "涉及图斑数",
            "说明",
        ]
    )
    assert values[header + 1][2] == "basic_farmland"
    assert values[header + 1][5] == pytest.approx(10_000, rel=1e-4)


# --- projects and locked params ----------------------------------------------------------


def register(client, host, **overrides) -> dict:
    body = {
        "name": "两江新区某住宅项目",
        "geometry": project(-100, 50, 100, 150, crs="EPSG:4523"),
        "crs": "EPSG:4523",
        "land_use": "0701",
        "project_type": "urban",
        "external_id": "SP-2026-0042",
        **overrides,
    }
    return client.post("/api/v1/projects", json=body, headers=basic(host))


def test_register_a_project_and_check_it_from_a_locked_widget(client, pf, host, world):
    r = register(client, host)
    assert r.status_code == 201, r.get_json()
    prj = r.get_json()
    assert prj["id"].startswith("prj_") and prj["crs"] == "EPSG:4523"
    assert prj["area_m2"] == pytest.approx(20_000, rel=1e-4)
    headers = session(client, host, params={"project": prj["id"]})
    # The widget may read its locked project …
    got = client.get(f"/api/v1/projects/{prj['id']}", headers=headers)
    assert got.status_code == 200 and got.get_json()["name"] == "两江新区某住宅项目"
    # … and check it without sending anything but the request itself.
    r = client.post(CHECK, json={}, headers=headers)
    assert r.status_code == 201, r.get_json()
    report = r.get_json()
    assert report["project"] == {"id": prj["id"], "name": "两江新区某住宅项目"}
    assert report["input"]["crs"] == "EPSG:4523"
    assert report["verdict"] == "fail"
    # The user cannot replace the red line …
    other = client.post(CHECK, json={"geometry": project(-600, -600, -400, -400)}, headers=headers)
    assert other.status_code == 403
    assert "locked" in other.get_json()["detail"]
    # … nor point at another project.
    second = register(client, host, name="另一个项目").get_json()
    swap = client.post(CHECK, json={"project": second["id"]}, headers=headers)
    assert swap.status_code == 403
    # … nor read another project.
    assert client.get(f"/api/v1/projects/{second['id']}", headers=headers).status_code == 403
    # The host's listing shows both, newest first.
    listed = client.get("/api/v1/projects", headers=basic(host)).get_json()["projects"]
    assert [p["id"] for p in listed] == [second["id"], prj["id"]]
    by_ref = client.get("/api/v1/projects?external_id=SP-2026-0042", headers=basic(host))
    assert len(by_ref.get_json()["projects"]) == 2


def test_a_widget_without_a_project_lock_cannot_check_a_registered_project(client, pf, host, world):
    prj = register(client, host).get_json()
    headers = session(client, host)
    assert client.get(f"/api/v1/projects/{prj['id']}", headers=headers).status_code == 403
    r = client.post(CHECK, json={"project": prj["id"]}, headers=headers)
    assert r.status_code == 403, r.get_json()
    assert r.get_json()["errors"][0]["field"] == "project"
    assert "coordinates" not in r.get_data(as_text=True)
    assert count(pf) == 0
    # The host's backend checks any project of its app.
    assert client.post(CHECK, json={"project": prj["id"]}, headers=basic(host)).status_code == 201


def test_a_widget_user_reads_only_their_own_reports(client, pf, host, world):
    u1 = session(client, host, sub="u1")
    u2 = session(client, host, sub="u2")
    r = client.post(CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=u1)
    assert r.status_code == 201, r.get_json()
    report_id = r.get_json()["id"]
    for suffix in ("", "/items.csv", "/items.xlsx"):
        url = f"/api/v1/compliance/reports/{report_id}{suffix}"
        assert client.get(url, headers=u1).status_code == 200
        # Another user of the same app gets what an unknown id gets.
        theirs = client.get(url, headers=u2)
        assert theirs.status_code == 404, theirs.get_json()
        unknown = client.get(url.replace(report_id, "rpt_none"), headers=u2)
        assert theirs.get_json()["type"] == unknown.get_json()["type"]
        # The host's backend reads every report of its app.
        assert client.get(url, headers=basic(host)).status_code == 200
    listed = client.get("/api/v1/compliance/reports", headers=u2).get_json()["reports"]
    assert listed == []


def test_projects_belong_to_their_app(client, pf, host, other_host, world):
    prj = register(client, host).get_json()
    assert client.get(f"/api/v1/projects/{prj['id']}", headers=basic(other_host)).status_code == 404
    r = client.post(CHECK, json={"project": prj["id"]}, headers=basic(other_host))
    assert r.status_code == 404
    assert count(pf) == 0


def test_projects_are_registered_by_the_backend_only(client, pf, host, world):
    headers = session(client, host)
    r = client.post("/api/v1/projects", json={"name": "x"}, headers=headers)
    assert r.status_code == 403
    assert client.post("/api/v1/projects", json={"name": "x"}).status_code == 401


def test_a_bad_project_stores_nothing(client, pf, host, world):
    r = register(client, host, land_use="0799")
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("unknown_land_use")
    r = register(client, host, geometry=project(-100, 50, 100, 150, crs="EPSG:4544"))
    assert r.status_code == 400, r.get_json()
    assert count(pf, ComplianceProject) == 0


def test_locked_land_use_cannot_be_contradicted(client, host, world):
    headers = session(client, host, params={"land_use": "0901"})
    body = {**BODY, "geometry": project(-100, 50, 100, 150)}
    assert client.post(CHECK, json=body, headers=headers).status_code == 403
    ok = client.post(CHECK, json={**body, "land_use": "0901"}, headers=headers)
    assert ok.status_code == 201
    del body["land_use"]
    filled = client.post(CHECK, json=body, headers=headers)
    assert filled.get_json()["land_use"]["code"] == "0901"


# --- uploads ---------------------------------------------------------------------------


def test_parse_a_zipped_shapefile(client, host, world, tmp_path):
    geom = storage_box(-100, 50, 100, 150)
    path = write_zipped_shapefile(
        tmp_path / "redline.zip", [geom], [{"XMMC": "测试项目"}], crs="EPSG:4523"
    )
    r = client.post(
        "/api/v1/compliance/parse",
        data={"file": (io.BytesIO(path.read_bytes()), "redline.zip")},
        headers=session(client, host),
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    parsed = r.get_json()
    assert parsed["crs"] == "EPSG:4523"
    assert parsed["area_m2"] == pytest.approx(20_000, rel=1e-4)
    assert parsed["geometry"]["coordinates"][0][0][0] > 35_000_000  # zone-prefixed easting
    # The parsed red line checks as it is.
    body = {**BODY, "geometry": parsed["geometry"], "crs": parsed["crs"]}
    r = client.post(CHECK, json=body, headers=basic(host))
    assert r.status_code == 201
    assert r.get_json()["project_area_m2"] == pytest.approx(20_000, rel=1e-4)


def test_parse_refuses_a_prj_conflict_and_a_text_without_crs(client, host, world, tmp_path):
    geom = storage_box(-100, 50, 100, 150)
    path = write_zipped_shapefile(tmp_path / "r.zip", [geom], [{"a": "1"}], crs="EPSG:4523")
    headers = session(client, host)
    r = client.post(
        "/api/v1/compliance/parse",
        data={"file": (io.BytesIO(path.read_bytes()), "r.zip"), "crs": "EPSG:4490"},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("crs_conflict")
    r = client.post(
        "/api/v1/compliance/parse",
        data={"file": (io.BytesIO(b"J1,3270000,35650000\n"), "jzd.txt")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("crs_required")
    r = client.post(
        "/api/v1/compliance/parse",
        data={"file": (io.BytesIO(b"PK\x03\x04broken"), "r.zip")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert r.status_code == 400


def test_parse_a_geojson_upload_with_a_crs_member(client, host, world):
    fc = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "EPSG:4523"}},
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": project(-100, 50, 100, 150, "EPSG:4523"),
            }
        ],
    }
    r = client.post(
        "/api/v1/compliance/parse",
        data={"file": (io.BytesIO(json.dumps(fc).encode()), "redline.geojson")},
        headers=basic(host),
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["crs"] == "EPSG:4523"


# --- bad input over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"geometry": {"type": "Polygon", "coordinates": []}}, "invalid_geometry"),
        ({"geometry": {"type": "Point", "coordinates": [106.5, 29.6]}}, "invalid_geometry"),
        (
            {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [106.5, 29.6],
                            [106.51, 29.61],
                            [106.51, 29.6],
                            [106.5, 29.61],
                            [106.5, 29.6],
                        ]
                    ],
                }
            },
            "self_intersection",
        ),
        (
            {
                "crs": "EPSG:4523",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[650000, 3270000], [650300, 3270000], [650300, 3270300], [650000, 3270000]]
                    ],
                },
            },
            "coordinates_out_of_range",
        ),
        ({"land_use": "0799"}, "unknown_land_use"),
        ({"project_type": "huge"}, "invalid_project_type"),
        ({"ruleset": "nope"}, "unknown_ruleset"),
        ({"crs": "EPSG:2000"}, "unknown_crs"),
        ({"geometry": None}, "invalid_geometry"),
        ({"colour": "red"}, "invalid_request"),
        ({"repair": "yes"}, "invalid_request"),
    ],
)
def test_bad_input_is_a_problem_and_nothing_is_stored(client, pf, host, world, change, code):
    body = {**BODY, "geometry": project(-100, 50, 100, 150), **change}
    r = client.post(CHECK, json=body, headers=basic(host))
    assert 400 <= r.status_code < 500
    assert r.mimetype == "application/problem+json"
    problem = r.get_json()
    assert problem["type"].endswith(code), problem
    assert problem["detail"]
    assert count(pf) == 0


def test_a_self_intersection_offers_repair(client, host, world):
    bowtie = [[106.5, 29.6], [106.51, 29.61], [106.51, 29.6], [106.5, 29.61], [106.5, 29.6]]
    body = {**BODY, "geometry": {"type": "Polygon", "coordinates": [bowtie]}}
    problem = client.post(CHECK, json=body, headers=basic(host)).get_json()
    assert any(e.get("field") == "repair" and e.get("repairable") for e in problem["errors"])
    repaired = client.post(CHECK, json={**body, "repair": True}, headers=basic(host))
    assert repaired.status_code == 201
    assert repaired.get_json()["input"]["repaired"] is True


def test_not_json_is_a_problem(client, host):
    r = client.post(CHECK, data="nope", headers={**basic(host), "Content-Type": "application/json"})
    assert r.status_code == 400


# --- rulesets (admin) -----------------------------------------------------------------------


def test_rulesets_admin_api(client, admin_token, pf, host, world):
    admin = {"Authorization": f"Bearer {admin_token}"}
    assert client.get("/api/v1/compliance/rulesets").status_code == 401
    assert client.get("/api/v1/compliance/rulesets", headers=basic(host)).status_code == 401
    listed = client.get("/api/v1/compliance/rulesets", headers=admin).get_json()["rulesets"]
    assert [r["id"] for r in listed] == ["default"]
    doc = client.get("/api/v1/compliance/rulesets/default", headers=admin).get_json()
    assert doc["version"] == 1
    doc["settings"]["tolerance_m2"] = 50_000
    put = client.put("/api/v1/compliance/rulesets/default", json=doc, headers=admin)
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["version"] == 2
    v1 = client.get("/api/v1/compliance/rulesets/default?version=1", headers=admin).get_json()
    assert v1["settings"]["tolerance_m2"] == 1.0
    report = client.post(
        CHECK, json={**BODY, "geometry": project(-100, 50, 100, 150)}, headers=basic(host)
    ).get_json()
    assert report["ruleset"]["version"] == 2
    assert report["items"][0]["status"] == "pass"
    strict = {
        "id": "strict",
        "name": {"zh-CN": "严格", "en": "Strict"},
        "settings": {"tolerance_m2": 0},
    }
    created = client.post("/api/v1/compliance/rulesets", json=strict, headers=admin)
    assert created.status_code == 201
    assert client.post("/api/v1/compliance/rulesets", json=strict, headers=admin).status_code == 409
    bad = client.put(
        "/api/v1/compliance/rulesets/strict", json={"name": "x", "rules": {"x": {}}}, headers=admin
    )
    assert bad.status_code == 400
    assert bad.get_json()["errors"][0]["field"] == "rules.x"
    assert client.get("/api/v1/compliance/rulesets/nope", headers=admin).status_code == 404
    # Each saved ruleset is in the audit log, with the admin and the version; not the
    # refused edit.
    events = client.get(
        "/api/v1/admin/audit", query_string={"action": "ruleset"}, headers=admin
    ).get_json()["events"]
    assert [(e["action"], e["target"], e["detail"]) for e in events] == [
        ("ruleset.create", "ruleset:strict", {"version": 1}),
        ("ruleset.update", "ruleset:default", {"version": 2}),
    ]
    assert {e["actor"]["name"] for e in events} == {"test admin"}
    r = client.post(
        CHECK,
        json={**BODY, "geometry": project(-100, 50, 100, 150), "ruleset": "strict"},
        headers=basic(host),
    )
    assert r.get_json()["ruleset"] == {
        "id": "strict",
        "version": 1,
        "name": {"zh-CN": "严格", "en": "Strict"},
        "settings": {"tolerance_m2": 0.0, "sliver_m2": 200.0, "sliver_width_m": 1.0},
    }


def test_land_use_classes_are_public(client):
    r = client.get("/api/v1/compliance/land-use-classes?max_level=2")
    classes = r.get_json()["classes"]
    codes = {c["code"] for c in classes}
    assert {"01", "0101", "07", "0701", "1207", "16", "24"} <= codes
    assert all(len(c["code"]) <= 4 for c in classes)
    assert next(c for c in classes if c["code"] == "0701")["name"]["zh-CN"] == "城镇住宅用地"


def test_widget_page_renders(client, host):
    r = client.get(f"/embed/compliance?app={host.id}")
    # 200 once `npm run build` made the bundle, 503 (widget_unavailable) before.
    assert r.status_code in (200, 503)
    html = r.get_data(as_text=True)
    if r.status_code == 200:
        assert 'id="pfc-form"' in html and "<script>" not in html


def test_zip_fixture_sanity(tmp_path):
    path = write_zipped_shapefile(
        tmp_path / "x.zip", [storage_box(0, 0, 10, 10)], [{"a": "1"}], crs="EPSG:4523"
    )
    assert {"layer.shp", "layer.dbf", "layer.prj"} <= set(zipfile.ZipFile(path).namelist())
    assert shapely.from_wkb(shapely.to_wkb(storage_box(0, 0, 10, 10))).area > 0
