"""Pre-study over HTTP on SQLite and PostgreSQL: one project at once (stored, filtered by
status), a batch as a background job with progress, isolation and bad input; and on the
demo dataset the planted projects' known outcomes through the API."""

from __future__ import annotations

import time

import pytest
from embed_support import basic
from reserve_support import RED_LINE_4490, body, ensure_projects_widget, projects_session

URL = "/api/v1/reserve"


@pytest.fixture
def api(embed_app, tmp_path):
    ensure_projects_widget(embed_app, tmp_path)
    return embed_app.test_client()


def wait_for(api, headers, job_id: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = api.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_pre_study_without_layers_is_landable_with_notes_and_is_stored(api, host):
    s = projects_session(api, host)
    pid = api.post(f"{URL}/projects", json=body(geometry=RED_LINE_4490), headers=s).get_json()["id"]
    r = api.post(f"{URL}/projects/{pid}/pre-study", headers=s)
    assert r.status_code == 200, r.get_json()
    result = r.get_json()
    assert result["outcome"] == "landable" and result["outcome_name"]["zh-CN"] == "可落地"
    notes = {n["code"] for n in result["notes"]}
    assert {"basic_farmland_not_checked", "no_land_use_status"} <= notes
    assert result["compliance_report_id"].startswith("cr_")
    # The evidence: the app reads the compliance report the pre-study made.
    report = api.get(
        f"/api/v1/compliance/reports/{result['compliance_report_id']}", headers=basic(host)
    )
    assert report.status_code == 200
    got = api.get(f"{URL}/projects/{pid}", headers=s).get_json()
    assert got["pre_study_status"] == "landable" and got["pre_study"]["outcome"] == "landable"
    listed = api.get(f"{URL}/projects?status=landable", headers=s).get_json()
    assert [p["id"] for p in listed["projects"]] == [pid]
    # A change of what the pre-study read clears it.
    api.patch(f"{URL}/projects/{pid}", json={"area_m2": 30000}, headers=s)
    assert api.get(f"{URL}/projects/{pid}", headers=s).get_json()["pre_study_status"] is None


def test_without_a_red_line_and_without_parcels_there_is_no_site(api, host):
    s = projects_session(api, host)
    pid = api.post(f"{URL}/projects", json=body(), headers=s).get_json()["id"]
    result = api.post(f"{URL}/projects/{pid}/pre-study", headers=s).get_json()
    assert result["outcome"] == "not_landable"
    assert [r["code"] for r in result["reasons"]] == ["no_site"]
    assert result["candidates"] == []


def test_another_users_project_cannot_be_studied(api, host):
    pid = api.post(f"{URL}/projects", json=body(), headers=projects_session(api, host)).get_json()
    other = projects_session(api, host, sub="someone-else")
    r = api.post(f"{URL}/projects/{pid['id']}/pre-study", headers=other)
    assert r.status_code == 404


def test_a_batch_runs_as_a_job_with_progress_and_counts(api, host):
    s = projects_session(api, host)
    ids = [
        api.post(f"{URL}/projects", json=body(name=f"P{i}", **extra), headers=s).get_json()["id"]
        for i, extra in enumerate([{"geometry": RED_LINE_4490}, {}, {"geometry": RED_LINE_4490}])
    ]
    r = api.post(f"{URL}/pre-study", json={"projects": "all"}, headers=s)
    assert r.status_code == 202, r.get_json()
    assert r.headers["Location"] == f"/api/v1/jobs/{r.get_json()['id']}"
    job = wait_for(api, s, r.get_json()["id"])
    assert job["state"] == "done", job
    assert job["progress"] == 1.0
    summary = job["summary"]
    assert summary["total"] == 3 and summary["failed"] == []
    assert summary["counts"] == {"landable": 2, "needs_adjustment": 0, "not_landable": 1}
    assert [p["project_id"] for p in summary["projects"]] == ids
    # Nothing is stale now; "stale" studies nothing.
    job = wait_for(
        api, s, api.post(f"{URL}/pre-study", json={"projects": "stale"}, headers=s).get_json()["id"]
    )
    assert job["summary"]["total"] == 0


@pytest.mark.parametrize("projects", [None, [], ["x"], "some", [True]])
def test_a_bad_batch_names_the_field(api, host, projects):
    s = projects_session(api, host)
    r = api.post(f"{URL}/pre-study", json={"projects": projects}, headers=s)
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "projects"


def test_a_batch_naming_an_unknown_project_is_refused(api, host):
    s = projects_session(api, host)
    r = api.post(f"{URL}/pre-study", json={"projects": [4242]}, headers=s)
    assert r.status_code == 404


def test_changes_and_pre_studies_are_in_the_audit_log(ctx, api, host):
    from sqlalchemy import select

    from planfuse.storage.models import AuditEvent

    s = projects_session(api, host)
    pid = api.post(f"{URL}/projects", json=body(geometry=RED_LINE_4490), headers=s).get_json()["id"]
    api.patch(f"{URL}/projects/{pid}", json={"priority": 2}, headers=s)
    api.post(f"{URL}/projects/{pid}/pre-study", headers=s)
    job = api.post(f"{URL}/pre-study", json={"projects": [pid]}, headers=s).get_json()
    wait_for(api, s, job["id"])
    with ctx.db.session() as session:
        events = session.execute(
            select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.target)
            .where(AuditEvent.action.like("reserve.%"))
            .order_by(AuditEvent.id)
        ).all()
    target = f"reserve_project:{pid}"
    assert [(e.action, e.target) for e in events] == [
        ("reserve.create", target),
        ("reserve.update", target),
        ("reserve.pre_study", target),
        ("reserve.pre_study", target),
    ]
    assert {e.actor_id for e in events} == {f"{host.id}/user-1"}
