"""Undoing a wrong import: an earlier layer version made current again through the API, the
admin console and `planfuse layers rollback`, on SQLite and PostgreSQL. Reports made while
the wrong version was current keep naming it and keep verifying; the next check reads the
version made current; no version is deleted and no number reused."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from compliance_world import LAYERS, build_world, project, storage_box
from embed_support import basic
from joserfc import jws
from joserfc.jwk import KeySet
from sqlalchemy import select

from planfuse.geo.crs import resolve_crs
from planfuse.geo.parse import ParsedFeature
from planfuse.services.layers.importer import ImportOptions, store_features
from planfuse.storage.models import AuditEvent, ComplianceReport, Layer, LayerVersion

CHECK = "/api/v1/compliance/check"
BODY = {"land_use": "0701", "project_type": "urban", "crs": "EPSG:4490"}
#: The red line x −100..100, y 50..150 m: 10,000 m² on farmland v1 (x 0..200, y 0..200).
RED_LINE = (-100, 50, 100, 150)


@pytest.fixture
def client(embed_client):
    return embed_client


@pytest.fixture
def world(pf):
    return build_world(pf)


def wrong_farmland_import(pf) -> int:
    """Farmland re-imported 5 km away (a file in the wrong CRS zone, say): version 2."""
    _, entries = LAYERS["basic_farmland"]
    features = [
        ParsedFeature(geometry=storage_box(x0 + 5000, y0, x1 + 5000, y1), properties={}, index=i)
        for i, ((x0, y0, x1, y1), _) in enumerate(entries)
    ]
    summary = store_features(
        pf,
        features,
        resolve_crs("EPSG:4490"),
        ImportOptions(layer_id="basic_farmland", kind="basic_farmland", created_by="admin:wrong"),
    )
    return summary.version


def check(client, host) -> dict:
    r = client.post(CHECK, json={**BODY, "geometry": project(*RED_LINE)}, headers=basic(host))
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def farmland(report: dict) -> float:
    return next(i for i in report["items"] if i["rule"] == "basic_farmland")["overlap_area_m2"]


def admin(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def rollbacks(pf) -> list[tuple]:
    """The audit log's `layer.rollback` events: (actor kind, target, detail)."""
    with pf.db.session() as s:
        rows = s.execute(
            select(AuditEvent.actor_kind, AuditEvent.target, AuditEvent.detail)
            .where(AuditEvent.action == "layer.rollback")
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(r) for r in rows]


def test_rollback_restores_the_answer_and_reports_keep_their_version(
    client, pf, host, world, admin_token
):
    before = check(client, host)
    assert before["data_versions"]["basic_farmland"] == 1
    assert farmland(before) == pytest.approx(10_000, rel=1e-4)

    assert wrong_farmland_import(pf) == 2
    wrong = check(client, host)
    assert wrong["data_versions"]["basic_farmland"] == 2
    assert farmland(wrong) == 0

    r = client.put(
        "/api/v1/layers/basic_farmland/current", json={"version": 1}, headers=admin(admin_token)
    )
    assert r.status_code == 200, r.get_json()
    change = r.get_json()
    assert change["previous_version"] == 2 and change["current_version"] == 1
    assert change["changed"] is True
    assert change["layer"]["version"] == 1 and change["layer"]["feature_count"] == 3

    # Recorded in the audit log: who, which layer, from which version to which.
    assert rollbacks(pf) == [
        ("admin", "layer:basic_farmland", {"version": 1, "previous_version": 2})
    ]

    after = check(client, host)
    assert after["data_versions"]["basic_farmland"] == 1
    assert farmland(after) == pytest.approx(farmland(before), abs=0.005)

    # The report made on the wrong version still names it, unchanged, and still verifies.
    stored = client.get(f"/api/v1/compliance/reports/{wrong['id']}", headers=basic(host))
    assert stored.get_json() == wrong
    keys = KeySet.import_key_set(client.get("/api/v1/compliance/jwks.json").get_json())
    claims = json.loads(
        jws.deserialize_compact(wrong["signature"]["jws"], keys, algorithms=["ES256"]).payload
    )
    assert claims["report"]["data_versions"]["basic_farmland"] == 2
    with pf.db.session() as s:
        rows = dict(s.execute(select(ComplianceReport.id, ComplianceReport.data_versions)).all())
    assert rows[wrong["id"]]["basic_farmland"] == 2
    assert rows[after["id"]]["basic_farmland"] == 1

    # Nothing deleted; the catalogue shows version 1 current with both versions listed.
    detail = client.get("/api/v1/layers/basic_farmland").get_json()
    assert detail["version"] == 1
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    # The next import takes the next number after the newest, never a reused one.
    assert wrong_farmland_import(pf) == 3


def test_rolling_forward_again_and_the_same_version_twice(client, pf, world, admin_token):
    wrong_farmland_import(pf)
    url = "/api/v1/layers/basic_farmland/current"
    assert client.put(url, json={"version": 1}, headers=admin(admin_token)).status_code == 200
    same = client.put(url, json={"version": 1}, headers=admin(admin_token))
    assert same.status_code == 200
    assert same.get_json()["changed"] is False and same.get_json()["previous_version"] == 1
    forward = client.put(url, json={"version": 2}, headers=admin(admin_token))
    assert forward.get_json()["current_version"] == 2
    # A change that changed nothing is not an event.
    assert [d["version"] for _, _, d in rollbacks(pf)] == [1, 2]
    with pf.db.session() as s:
        assert s.get(Layer, "basic_farmland").current_version == 2


