"""Conflict detection, coordination and ledgers over HTTP, on SQLite and PostgreSQL:
detection jobs with progress and cancellation, the known answers of the test world,
listing and paging, the workflow with its role and transitions, append-only history,
re-detection that keeps history, locked districts, Basic callers, ledgers in JSON, CSV
and XLSX, and every bad input → a 4xx problem."""

from __future__ import annotations

import csv
import io
import math
import time
from datetime import timedelta

import openpyxl
import pytest
from conflict_world import (
    DISTRICT_A,
    DISTRICT_B,
    TWO_PLAN_CONFLICTS,
    TWO_PLAN_SLIVERS,
    URBAN_PLAN,
    build_world,
    hold_detection,
    import_districts,
    import_two_plans,
)
from embed_support import basic, session_headers
from sqlalchemy import select, update

from planfuse.storage.models import Job
from planfuse.storage.models.base import utcnow

DETECT = "/api/v1/conflicts/detect"
LIST = "/api/v1/conflicts"
FINAL = ("done", "failed", "cancelled")


def session(client, host, roles=("coordinator",), **claims) -> dict:
    return session_headers(client, host, "conflicts", roles=list(roles), **claims)


def wait_job(client, headers, job_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        r = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.get_json()
        job = r.get_json()
        if job["state"] in FINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.05)


def run_detection(client, headers, analysis: str, **extra) -> dict:
    r = client.post(DETECT, json={"analysis": analysis, **extra}, headers=headers)
    assert r.status_code == 202, r.get_json()
    body = r.get_json()
    assert set(body) == {"job"}
    assert r.headers["Location"] == f"/api/v1/jobs/{body['job']['id']}"
    job = wait_job(client, headers, body["job"]["id"])
    assert job["state"] == "done", job
    return job


@pytest.fixture
def client(embed_client):
    return embed_client


@pytest.fixture
def world(pf, tmp_path):
    build_world(pf, tmp_path)
    return pf


@pytest.fixture
def coordinator(client, host):
    return session(client, host)


