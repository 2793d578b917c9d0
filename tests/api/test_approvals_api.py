"""Coordinated approval (协同审批) over HTTP, on SQLite and PostgreSQL: a full case across
three host apps (portal, natural resources, environment), the evidence frozen at opening,
isolation between apps and departments, the append-only history, the outcome rule,
deadlines, attachments and every kind of bad input (4xx, nothing stored)."""

from __future__ import annotations

import copy
import datetime as dt
import io

import pytest
from approval_world import ENV, NR, build_approval_world
from compliance_world import storage_box
from embed_support import basic
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from planfuse.geo.crs import resolve_crs
from planfuse.geo.parse import ParsedFeature
from planfuse.services.approval.overdue import flag_overdue
from planfuse.services.layers.importer import ImportOptions, store_features
from planfuse.storage.models import (
    ApprovalAttachment,
    ApprovalCase,
    ApprovalDepartment,
    ApprovalEvent,
    ComplianceReport,
    Conflict,
)

API = "/api/v1/approvals"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


#: 2027's Spring Festival (5–11 February) and its make-up working Saturday, 20 February.
HOLIDAYS = [f"2027-02-{d:02d}" for d in range(5, 12)]


@pytest.fixture
def settings_overrides():
    return {
        "approval_attachment_max_bytes": 4096,
        "approval_holidays": ",".join(HOLIDAYS),
        "approval_workdays": "2027-02-20",
        "webhook_allow_http": True,
    }


@pytest.fixture
def client(embed_client):
    return embed_client


@pytest.fixture
def world(client, pf):
    return build_approval_world(client, pf)