@pytest.mark.parametrize(
    ("layer", "body", "status", "field"),
    [
        ("basic_farmland", {"version": 7}, 404, None),
        ("no_such_layer", {"version": 1}, 404, None),
        ("basic_farmland", {"version": 0}, 400, "version"),
        ("basic_farmland", {"version": -1}, 400, "version"),
        ("basic_farmland", {"version": True}, 400, "version"),
        ("basic_farmland", {"version": 1.5}, 400, "version"),
        ("basic_farmland", {"version": "one"}, 400, "version"),
        ("basic_farmland", {"version": 2**40}, 400, "version"),
        ("basic_farmland", '{"version": 100000000000000000000000000000}', 400, "version"),
        ("basic_farmland", {}, 400, "version"),
    ],
)
def test_bad_requests_are_problems_and_change_nothing(
    client, pf, world, admin_token, layer, body, status, field
):
    url = f"/api/v1/layers/{layer}/current"
    if isinstance(body, str):  # a number no JSON encoder here would write
        r = client.put(url, data=body, content_type="application/json", headers=admin(admin_token))
    else:
        r = client.put(url, json=body, headers=admin(admin_token))
    assert r.status_code == status, r.get_json()
    problem = r.get_json()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    if field:
        assert problem["errors"][0]["field"] == field
    else:
        assert "basic_farmland v7" in problem["detail"] or layer in problem["detail"]
    with pf.db.session() as s:
        assert s.get(Layer, "basic_farmland").current_version == 1


def test_only_admins_may_roll_back(client, pf, host, world):
    wrong_farmland_import(pf)
    url = "/api/v1/layers/basic_farmland/current"
    assert client.put(url, json={"version": 1}).status_code == 401
    assert client.put(url, json={"version": 1}, headers=basic(host)).status_code in (401, 403)
    with pf.db.session() as s:
        assert s.get(Layer, "basic_farmland").current_version == 2


# --- the admin console -------------------------------------------------------------------


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def _versions_config(html: bytes) -> dict:
    match = re.search(rb'<script type="application/json" id="versions-config">(.*?)</script>', html)
    return json.loads(match.group(1))


def test_console_makes_a_version_current_with_its_csrf_token(client, pf, world, admin_token):
    wrong_farmland_import(pf)
    login = client.get("/admin/login")
    signed = client.post(
        "/admin/login", data={"token": admin_token, "csrf_token": _csrf(login.data)}
    )
    assert signed.status_code == 302
    page = client.get("/admin/layers/basic_farmland/versions")
    assert page.status_code == 200
    html = page.data.decode()
    # One "make current" button per version, the current one's hidden.
    assert re.search(r'data-make-current="1"\s', html)
    assert re.search(r'data-make-current="2"[^>]*\bhidden\b', html, flags=re.S)
    config = _versions_config(page.data)
    assert config["current_version"] == 2
    url = config["current_url"]
    assert url == "/admin/layers/basic_farmland/current"

    refused = client.post(url, json={"version": 1})
    assert refused.status_code == 403
    r = client.post(url, json={"version": 1}, headers={"X-CSRF-Token": config["csrf_token"]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["current_version"] == 1
    assert [kind for kind, _, _ in rollbacks(pf)] == ["admin"]
    again = client.get("/admin/layers/basic_farmland/versions").data.decode()
    assert re.search(r'data-make-current="1"[^>]*\bhidden\b', again, flags=re.S)
    assert (
        client.post(
            url, json={"version": 9}, headers={"X-CSRF-Token": config["csrf_token"]}
        ).status_code
        == 404
    )


# --- the command line --------------------------------------------------------------------


def test_cli_rollback(pf, world, monkeypatch):
    from planfuse import cli as cli_module

    wrong_farmland_import(pf)
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", pf.settings.database_url)
    monkeypatch.setenv("PLANFUSE_SECRET_KEY", pf.settings.secret_key)
    cli_module._register()
    runner = CliRunner()
    result = runner.invoke(cli_module.cli, ["layers", "rollback", "basic_farmland", "1"])
    assert result.exit_code == 0, result.output
    assert "version 1 is current again (was version 2" in result.output
    again = runner.invoke(cli_module.cli, ["layers", "rollback", "basic_farmland", "1", "--json"])
    assert json.loads(again.output)["changed"] is False
    missing = runner.invoke(cli_module.cli, ["layers", "rollback", "basic_farmland", "5"])
    assert missing.exit_code == 2
    assert "basic_farmland v5" in missing.output
    with pf.db.session() as s:
        assert s.get(Layer, "basic_farmland").current_version == 1
        versions = s.scalars(
            select(LayerVersion.version).where(LayerVersion.layer_id == "basic_farmland")
        ).all()
    assert sorted(versions) == [1, 2]
    assert rollbacks(pf) == [("cli", "layer:basic_farmland", {"version": 1, "previous_version": 2})]