def listing(client, headers, **query) -> dict:
    r = client.get(LIST, query_string=query, headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


# --- detection and known answers ------------------------------------------------------


def test_two_plan_detection_finds_the_known_conflicts_and_lists_slivers_apart(
    client, world, coordinator
):
    job = run_detection(client, coordinator, "two_plans")
    assert set(job) >= {"id", "state", "progress", "stage", "summary"}
    assert job["progress"] == 1.0
    summary = job["summary"]
    assert summary["conflicts"] == {"count": 6, "area_m2": pytest.approx(90_210.0, abs=0.05)}
    assert summary["slivers"] == {"count": 2, "area_m2": pytest.approx(440.0, abs=0.05)}
    assert summary["by_type"]["01"]["area_m2"] == pytest.approx(10_000.0, abs=0.05)
    page = listing(client, coordinator, analysis="two_plans")
    assert page["total"] == 6
    assert page["sliver_total"] == 2
    got = [
        (c["type"], round(c["area_m2"], 1), c["district"], c["sources"][0]["fid"])
        for c in page["conflicts"]
    ]
    names = [u[0] for u in URBAN_PLAN]
    want = [(t, a, d, names.index(u) + 1) for t, a, d, u, _ in TWO_PLAN_CONFLICTS]
    assert sorted(got, key=lambda g: (-g[1], g[2], g[3])) == sorted(
        want, key=lambda g: (-g[1], g[2], g[3])
    )
    first = page["conflicts"][0]
    assert set(first) >= {
        "id",
        "analysis",
        "type",
        "area_m2",
        "district",
        "status",
        "sources",
        "geometry",
    }
    assert first["status"] == "pending"
    assert first["geometry"]["type"] == "Polygon"
    urban, land = first["sources"]
    assert urban["kind"] == "urban_plan" and land["kind"] == "land_plan"
    assert urban["code"] == "E2" and land["code"] == "2110" and first["type"] == "03"
    assert urban["version"] == 1 and urban["layer"] == "urban_plan"
    # The 210 m² conflict is kept; the slivers are listed apart.
    assert any(c["area_m2"] == pytest.approx(210.0, abs=0.01) for c in page["conflicts"])
    slivers = listing(client, coordinator, analysis="two_plans", sliver="true")
    assert slivers["total"] == 2
    assert [(round(c["area_m2"], 1), c["sliver_reason"]) for c in slivers["conflicts"]] == [
        (a, r) for _, a, r, _ in TWO_PLAN_SLIVERS
    ]
    assert all(c["sliver"] for c in slivers["conflicts"])


def test_a_patch_across_districts_is_split_by_district(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    u7 = [
        c
        for c in listing(client, coordinator, analysis="two_plans")["conflicts"]
        if c["sources"][0]["fid"] == 7
    ]
    assert sorted((c["district"], round(c["area_m2"], 2)) for c in u7) == [
        (DISTRICT_A, 10_000.0),
        (DISTRICT_B, 10_000.0),
    ]
    assert {c["district_name"] for c in u7} == {"渝中区", "渝北区"}


def test_three_line_overlaps_just_under_and_over_the_sliver_size(client, world, coordinator):
    run_detection(client, coordinator, "three_lines")
    page = listing(client, coordinator, analysis="three_lines")
    assert sorted((c["type"], round(c["area_m2"], 2)) for c in page["conflicts"]) == [
        ("farmland_boundary", 500.0),
        ("farmland_redline", 201.0),
        ("redline_boundary", 5000.0),
    ]
    slivers = listing(client, coordinator, analysis="three_lines", sliver="true")["conflicts"]
    assert [(c["type"], round(c["area_m2"], 2), c["sliver_reason"]) for c in slivers] == [
        ("farmland_redline", 199.0, "area")
    ]


def test_plan_vs_controls(client, world, coordinator):
    job = run_detection(client, coordinator, "plan_vs_controls")
    page = listing(client, coordinator, analysis="plan_vs_controls")
    got = sorted((c["type"], round(c["area_m2"], 2)) for c in page["conflicts"])
    assert got == [
        ("construction_on_farmland", 40_000.0),
        ("construction_on_redline", 1500.0),
        ("urban_outside_boundary", 5000.0),
        ("urban_outside_boundary", 40_000.0),
    ]
    outside = next(c for c in page["conflicts"] if c["type"] == "urban_outside_boundary")
    assert outside["sources"][1]["relation"] == "outside"
    assert outside["sources"][1]["fid"] is None
    assert job["summary"]["layers"]["land_use_plan"] == 1


def test_detection_over_one_district(client, world, coordinator):
    job = run_detection(client, coordinator, "two_plans", districts=[DISTRICT_B])
    assert job["summary"]["districts"] == [DISTRICT_B]
    page = listing(client, coordinator, analysis="two_plans")
    assert [(c["district"], round(c["area_m2"], 2)) for c in page["conflicts"]] == [
        (DISTRICT_B, 10_000.0)
    ]


# --- listing -----------------------------------------------------------------------------


def test_list_order_filters_and_paging(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    run_detection(client, coordinator, "three_lines")
    everything = listing(client, coordinator, limit=100)
    areas = [(-c["area_m2"], c["id"]) for c in everything["conflicts"]]
    assert areas == sorted(areas)
    assert everything["total"] == 9
    pages = [listing(client, coordinator, limit=4, offset=o)["conflicts"] for o in (0, 4, 8)]
    assert [c["id"] for p in pages for c in p] == [c["id"] for c in everything["conflicts"]]
    assert listing(client, coordinator, min_area=5000)["total"] == 6
    assert listing(client, coordinator, type="03")["total"] == 1
    assert listing(client, coordinator, type="03,04")["total"] == 6
    assert listing(client, coordinator, district=DISTRICT_B)["total"] == 1
    assert listing(client, coordinator, status="pending")["total"] == 9
    assert listing(client, coordinator, status="kept")["total"] == 0
    assert "geometry" not in listing(client, coordinator, geometry="false")["conflicts"][0]
    empty = listing(client, coordinator, status="kept", offset=0)
    assert empty == {**empty, "conflicts": [], "total": 0}


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"analysis": "four_plans"}, 400, "analysis"),
        ({"type": "05"}, 400, "type"),
        ({"analysis": "three_lines", "type": "04"}, 400, "type"),
        ({"status": "done"}, 400, "status"),
        ({"min_area": "big"}, 400, "min_area"),
        ({"min_area": "-1"}, 400, "min_area"),
        ({"limit": "0"}, 400, "limit"),
        ({"limit": "100000"}, 400, "limit"),
        ({"offset": "-3"}, 400, "offset"),
        ({"offset": "x"}, 400, "offset"),
        ({"offset": "50"}, 400, "offset"),
        ({"sliver": "maybe"}, 400, "sliver"),
        ({"district": "999999"}, 400, "district[0]"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_list_queries_are_problems(client, world, coordinator, query, status, field):
    run_detection(client, coordinator, "three_lines")
    r = client.get(LIST, query_string=query, headers=coordinator)
    assert r.status_code == status, r.get_json()
    problem = r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert any(e.get("field") == field for e in problem["errors"]), problem


def test_paging_past_the_end_names_the_total(client, world, coordinator):
    run_detection(client, coordinator, "three_lines")
    r = client.get(LIST, query_string={"offset": 3}, headers=coordinator)
    assert r.status_code == 400
    assert "3 conflict(s) match" in r.get_json()["detail"]


# --- jobs ----------------------------------------------------------------------------


@pytest.fixture
def held_detection(monkeypatch):
    """Detection that waits, checking for cancellation, until released."""
    started, release = hold_detection(monkeypatch, "held by the test")
    yield started, release
    release.set()


def test_a_second_detection_of_the_same_analysis_is_refused(
    client, world, coordinator, held_detection
):
    started, release = held_detection
    first = client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator).get_json()
    job_id = first["job"]["id"]
    assert started.wait(10)
    r = client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator)
    assert r.status_code == 409
    problem = r.get_json()
    assert job_id in problem["detail"]
    assert problem["errors"][0]["job"] == job_id
    # Another analysis may run meanwhile.
    other = client.post(DETECT, json={"analysis": "three_lines"}, headers=coordinator)
    assert other.status_code == 202
    running = client.get(f"/api/v1/jobs/{job_id}", headers=coordinator).get_json()
    assert running["state"] == "running" and running["stage"] == "held by the test"
    assert 0 < running["progress"] < 1
    release.set()
    assert wait_job(client, coordinator, job_id)["state"] == "done"
    assert wait_job(client, coordinator, other.get_json()["job"]["id"])["state"] == "done"
    # Once finished, the analysis may run again.
    assert (
        client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator).status_code == 202
    )