def count(pf, model) -> int:
    with pf.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_full_case_across_three_apps(world, client, pf):
    case = world.open_case(due=(dt.date.today() + dt.timedelta(days=30)).isoformat())
    assert case["state"] == "open"
    assert case["id"].startswith("apv_")
    assert case["app"] == world.portal.id
    assert case["project"] == {"id": world.project_id, "kind": "registered", "name": "沙坪坝物流园"}
    assert [(d["dept"], d["app"], d["opinion"], d["revisions"]) for d in case["departments"]] == [
        (NR, world.nr.id, None, 0),
        (ENV, world.env.id, None, 0),
    ]
    assert case["summary"] == {"agree": 0, "agree_with_conditions": 0, "disagree": 0, "pending": 2}
    assert case["evidence"]["verdict"] == "fail"
    assert case["evidence"]["conflict_count"] == 1
    assert case["area_m2"] == pytest.approx(20_000, rel=1e-4)

    # Each department sees the case and the same frozen evidence.
    nr = world.session(world.nr, NR)
    env = world.session(world.env, ENV)
    for headers in (nr, env, basic(world.portal)):
        got = client.get(f"{API}/{case['id']}", headers=headers)
        assert got.status_code == 200, got.get_json()
        evidence = client.get(f"{API}/{case['id']}/evidence", headers=headers).get_json()
        farmland = next(i for i in evidence["compliance"]["items"] if i["rule"] == "basic_farmland")
        assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
        assert evidence["compliance"]["signature"]["jws"].count(".") == 2
        [conflict] = evidence["conflicts"]
        assert conflict["id"] == world.conflict_id
        assert conflict["overlap_area_m2"] == pytest.approx(5_000, rel=1e-4)
        assert conflict["overlap_ratio"] == pytest.approx(0.25, rel=1e-4)
        assert conflict["area_m2"] == pytest.approx(60_000, rel=1e-4)
        assert evidence["project"]["id"] == world.project_id
    assert client.get(f"{API}/{case['id']}", headers=nr).get_json()["caller"] == {
        "portal": False,
        "departments": [NR],
        "can_close": False,
        "can_give_opinion": True,
    }
    assert client.get(f"{API}/{case['id']}", headers=basic(world.portal)).get_json()["caller"] == {
        "portal": True,
        "departments": [],
        "can_close": True,
        "can_give_opinion": False,
    }

    r = client.post(
        f"{API}/{case['id']}/opinions",
        json={"opinion": "agree_with_conditions", "conditions": ["落实耕地占补平衡", "  "]},
        headers=nr,
    )
    assert r.status_code == 400  # an empty condition item
    r = client.post(
        f"{API}/{case['id']}/opinions",
        json={"opinion": "agree_with_conditions", "conditions": ["落实耕地占补平衡"]},
        headers=nr,
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["opinion"]["revision"] == 1
    assert body["opinion"]["user_name"] == "张三"
    r = client.post(f"{API}/{case['id']}/opinions", json={"opinion": "agree"}, headers=env)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["case"]["summary"] == {
        "agree": 1,
        "agree_with_conditions": 1,
        "disagree": 0,
        "pending": 0,
    }

    closed = client.post(f"{API}/{case['id']}/close", json={}, headers=basic(world.portal))
    assert closed.status_code == 200, closed.get_json()
    doc = closed.get_json()
    assert doc["state"] == "closed_approved"
    assert doc["outcome"] == {
        "state": "closed_approved",
        "rule_outcome": "closed_approved",
        "overridden": False,
        "reason": None,
    }
    history = client.get(f"{API}/{case['id']}/history", headers=env).get_json()["history"]
    assert [(e["action"], e.get("dept")) for e in history] == [
        ("opened", None),
        ("opinion", NR),
        ("opinion", ENV),
        ("closed", None),
    ]
    # After closing nothing more is taken (409), and nothing is stored.
    again = client.post(f"{API}/{case['id']}/opinions", json={"opinion": "agree"}, headers=env)
    assert again.status_code == 409
    assert again.get_json()["type"].endswith("case_closed")
    assert count(pf, ApprovalEvent) == 4
    # Who did what is in the audit log too.
    from planfuse.services.audit import AuditQuery, list_events

    events = list_events(pf, AuditQuery(action="approval"))["events"]
    assert [(e["action"], e["actor"]["kind"]) for e in events] == [
        ("approval.close", "app"),
        ("approval.opinion", "user"),
        ("approval.opinion", "user"),
        ("approval.open", "app"),
    ]
    assert {e["target"] for e in events} == {f"approval:{case['id']}"}
    assert events[1]["detail"] == {"dept": ENV, "opinion": "agree", "revision": 1}


def test_isolation_between_apps_and_departments(world, client, pf, other_host):
    case = world.open_case()
    url = f"{API}/{case['id']}"
    # An app the case does not name, and a user of a named app from another department,
    # get the same answer as for a case that does not exist.
    assert client.get(url, headers=basic(other_host)).status_code == 404
    assert client.get(url, headers=world.session(world.nr, "办公室")).status_code == 404
    assert client.get(url, headers=world.session(world.env, NR)).status_code == 404
    assert client.get(f"{API}/apv_nope", headers=basic(world.portal)).status_code == 404
    # Lists: each sees only its own.
    listed = client.get(API, headers=basic(other_host)).get_json()
    assert listed["cases"] == []
    assert [c["id"] for c in client.get(API, headers=basic(world.env)).get_json()["cases"]] == [
        case["id"]
    ]
    assert client.get(API, headers=world.session(world.nr, "办公室")).get_json()["cases"] == []
    # A department answers only for itself.
    r = world.opinion(case["id"], world.env, "水利局", {"opinion": "agree"})
    assert r.status_code == 403
    assert r.get_json()["type"].endswith("department_not_on_case")
    r = world.opinion(case["id"], world.env, ENV, {"opinion": "agree", "dept": NR})
    assert r.status_code == 403
    # Only the portal closes; a department cannot.
    r = client.post(f"{url}/close", json={}, headers=basic(world.nr))
    assert r.status_code == 403
    r = client.post(f"{url}/withdraw", json={"reason": "x"}, headers=world.session(world.env, ENV))
    assert r.status_code == 403
    assert count(pf, ApprovalEvent) == 1


def test_locked_case_and_department(world, client):
    first = world.open_case()
    second = world.open_case()
    locked = world.session(world.nr, NR, params={"case": first["id"]})
    assert client.get(f"{API}/{first['id']}", headers=locked).status_code == 200
    r = client.get(f"{API}/{second['id']}", headers=locked)
    assert r.status_code == 403
    assert r.get_json()["errors"][0]["field"] == "case"
    assert [c["id"] for c in client.get(API, headers=locked).get_json()["cases"]] == [first["id"]]
    r = client.post(
        API,
        json={"project": world.project_id, "departments": world.departments()},
        headers=world.session(world.portal, None, roles=["coordinator"], params={"case": "x"}),
    )
    assert r.status_code == 403
    # The portal locked to one department's view sees the case; a department user whose
    # widget is locked to another department cannot act.
    other = world.session(world.nr, NR, params={"department": ENV})
    assert world.client.get(f"{API}/{first['id']}", headers=other).status_code == 404
    r = world.client.post(f"{API}/{first['id']}/opinions", json={"opinion": "agree"}, headers=other)
    assert r.status_code == 403


def test_roles_for_opening_and_opinions(world, client, pf):
    body = {"project": world.project_id, "departments": world.departments()}
    r = client.post(API, json=body, headers=world.session(world.portal, None, roles=["viewer"]))
    assert r.status_code == 403
    assert r.get_json()["errors"][0]["field"] == "roles"
    r = client.post(
        API, json=body, headers=world.session(world.portal, None, roles=["coordinator"])
    )
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["opened_by"] == "user-1"
    r = world.opinion(case["id"], world.nr, NR, {"opinion": "agree"}, roles=["reviewer"])
    assert r.status_code == 403
    assert "approver" in r.get_json()["detail"]
    # A department's backend answers for a named user of its department.
    r = client.post(
        f"{API}/{case['id']}/opinions",
        json={"opinion": "agree", "dept": NR},
        headers=basic(world.nr),
    )
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "user"
    r = client.post(
        f"{API}/{case['id']}/opinions",
        json={"opinion": "agree", "dept": NR, "user": "li.si"},
        headers=basic(world.nr),
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["opinion"]["user"] == "li.si"
    r = client.post(
        f"{API}/{case['id']}/opinions",
        json={"opinion": "agree", "dept": ENV, "user": "li.si"},
        headers=basic(world.nr),
    )
    assert r.status_code == 403


def test_revisions_are_kept_and_the_history_is_append_only(world, client, pf):
    case = world.open_case()
    cid = case["id"]
    assert world.opinion(cid, world.env, ENV, {"opinion": "disagree"}).status_code == 400
    r = world.opinion(cid, world.env, ENV, {"opinion": "disagree", "reasons": "占用饮用水源保护区"})
    assert r.status_code == 201
    # A second disagree needs its reasons too.
    r = world.opinion(cid, world.env, ENV, {"opinion": "disagree", "reasons": "  "})
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("reasons_required")
    r = world.opinion(
        cid,
        world.env,
        ENV,
        {"opinion": "agree_with_conditions", "conditions": ["调整红线避让水源保护区"]},
    )
    assert r.status_code == 201
    assert r.get_json()["opinion"]["revision"] == 2
    opinions = client.get(f"{API}/{cid}/opinions", headers=basic(world.portal)).get_json()
    assert [(o["revision"], o["opinion"]) for o in opinions["opinions"]] == [
        (1, "disagree"),
        (2, "agree_with_conditions"),
    ]
    assert opinions["opinions"][0]["reasons"] == "占用饮用水源保护区"
    current = client.get(f"{API}/{cid}", headers=basic(world.portal)).get_json()
    env = next(d for d in current["departments"] if d["dept"] == ENV)
    assert (env["opinion"], env["revisions"], env["conditions"]) == (
        "agree_with_conditions",
        2,
        ["调整红线避让水源保护区"],
    )
    # The database itself refuses to change or delete history.
    for statement in (
        update(ApprovalEvent).values(opinion="agree"),
        text("DELETE FROM approval_events"),
    ):
        with pytest.raises(DBAPIError, match="append-only"), pf.db.session() as s:
            s.execute(statement)
    assert count(pf, ApprovalEvent) == 3


def test_the_outcome_rule(world, client):
    portal = basic(world.portal)
    # Any disagree rejects, even with a department still pending.
    case = world.open_case()
    world.opinion(case["id"], world.env, ENV, {"opinion": "disagree", "reasons": "不符合"})
    r = client.post(f"{API}/{case['id']}/close", json={}, headers=portal)
    assert r.get_json()["state"] == "closed_rejected"
    # Pending departments block closing…
    case = world.open_case()
    world.opinion(case["id"], world.env, ENV, {"opinion": "agree"})
    r = client.post(f"{API}/{case['id']}/close", json={}, headers=portal)
    assert r.status_code == 409
    assert r.get_json()["type"].endswith("opinions_pending")
    assert NR in r.get_json()["detail"]
    # …unless the portal overrides, which needs a reason.
    r = client.post(f"{API}/{case['id']}/close", json={"state": "closed_approved"}, headers=portal)
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("reason_required")
    r = client.post(
        f"{API}/{case['id']}/close",
        json={"state": "closed_approved", "reason": "超期未答复视为同意"},
        headers=portal,
    )
    assert r.status_code == 200
    assert r.get_json()["outcome"] == {
        "state": "closed_approved",
        "rule_outcome": None,
        "overridden": True,
        "reason": "超期未答复视为同意",
    }
    # A rule of the case's own: pending departments do not count.
    case = world.open_case(outcome_rule={"reject_if_any": ["disagree"], "pending": "ignore"})
    assert case["outcome_rule"] == {"reject_if_any": ["disagree"], "pending": "ignore"}
    r = client.post(f"{API}/{case['id']}/close", json={}, headers=portal)
    assert r.get_json()["state"] == "closed_approved"
    # Overriding a rejection with a reason keeps the rule's outcome beside it.
    case = world.open_case()
    world.opinion(case["id"], world.env, ENV, {"opinion": "disagree", "reasons": "不符合"})
    r = client.post(
        f"{API}/{case['id']}/close",
        json={"state": "closed_approved", "reason": "市政府专题会议决定"},
        headers=portal,
    )
    assert r.get_json()["outcome"]["rule_outcome"] == "closed_rejected"
    assert r.get_json()["outcome"]["overridden"] is True
    # Withdrawn cases take nothing more.
    case = world.open_case()
    r = client.post(f"{API}/{case['id']}/withdraw", json={}, headers=portal)
    assert r.status_code == 400
    r = client.post(f"{API}/{case['id']}/withdraw", json={"reason": "申请人撤回"}, headers=portal)
    assert r.get_json()["state"] == "withdrawn"
    assert client.post(f"{API}/{case['id']}/close", json={}, headers=portal).status_code == 409
    listed = client.get(f"{API}?state=withdrawn", headers=portal).get_json()["cases"]
    assert [c["id"] for c in listed] == [case["id"]]


def test_deadlines_in_working_days_and_overdue(world, client, pf):
    case = world.open_case(
        departments=[
            {"dept": NR, "app": world.nr.id, "days": 3},
            {"dept": ENV, "app": world.env.id},
        ],
        due=(dt.date.today() + dt.timedelta(days=60)).isoformat(),
    )
    nr, env = case["departments"]
    assert nr["days"] == 3
    assert dt.date.fromisoformat(nr["due"]) > dt.date.today()
    assert env["due"] == case["due"]
    assert case["overdue"] is False
    # A department whose deadline passed without an opinion is overdue (working days late).
    with pf.db.session() as s:
        s.execute(
            update(ApprovalDepartment)
            .where(ApprovalDepartment.case_id == case["id"], ApprovalDepartment.dept == NR)
            .values(due="2020-01-03")
        )
    got = client.get(f"{API}/{case['id']}", headers=basic(world.portal)).get_json()
    assert got["overdue"] is True
    assert got["departments"][0]["overdue"] is True
    assert got["departments"][0]["overdue_working_days"] > 1000
    assert got["departments"][1]["overdue"] is False
    overdue = client.get(f"{API}?overdue=true", headers=basic(world.portal)).get_json()
    assert [c["id"] for c in overdue["cases"]] == [case["id"]]
    # The sweep marks it once in the history (and the CLI runs the same sweep).
    marked = flag_overdue(pf)
    assert [(m["case"], m["dept"], m["portal_app"], m["app"]) for m in marked] == [
        (case["id"], NR, world.portal.id, world.nr.id)
    ]
    assert marked[0]["overdue_working_days"] > 1000
    assert flag_overdue(pf) == []
    history = client.get(f"{API}/{case['id']}/history", headers=basic(world.nr)).get_json()
    assert [(e["action"], e["dept"]) for e in history["history"]][-1] == ("overdue", NR)
    world.opinion(case["id"], world.nr, NR, {"opinion": "agree"})
    got = client.get(f"{API}/{case['id']}", headers=basic(world.portal)).get_json()
    assert got["overdue"] is False


def test_the_overdue_sweep_from_the_command_line(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from planfuse import cli as cli_module

    monkeypatch.setenv("PLANFUSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    cli_module._register()
    result = CliRunner().invoke(cli_module.cli, ["approvals", "flag-overdue"])
    assert result.exit_code == 0, result.output
    assert "0 department(s) newly overdue" in result.output


def test_the_evidence_stays_frozen_when_layers_and_conflicts_change(world, client, pf):
    case = world.open_case()
    url = f"{API}/{case['id']}/evidence"
    before = client.get(url, headers=basic(world.portal))
    # New farmland over the whole red line, and the conflict gone after a re-detection.
    store_features(
        pf,
        [ParsedFeature(geometry=storage_box(-1000, -1000, 1000, 1000), properties={}, index=0)],
        resolve_crs("EPSG:4490"),
        ImportOptions(layer_id="basic_farmland", kind="basic_farmland"),
    )
    with pf.db.session() as s:
        s.execute(update(Conflict).values(current=False))
    after = client.get(url, headers=basic(world.portal))
    assert after.data == before.data
    farmland = next(
        i for i in after.get_json()["compliance"]["items"] if i["rule"] == "basic_farmland"
    )
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
    # A case opened now judges the new data.
    fresh = world.open_case()
    evidence = client.get(f"{API}/{fresh['id']}/evidence", headers=basic(world.portal)).get_json()
    farmland = next(i for i in evidence["compliance"]["items"] if i["rule"] == "basic_farmland")
    assert farmland["overlap_area_m2"] == pytest.approx(20_000, rel=1e-4)
    assert evidence["conflicts"] == []
    assert fresh["evidence"]["sha256"] != case["evidence"]["sha256"]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"project": "prj_unknown"}, 404, None),
        ({"due": "2020-01-01"}, 400, "due"),
        ({"due": "2027-02-30"}, 400, "due"),
        ({"departments": []}, 400, "departments"),
        ({"departments": [{"dept": NR, "app": "app_nope"}]}, 400, "departments[0].app"),
        ({"departments": [{"dept": "", "app": "NR"}]}, 400, "departments[0].dept"),
        ({"departments": [{"dept": NR, "app": "NR", "days": 0}]}, 400, "departments[0].days"),
        ({"outcome_rule": {"reject_if_any": ["maybe"]}}, 400, "outcome_rule.reject_if_any"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_openings_store_nothing(world, client, pf, change, status, field):
    body = {"project": world.project_id, "departments": world.departments()}
    body |= copy.deepcopy(change)
    for d in body["departments"]:
        if d.get("app") == "NR":
            d["app"] = world.nr.id
    r = client.post(API, json=body, headers=basic(world.portal))
    assert r.status_code == status, r.get_json()
    if field:
        assert r.get_json()["errors"][0]["field"] == field
    assert count(pf, ApprovalCase) == 0
    assert count(pf, ComplianceReport) == 0


def test_duplicate_departments_and_a_project_of_another_app(world, client, pf, other_host):
    body = {"project": world.project_id, "departments": world.departments() * 2}
    r = client.post(API, json=body, headers=basic(world.portal))
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "departments[2].dept"
    body = {"project": world.project_id, "departments": world.departments()}
    assert client.post(API, json=body, headers=basic(other_host)).status_code == 404
    assert count(pf, ApprovalCase) == 0


def _upload(client, case_id, headers, name, data, **form):
    return client.post(
        f"{API}/{case_id}/attachments",
        data={"file": (io.BytesIO(data), name), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_attachments_are_checked_and_travel_with_the_opinion(world, client, pf):
    case = world.open_case()
    cid = case["id"]
    env = world.session(world.env, ENV)
    r = _upload(client, cid, env, "审查意见.pdf", PDF)
    assert r.status_code == 201, r.get_json()
    pdf = r.get_json()
    assert (pdf["kind"], pdf["size_bytes"], pdf["dept"]) == ("pdf", len(PDF), ENV)
    # Not what it says, too large, unknown kind: refused and nothing stored.
    assert _upload(client, cid, env, "现场照片.pdf", PNG).status_code == 400
    assert _upload(client, cid, env, "现场照片.png", PDF).status_code == 400
    assert _upload(client, cid, env, "红线.zip", PDF).status_code == 400
    assert _upload(client, cid, env, "意见.docx", PDF).status_code == 400
    big = _upload(client, cid, env, "大文件.pdf", PDF[:-7] + b" " * 5000 + b"%%EOF\n")
    assert big.status_code == 413
    assert count(pf, ApprovalAttachment) == 1
    png = _upload(client, cid, env, "现场照片.png", PNG).get_json()
    # Another department cannot attach for ENV nor use ENV's files.
    nr = world.session(world.nr, NR)
    r = client.post(
        f"{API}/{cid}/opinions", json={"opinion": "agree", "attachments": [pdf["id"]]}, headers=nr
    )
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "attachments"
    r = client.post(
        f"{API}/{cid}/opinions",
        json={"opinion": "disagree", "reasons": "见附件", "attachments": [pdf["id"], png["id"]]},
        headers=env,
    )
    assert r.status_code == 201, r.get_json()
    assert [a["id"] for a in r.get_json()["opinion"]["attachments"]] == [pdf["id"], png["id"]]
    # The portal downloads it; an app not on the case cannot.
    got = client.get(f"{API}/{cid}/attachments/{pdf['id']}", headers=basic(world.portal))
    assert got.status_code == 200
    assert got.data == PDF
    assert got.mimetype == "application/pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in got.headers["Content-Disposition"]
    assert client.get(f"{API}/{cid}/attachments/att_x", headers=nr).status_code == 404
    # The database refuses to change a stored file.
    with pytest.raises(DBAPIError, match="append-only"), pf.db.session() as s:
        s.execute(update(ApprovalAttachment).values(filename="x.pdf"))


def test_a_zipped_shapefile_attachment(world, client, pf, tmp_path):
    from layer_files import write_zipped_shapefile

    case = world.open_case()
    env = world.session(world.env, ENV)
    geom = storage_box(0, 0, 50, 50)
    path = write_zipped_shapefile(tmp_path / "a.zip", [geom], [{"name": "a"}])
    r = _upload(client, case["id"], env, "调整方案.zip", path.read_bytes())
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["kind"] == "shapefile_zip"
    # Without its .prj the coordinates mean nothing: refused.
    bare = write_zipped_shapefile(tmp_path / "b.zip", [geom], [{"name": "a"}], crs=None)
    r = _upload(client, case["id"], env, "无坐标系.zip", bare.read_bytes())
    assert r.status_code == 400
    assert r.get_json()["type"].endswith("crs_required")
    assert count(pf, ApprovalAttachment) == 1


def test_the_signed_summary_and_its_workbook(world, client):
    import json

    from joserfc import jws
    from joserfc.jwk import KeySet
    from openpyxl import load_workbook

    case = world.open_case()
    cid = case["id"]
    world.opinion(cid, world.nr, NR, {"opinion": "agree_with_conditions", "conditions": ["=1+1"]})
    world.opinion(cid, world.env, ENV, {"opinion": "disagree", "reasons": "占用水源保护区"})
    client.post(f"{API}/{cid}/close", json={}, headers=basic(world.portal))
    r = client.get(f"{API}/{cid}/summary", headers=world.session(world.env, ENV))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["summary"]["state"] == "closed_rejected"
    assert [d["opinion"] for d in body["summary"]["departments"]] == [
        "agree_with_conditions",
        "disagree",
    ]
    keys = KeySet.import_key_set(client.get("/api/v1/compliance/jwks.json").get_json())
    verified = jws.deserialize_compact(body["signature"]["jws"], keys, algorithms=["ES256"])
    claims = json.loads(verified.payload)
    assert verified.protected["typ"] == "planfuse-approval+jwt"
    assert claims["approval"] == body["summary"]
    assert claims["sub"] == cid and claims["aud"] == world.env.id
    assert claims["approval"]["evidence"]["sha256"] == case["evidence"]["sha256"]
    # The workbook, in English: the case, each department's opinion, the history.
    r = client.get(f"{API}/{cid}/summary.xlsx?locale=en", headers=basic(world.portal))
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith("attachment")
    wb = load_workbook(io.BytesIO(r.data))
    sheet = wb["Joint opinion"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["State", "Closed: rejected"] in [row[:2] for row in values]
    header = values.index(next(row for row in values if row[0] == "No."))
    rows = values[header + 1 :]
    assert [(row[1], row[4]) for row in rows] == [
        (NR, "Agree with conditions"),
        (ENV, "Disagree"),
    ]
    assert rows[0][6] == "1. =1+1"  # numbered, so never a formula
    assert rows[1][7] == "占用水源保护区"
    history = [[c.value for c in row] for row in wb["History"].iter_rows(min_row=2)]
    assert [row[1] for row in history] == ["opened", "opinion", "opinion", "closed"]
    # Another app sees neither.
    assert (
        client.get(f"{API}/{cid}/summary", headers=world.session(world.nr, "办公室")).status_code
        == 404
    )


def test_department_records_join_ids_and_names(world, client):
    # The case asks by the records' ids; tokens carry the Chinese names (or the ids).
    departments = [
        {"dept": "natural_resources", "app": world.nr.id},
        {"dept": "ecology_environment", "app": world.env.id},
    ]
    case = world.open_case(departments=departments)
    env = case["departments"][1]
    assert env["department"] == {
        "id": "ecology_environment",
        "name": {"zh-CN": "生态环境局", "en": "Ecology and Environment Bureau"},
    }
    r = world.opinion(case["id"], world.env, ENV, {"opinion": "agree"})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["opinion"]["dept"] == "ecology_environment"
    r = world.opinion(case["id"], world.nr, "natural_resources", {"opinion": "agree"})
    assert r.status_code == 201
    listed = client.get(API, headers=world.session(world.env, ENV)).get_json()["cases"]
    assert [c["id"] for c in listed] == [case["id"]]
    by_name = client.get(f"{API}?dept=生态环境局", headers=basic(world.portal)).get_json()
    assert [c["id"] for c in by_name["cases"]] == [case["id"]]
    # One department named twice, once by id and once by name: refused.
    twice = [{"dept": "生态环境局", "app": world.env.id}, departments[1]]
    r = world.open(departments=twice)
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "departments[1].dept"


def test_a_case_for_a_reserve_project_freezes_its_pre_study(world, client, pf):
    from reserve_support import BODY

    from planfuse.services.reserve.projects import Scope, create_project
    from planfuse.services.reserve.studies import Who, run_pre_study

    scope = Scope(app_id=world.portal.id)
    body = {**BODY, "geometry": project_geometry(), "crs": "EPSG:4490", "land_use": "0701"}
    reserve = create_project(pf, scope, "planner-1", body)
    study = run_pre_study(pf, scope, reserve["id"], Who(app_id=world.portal.id))
    r = world.open(project=reserve["id"], project_kind="reserve")
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["project"] == {"id": str(reserve["id"]), "kind": "reserve", "name": BODY["name"]}
    evidence = client.get(f"{API}/{case['id']}/evidence", headers=basic(world.portal)).get_json()
    assert evidence["pre_study"]["outcome"] == study["outcome"]
    assert evidence["project"]["kind"] == "reserve"
    farmland = next(i for i in evidence["compliance"]["items"] if i["rule"] == "basic_farmland")
    assert farmland["overlap_area_m2"] == pytest.approx(10_000, rel=1e-4)
    # Another app's reserve project, an unknown one, one without a red line: refused.
    assert world.open(project=reserve["id"] + 1000, project_kind="reserve").status_code == 404
    bare = create_project(pf, scope, "planner-1", {**BODY, "name": "无红线项目"})
    r = world.open(project=bare["id"], project_kind="reserve")
    assert r.status_code == 400 and r.get_json()["type"].endswith("no_red_line")
    assert world.open(project="x", project_kind="reserve").status_code == 400
    assert world.open(project_kind="planned").status_code == 400


def project_geometry():
    from approval_world import RED_LINE
    from compliance_world import project

    return project(*RED_LINE)


def test_deadlines_skip_the_holidays_of_the_calendar(world, client, monkeypatch):
    from planfuse.services.approval import cases

    # Opened on Thursday 4 February 2027 at 10:00 in Chongqing (02:00 UTC).
    opened = dt.datetime(2027, 2, 4, 2, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(cases, "utcnow", lambda: opened)
    case = world.open_case(
        departments=[
            {"dept": NR, "app": world.nr.id, "days": 1},
            {"dept": ENV, "app": world.env.id, "days": 7},
        ],
        due="2027-03-31",
    )
    nr, env = case["departments"]
    # The festival week does not count: 1 working day → Friday 12 February; 7 → 12, 15–19,
    # then the make-up Saturday 20 February.
    assert (nr["due"], env["due"]) == ("2027-02-12", "2027-02-20")
    # Without a due date: approval_default_days (10) working days → 12, 15–20, 22–24.
    case = world.open_case(departments=[{"dept": NR, "app": world.nr.id}])
    assert case["due"] == "2027-02-24"
    assert case["departments"][0]["due"] == "2027-02-24"
    # "Today" there is 2027-02-04: a due date before it is in the past.
    r = world.open(due="2027-02-03")
    assert r.status_code == 400 and r.get_json()["type"].endswith("due_in_past")


def test_case_events_reach_the_subscribed_systems_signed(world, client, pf):
    import json

    from webhook_receiver import signature_ok, webhook_receiver

    from planfuse.services.webhooks.delivery import dispatcher
    from planfuse.services.webhooks.subscriptions import create_subscription

    with webhook_receiver() as receiver:
        portal = create_subscription(
            pf, world.portal.id, receiver.url + "/portal", ["approval.opinion", "approval.overdue"]
        )
        nr = create_subscription(
            pf, world.nr.id, receiver.url + "/nr", ["approval.opened", "approval.closed"]
        )
        case = world.open_case()
        cid = case["id"]
        with pf.db.session() as s:
            s.execute(
                update(ApprovalDepartment)
                .where(ApprovalDepartment.case_id == cid, ApprovalDepartment.dept == ENV)
                .values(due="2020-01-03")
            )
        assert len(flag_overdue(pf)) == 1
        world.opinion(cid, world.nr, NR, {"opinion": "agree"})
        world.opinion(cid, world.env, ENV, {"opinion": "disagree", "reasons": "超期后补充：不同意"})
        client.post(f"{API}/{cid}/close", json={}, headers=basic(world.portal))
        received = receiver.wait_for(5)
        dispatcher(pf).close()
    by_path: dict[str, list] = {}
    for message in received:
        by_path.setdefault("/" + message.path.rsplit("/", 1)[-1], []).append(message)
    secrets = {"/portal": portal["secret"], "/nr": nr["secret"]}
    for path, messages in by_path.items():
        assert all(signature_ok(secrets[path], m) for m in messages), path
    portal_events = sorted(
        (json.loads(m.body) for m in by_path["/portal"]), key=lambda e: e["timestamp"]
    )
    assert sorted(e["type"] for e in portal_events) == [
        "approval.opinion",
        "approval.opinion",
        "approval.overdue",
    ]
    overdue = next(e["data"] for e in portal_events if e["type"] == "approval.overdue")
    assert (overdue["case"], overdue["dept"], overdue["due"]) == (cid, ENV, "2020-01-03")
    assert overdue["url"] == f"/api/v1/approvals/{cid}"
    opinions = [e["data"] for e in portal_events if e["type"] == "approval.opinion"]
    assert {(o["dept"], o["opinion"], o["revision"]) for o in opinions} == {
        (NR, "agree", 1),
        (ENV, "disagree", 1),
    }
    nr_events = {json.loads(m.body)["type"]: json.loads(m.body)["data"] for m in by_path["/nr"]}
    assert set(nr_events) == {"approval.opened", "approval.closed"}
    assert [d["dept"] for d in nr_events["approval.opened"]["departments"]] == [NR, ENV]
    assert nr_events["approval.closed"]["state"] == "closed_rejected"
    assert nr_events["approval.closed"]["outcome"]["rule_outcome"] == "closed_rejected"