def test_cancel_a_running_detection_keeps_the_stored_patches(
    client, pf, world, coordinator, held_detection
):
    started, release = held_detection
    r = client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator)
    job_id = r.get_json()["job"]["id"]
    assert started.wait(10)
    r = client.delete(f"/api/v1/jobs/{job_id}", headers=coordinator)
    assert r.status_code in (200, 202)
    assert r.get_json()["cancel_requested"] is True
    job = wait_job(client, coordinator, job_id)
    assert job["state"] == "cancelled"
    assert listing(client, coordinator)["total"] == 0
    # Cancelling again is harmless; a finished job cannot be cancelled.
    assert client.delete(f"/api/v1/jobs/{job_id}", headers=coordinator).status_code == 200
    release.set()
    done = run_detection(client, coordinator, "three_lines")
    r = client.delete(f"/api/v1/jobs/{done['id']}", headers=coordinator)
    assert r.status_code == 409


def test_a_job_whose_process_died_is_failed_on_read(client, pf, world, coordinator):
    job = run_detection(client, coordinator, "three_lines")
    stale = utcnow() - timedelta(seconds=pf.settings.job_stale_after_s + 5)
    with pf.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job["id"])
            .values(state="running", active_key="conflicts.detect:three_lines", heartbeat_at=stale)
        )
    got = client.get(f"/api/v1/jobs/{job['id']}", headers=coordinator).get_json()
    assert got["state"] == "failed"
    assert got["error"]["type"].endswith("/job_abandoned")
    with pf.db.session() as s:
        assert s.scalar(select(Job.active_key).where(Job.id == job["id"])) is None
    # Its key is free again.
    run_detection(client, coordinator, "three_lines")


def test_jobs_are_private_to_their_app_unless_shared(client, pf, world, coordinator, other_host):
    job = run_detection(client, coordinator, "three_lines")
    other = basic(other_host)
    # Detections are shared: another app sees it but cannot cancel it.
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=other).status_code == 200
    from planfuse.services.runners import job_runner

    private = job_runner(pf).submit("test.private", lambda ctx, h, p: {"ok": True}, app_id="x")
    job_runner(pf).wait(private["id"], timeout=10)
    assert client.get(f"/api/v1/jobs/{private['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/jobs/nope", headers=other).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 401


# --- bad detection requests ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"analysis": "four_plans"}, "unknown_analysis"),
        ({}, "invalid_request"),
        ({"analysis": "two_plans", "districts": "500103"}, "invalid_request"),
        ({"analysis": "two_plans", "districts": []}, "invalid_districts"),
        ({"analysis": "two_plans", "districts": ["123456"]}, "unknown_district"),
        ({"analysis": "two_plans", "extra": 1}, "invalid_request"),
    ],
)
def test_bad_detection_requests(client, world, coordinator, body, code):
    r = client.post(DETECT, json=body, headers=coordinator)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["type"].endswith("/" + code)


def test_detection_without_its_layers_names_the_missing_kinds(client, pf, tmp_path, coordinator):
    import_districts(pf, tmp_path)
    r = client.post(DETECT, json={"analysis": "three_lines"}, headers=coordinator)
    assert r.status_code == 409
    problem = r.get_json()
    assert problem["type"].endswith("/missing_layers")
    kinds = {e["kind"] for e in problem["errors"]}
    assert kinds == {"basic_farmland", "ecological_redline", "urban_boundary"}
    assert "basic_farmland" in problem["detail"]
    r = client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator)
    assert {e["kind"] for e in r.get_json()["errors"]} == {"urban_plan", "land_plan"}


def test_detection_needs_the_coordinator_role(client, world, host):
    reviewer = session(client, host, roles=("reviewer",))
    r = client.post(DETECT, json={"analysis": "two_plans"}, headers=reviewer)
    assert r.status_code == 403
    assert "coordinator" in r.get_json()["detail"]


def test_not_json_is_a_problem(client, world, coordinator):
    r = client.post(DETECT, data="{", headers=coordinator, content_type="application/json")
    assert r.status_code == 400


# --- workflow ------------------------------------------------------------------------


def patch(client, headers, cid, **body):
    return client.patch(f"{LIST}/{cid}", json=body, headers=headers)


def first_id(client, headers, **query) -> int:
    return listing(client, headers, **query)["conflicts"][0]["id"]


def test_workflow_to_adjusted_records_who_when_and_why(client, world, coordinator, host):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    r = patch(
        client,
        coordinator,
        cid,
        status="coordinating",
        note="区县核实中",
        district_opinion="建议按土规调整",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "coordinating"
    assert r.get_json()["status_name"] == "协调中"
    r = patch(
        client,
        coordinator,
        cid,
        status="adjusted",
        note="城规修改为非建设用地",
        municipal_opinion="同意",
        effective_date="2026-12-01",
        plan_changed="urban_plan",
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "adjusted" and body["plan_changed"] == "urban_plan"
    history = client.get(f"{LIST}/{cid}/history", headers=coordinator).get_json()["history"]
    assert [h["action"] for h in history] == ["detected", "status", "status"]
    step = history[-1]
    assert step["from_status"] == "coordinating" and step["to_status"] == "adjusted"
    assert step["note"] == "城规修改为非建设用地"
    assert step["municipal_opinion"] == "同意"
    assert step["effective_date"] == "2026-12-01"
    assert step["by"] == {"app": host.id, "user": "user-1", "name": "张三", "dept": "规划科"}
    assert step["at"]
    assert history[1]["district_opinion"] == "建议按土规调整"
    # A final decision does not change again.
    r = patch(client, coordinator, cid, status="coordinating", note="再议")
    assert r.status_code == 409
    assert r.get_json()["type"].endswith("/illegal_transition")


def test_kept_needs_a_reason(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    patch(client, coordinator, cid, status="coordinating", note="协调")
    r = patch(client, coordinator, cid, status="kept", note="保留")
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "reason"
    r = patch(client, coordinator, cid, status="kept", note="保留", reason="已批项目")
    assert r.status_code == 200
    assert r.get_json()["reason"] == "已批项目"


@pytest.mark.parametrize(
    ("steps", "status", "code"),
    [
        ([], 409, "illegal_transition"),  # pending → adjusted
        (["coordinating"], 409, "illegal_transition"),  # coordinating → pending
    ],
)
def test_illegal_transitions(client, world, coordinator, steps, status, code):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    for step in steps:
        assert patch(client, coordinator, cid, status=step, note="n").status_code == 200
    target = "adjusted" if not steps else "pending"
    r = patch(client, coordinator, cid, status=target, note="n", plan_changed="urban_plan")
    assert r.status_code == status
    assert r.get_json()["type"].endswith("/" + code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "coordinating"}, "note"),
        ({"status": "finished", "note": "n"}, "status"),
        ({"note": "n", "effective_date": "2026-13-01"}, "effective_date"),
        ({"note": 5}, "note"),
        ({"note": "x" * 2001}, "note"),
        ({}, "status"),
        ({"note": "n", "colour": "red"}, "colour"),
        ({"note": "n", "plan_changed": "urban_plan"}, "plan_changed"),
        ({"note": "n", "user": "someone"}, "user"),
    ],
)
def test_bad_changes_are_400(client, world, coordinator, body, field):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    r = patch(client, coordinator, cid, **body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["errors"][0]["field"] == field


def test_adjusted_names_one_of_the_plans(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    patch(client, coordinator, cid, status="coordinating", note="n")
    r = patch(client, coordinator, cid, status="adjusted", note="n", plan_changed="roads")
    assert r.status_code == 400
    assert "urban_plan" in r.get_json()["detail"]


def test_a_note_without_status_change(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    r = patch(client, coordinator, cid, note="补充材料", district_opinion="区县意见")
    assert r.status_code == 200 and r.get_json()["status"] == "pending"
    history = client.get(f"{LIST}/{cid}/history", headers=coordinator).get_json()["history"]
    assert history[-1]["action"] == "note"
    assert history[-1]["district_opinion"] == "区县意见"


def test_status_change_needs_the_role(client, world, coordinator, host):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    reviewer = session(client, host, roles=("reviewer",))
    r = patch(client, reviewer, cid, status="coordinating", note="n")
    assert r.status_code == 403
    # Reading is open to every caller of the widget.
    assert client.get(f"{LIST}/{cid}", headers=reviewer).status_code == 200
    assert client.get(f"{LIST}/{cid}/history", headers=reviewer).status_code == 200
    readonly = session(client, host, params={"readonly": True})
    assert patch(client, readonly, cid, status="coordinating", note="n").status_code == 403


def test_conflicts_are_shared_and_changes_record_the_app(
    client, world, coordinator, host, other_host
):
    run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    other = basic(other_host)
    assert listing(client, other)["total"] == 6
    r = patch(client, other, cid, status="coordinating", note="市级发起")
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "user"
    r = patch(client, other, cid, status="coordinating", note="市级发起", user="li.si")
    assert r.status_code == 200, r.get_json()
    history = client.get(f"{LIST}/{cid}/history", headers=coordinator).get_json()["history"]
    assert history[-1]["by"]["app"] == other_host.id
    assert history[-1]["by"]["user"] == "li.si"
    assert history[0]["by"]["app"] == host.id  # the detection was started by `host`


def test_unknown_and_bad_conflict_ids(client, world, coordinator):
    assert client.get(f"{LIST}/999999", headers=coordinator).status_code == 404
    # Not a number: no such conflict (the path takes whole numbers only).
    assert client.get(f"{LIST}/abc", headers=coordinator).status_code == 404
    assert client.get(f"{LIST}/0", headers=coordinator).status_code == 404
    assert client.get(f"{LIST}/999999/history", headers=coordinator).status_code == 404
    r = patch(client, coordinator, 999999, status="coordinating", note="n")
    assert r.status_code == 404
    assert client.put(f"{LIST}/1/history", headers=coordinator).status_code == 405
    assert client.delete(f"{LIST}/1/history", headers=coordinator).status_code == 405
    assert client.delete(f"{LIST}/1", headers=coordinator).status_code == 405


def test_another_widgets_session_cannot_use_the_service(client, world, host):
    token = host.token("probe")
    r = client.post("/embed/session", json={"token": token})
    headers = {"Authorization": "Bearer " + r.get_json()["session_token"]}
    assert client.get(LIST, headers=headers).status_code == 403


# --- re-detection --------------------------------------------------------------------


def test_redetection_keeps_the_history_of_patches_that_still_exist(
    client, pf, world, coordinator, tmp_path
):
    run_detection(client, coordinator, "two_plans")
    page = listing(client, coordinator, analysis="two_plans")["conflicts"]
    by_urban = {(c["sources"][0]["fid"], c["district"]): c for c in page}
    u1 = by_urban[(1, DISTRICT_A)]
    u2 = by_urban[(2, DISTRICT_A)]
    patch(client, coordinator, u1["id"], status="coordinating", note="协调中")
    patch(client, coordinator, u2["id"], status="coordinating", note="协调中")
    # New urban plan version: U1 grows by 4 % (IoU 0.96), U2 is made non-construction
    # (its 04 piece on L1 goes; its piece on L2, construction land, becomes a new 03).
    urban = [
        ("U1", "M1", (1000, 1000, 1200, 1104)) if n == "U1" else (n, "E2" if n == "U2" else c, b)
        for n, c, b in URBAN_PLAN
    ]
    import_two_plans(pf, tmp_path, urban=urban, tag="-v2")
    job = run_detection(client, coordinator, "two_plans")
    assert job["summary"]["layers"]["urban_plan"] == 2
    patches = job["summary"]["patches"]
    assert patches["obsolete"] == 1 and patches["updated"] == 1 and patches["new"] == 1
    kept = client.get(f"{LIST}/{u1['id']}", headers=coordinator).get_json()
    assert kept["status"] == "coordinating" and kept["current"] is True
    assert kept["area_m2"] == pytest.approx(20_800.0, abs=0.05)
    assert kept["sources"][0]["version"] == 2
    history = client.get(f"{LIST}/{u1['id']}/history", headers=coordinator).get_json()["history"]
    assert [h["action"] for h in history] == ["detected", "status", "updated"]
    assert history[-1]["details"]["area_m2"] == [20_000.0, 20_800.0]
    gone = client.get(f"{LIST}/{u2['id']}", headers=coordinator).get_json()
    assert gone["current"] is False and gone["status"] == "coordinating"
    history = client.get(f"{LIST}/{u2['id']}/history", headers=coordinator).get_json()["history"]
    assert [h["action"] for h in history] == ["detected", "status", "obsolete"]
    assert u2["id"] not in [c["id"] for c in listing(client, coordinator, limit=100)["conflicts"]]
    assert u2["id"] in [c["id"] for c in listing(client, coordinator, current="false")["conflicts"]]
    r = patch(client, coordinator, u2["id"], status="kept", note="n", reason="r")
    assert r.status_code == 409 and r.get_json()["type"].endswith("/conflict_obsolete")


# --- locked districts ------------------------------------------------------------------


def test_locked_districts_narrow_and_refuse_wider_requests(client, world, coordinator, host):
    run_detection(client, coordinator, "two_plans")
    locked = session(client, host, params={"districts": [DISTRICT_B]})
    page = listing(client, locked)
    assert page["total"] == 1 and page["conflicts"][0]["district"] == DISTRICT_B
    assert (
        client.get(LIST, query_string={"district": DISTRICT_A}, headers=locked).status_code == 403
    )
    other_id = first_id(client, coordinator, district=DISTRICT_A)
    assert client.get(f"{LIST}/{other_id}", headers=locked).status_code == 403
    assert patch(client, locked, other_id, status="coordinating", note="n").status_code == 403
    r = client.post(
        DETECT, json={"analysis": "two_plans", "districts": [DISTRICT_A]}, headers=locked
    )
    assert r.status_code == 403
    # Without districts the detection is narrowed to the locked ones.
    r = client.post(DETECT, json={"analysis": "three_lines"}, headers=locked)
    assert r.status_code == 202
    job = wait_job(client, locked, r.get_json()["job"]["id"])
    assert job["summary"]["districts"] == [DISTRICT_B]
    assert (
        client.get(
            "/api/v1/ledgers/conflicts", query_string={"by": "city"}, headers=locked
        ).status_code
        == 403
    )
    ledger = client.get("/api/v1/ledgers/conflicts", headers=locked).get_json()
    assert {r["district"] for r in ledger["rows"]} == {DISTRICT_B}


def test_locked_analysis(client, world, coordinator, host):
    run_detection(client, coordinator, "two_plans")
    run_detection(client, coordinator, "three_lines")
    locked = session(client, host, params={"analysis": "three_lines"})
    assert {c["analysis"] for c in listing(client, locked)["conflicts"]} == {"three_lines"}
    assert (
        client.get(LIST, query_string={"analysis": "two_plans"}, headers=locked).status_code == 403
    )
    r = client.post(DETECT, json={"analysis": "two_plans"}, headers=locked)
    assert r.status_code == 403


def test_detections_and_changes_are_in_the_audit_log(client, pf, world, coordinator, host):
    from planfuse.services.audit import AuditQuery, list_events

    job = run_detection(client, coordinator, "two_plans")
    cid = first_id(client, coordinator)
    assert patch(client, coordinator, cid, status="coordinating", note="n").status_code == 200
    r = patch(client, basic(host), cid, note="backend note", user="host-user-7")
    assert r.status_code == 200, r.get_json()
    events = list_events(pf, AuditQuery(action="conflict"))["events"]
    assert [(e["action"], e["target"]) for e in events] == [
        ("conflict.change", f"conflict:{cid}"),
        ("conflict.change", f"conflict:{cid}"),
        ("conflict.detect", f"job:{job['id']}"),
    ]
    assert events[0]["actor"] == {"kind": "app", "id": host.id, "name": None}
    assert events[0]["detail"]["user"] == "host-user-7"
    assert events[1]["actor"]["kind"] == "user"
    assert events[1]["actor"]["id"].startswith(f"{host.id}/")
    assert events[1]["detail"]["status"] == "coordinating"
    assert {e["origin"] for e in events} == {"127.0.0.1"}


def test_locked_analysis_guards_every_route_on_one_conflict(client, world, coordinator, host):
    """One scope check (districts and analysis) on read, change and history alike."""
    run_detection(client, coordinator, "two_plans")
    run_detection(client, coordinator, "three_lines")
    other = first_id(client, coordinator, analysis="two_plans")
    mine = first_id(client, coordinator, analysis="three_lines")
    locked = session(client, host, params={"analysis": "three_lines"})
    for r in (
        client.get(f"{LIST}/{other}", headers=locked),
        patch(client, locked, other, status="coordinating", note="n"),
        client.get(f"{LIST}/{other}/history", headers=locked),
    ):
        assert r.status_code == 403, r.get_json()
        assert r.get_json()["errors"][0]["field"] == "analysis"
    # Nothing was changed by the refused step.
    assert client.get(f"{LIST}/{other}", headers=coordinator).get_json()["status"] == "pending"
    assert client.get(f"{LIST}/{mine}/history", headers=locked).status_code == 200
    assert patch(client, locked, mine, status="coordinating", note="n").status_code == 200
    # An unknown id is still a 404 for a locked caller.
    assert client.get(f"{LIST}/999999/history", headers=locked).status_code == 404


# --- ledgers -------------------------------------------------------------------------


def cents(value: float) -> int:
    return round(value * 100)


def assert_reconciles(ledger: dict) -> None:
    """Rows add up to subtotals, class totals and the total — exactly, in 0.01 ha."""
    exact = ledger["exact"]
    assert exact["rows_m2"] == pytest.approx(exact["total_m2"], rel=1e-9, abs=1e-6)
    assert exact["rows_count"] == exact["total_count"]
    rows = ledger["rows"]
    if ledger["by"] == "city":
        if "total" in ledger:
            assert sum(cents(r["area_ha"]) for r in rows) == cents(ledger["total"]["area_ha"])
            assert sum(r["count"] for r in rows) == ledger["total"]["count"]
        return
    for total in ledger["group_totals"]:
        mine = [r for r in rows if r["group"] == total["group"]]
        assert sum(cents(r["area_ha"]) for r in mine) == cents(total["area_ha"])
        assert sum(r["count"] for r in mine) == total["count"]
    if "subtotals" in ledger:
        for sub in ledger["subtotals"]:
            mine = [r for r in rows if r["district"] == sub["district"]]
            assert sum(cents(r["area_ha"]) for r in mine) == cents(sub["area_ha"])
            assert sum(r["count"] for r in mine) == sub["count"]
        assert sum(cents(s["area_ha"]) for s in ledger["subtotals"]) == cents(
            ledger["total"]["area_ha"]
        )
        assert sum(cents(t["area_ha"]) for t in ledger["group_totals"]) == cents(
            ledger["total"]["area_ha"]
        )
        # The total is the nearest rounding (halves up) of its own aggregate.
        assert math.floor(exact["total_m2"] / 100 + 0.5) == cents(ledger["total"]["area_ha"])


@pytest.mark.parametrize(
    "name",
    [
        "conflicts",
        "urban_plan",
        "land_plan",
        "land_use_plan",
        "comprehensive",
        "basic_farmland",
        "ecological_redline",
        "urban_boundary",
    ],
)
@pytest.mark.parametrize("by", ["district", "city"])
def test_ledgers_reconcile(client, world, coordinator, name, by):
    for analysis in ("two_plans", "three_lines", "plan_vs_controls"):
        run_detection(client, coordinator, analysis)
    r = client.get(f"/api/v1/ledgers/{name}", query_string={"by": by}, headers=coordinator)
    assert r.status_code == 200, r.get_json()
    ledger = r.get_json()
    assert ledger["ledger"] == name and ledger["by"] == by
    assert ledger["rows"]
    assert_reconciles(ledger)


def test_conflicts_ledger_known_answers(client, pf, world, coordinator):
    for analysis in ("two_plans", "three_lines"):
        run_detection(client, coordinator, analysis)
    ledger = client.get("/api/v1/ledgers/conflicts", headers=coordinator).get_json()
    row = next(
        r for r in ledger["rows"] if r["district"] == DISTRICT_A and r["group"] == "two_plans:04"
    )
    # 20,000 + 10,000 + 10,000 + 210 m² (slivers excluded)
    assert row["count"] == 4 and row["area_ha"] == 4.02
    assert row["share_pct"] == pytest.approx(0.04, abs=0.005)
    city = client.get(
        "/api/v1/ledgers/conflicts", query_string={"by": "city"}, headers=coordinator
    ).get_json()
    from planfuse.services.ledgers.pieces import conflict_totals_sql

    count, area = conflict_totals_sql(pf)
    assert city["total"]["count"] == count == 9
    assert city["total"]["area_ha"] == round(area / 10_000, 2)
    urban = client.get(
        "/api/v1/ledgers/urban_plan", query_string={"by": "city"}, headers=coordinator
    )
    classes = {r["group"]: r for r in urban.get_json()["rows"]}
    assert classes["R"]["group_name"] == "居住用地"
    assert classes["R"]["count"] == 3  # U2, and U7 cut in two districts
    assert classes["E"]["area_ha"] == 5.0


def test_ledger_exports(client, world, coordinator):
    run_detection(client, coordinator, "two_plans")
    r = client.get("/api/v1/ledgers/conflicts", query_string={"format": "csv"}, headers=coordinator)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    text = r.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["区县代码", "区县"]
    assert rows[-1][4] == "合计"
    r = client.get(
        "/api/v1/ledgers/urban_plan.xlsx",
        query_string={"by": "city", "locale": "en"},
        headers=coordinator,
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert sheet["A2"].value == "Class code"
    values = [
        row for row in sheet.iter_rows(min_row=3, values_only=True) if row and row[0] is not None
    ]
    assert any(row[1] == "Residential" for row in values)


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/api/v1/ledgers/nothing", {}, 404),
        ("/api/v1/ledgers/conflicts", {"by": "province"}, 400),
        ("/api/v1/ledgers/conflicts", {"format": "pdf"}, 400),
        ("/api/v1/ledgers/conflicts", {"analysis": "x"}, 400),
        ("/api/v1/ledgers/urban_plan", {"analysis": "two_plans"}, 400),
        ("/api/v1/ledgers/basic_farmland", {"group": "code"}, 400),
        ("/api/v1/ledgers/urban_plan", {"layer": "nope"}, 404),
        ("/api/v1/ledgers/urban_plan", {"district": "000000"}, 400),
        ("/api/v1/ledgers/urban_plan", {"colour": "red"}, 400),
        ("/api/v1/ledgers/control_line", {}, 409),
    ],
)
def test_bad_ledger_requests(client, world, coordinator, path, query, status):
    r = client.get(path, query_string=query, headers=coordinator)
    assert r.status_code == status, r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")


def test_options(client, world, coordinator, host):
    run_detection(client, coordinator, "two_plans")
    body = client.get(f"{LIST}/options", headers=coordinator).get_json()
    assert [a["name"] for a in body["analyses"]] == ["two_plans", "three_lines", "plan_vs_controls"]
    assert all(a["missing"] == [] for a in body["analyses"])
    assert {s["code"]: s["next"] for s in body["statuses"]} == {
        "pending": ["coordinating"],
        "coordinating": ["adjusted", "kept"],
        "adjusted": [],
        "kept": [],
    }
    assert [d["adcode"] for d in body["districts"]] == [DISTRICT_A, DISTRICT_B]
    assert body["caller"]["can_coordinate"] is True
    assert body["running"] == {}
    assert "comprehensive" in [ledger["name"] for ledger in body["ledgers"]]
    locked = session(client, host, roles=("reviewer",), params={"districts": [DISTRICT_B]})
    body = client.get(f"{LIST}/options", headers=locked).get_json()
    assert [d["adcode"] for d in body["districts"]] == [DISTRICT_B]
    assert body["caller"] == {"can_coordinate": False, "locked": {"districts": [DISTRICT_B]}}


def test_options_show_a_running_detection(client, world, coordinator, held_detection):
    started, release = held_detection
    job = client.post(DETECT, json={"analysis": "two_plans"}, headers=coordinator).get_json()["job"]
    assert started.wait(10)
    body = client.get(f"{LIST}/options", headers=coordinator).get_json()
    assert body["running"]["two_plans"]["id"] == job["id"]
    release.set()
    wait_job(client, coordinator, job["id"])
