"""Department administrators (发布部门管理员), on SQLite and PostgreSQL: an admin token made
for a department manages that department's services only — start and stop, grants and
limits, configuration, usage, its remote services and its published chains — and nothing
of the platform (apps, layers, audit log, departments). The console's twins of these
routes are tested in test_department_console.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from planfuse.errors import InvalidInput
from planfuse.services.admin_tokens import create_admin_token

ECO = "ecology_environment"
REMOTE = {
    "id": "eco_parcels",
    "name": {"zh-CN": "生态环境局用地图斑", "en": "Ecology bureau parcels"},
    "dept": ECO,
    "kind": "ogc_features",
    "base_url": "http://127.0.0.1:9/ogc/collections/parcels",
}
CHAIN = {
    "id": "eco_touching",
    "name": {"zh-CN": "压占冲突数", "en": "Conflicts touched"},
    "description": {
        "zh-CN": "红线压占的冲突图斑数。",
        "en": "Conflict patches a red line touches.",
    },
    "dept": ECO,
    "version": 1,
    "inputs": {"type": "object", "properties": {"geometry": {}, "crs": {"type": "string"}}},
    "steps": [
        {
            "id": "touching",
            "service": "conflicts_touching",
            "args": {"geometry": "inputs.geometry", "crs": "inputs.crs"},
        }
    ],
    "outputs": {"count": "steps.touching.count"},
}


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": 0, "remote_services_allow_private": True}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def eco(ctx) -> dict[str, str]:
    return bearer(create_admin_token(ctx, "生态环境局管理员", dept=ECO)[1])


def code(response) -> str:
    return response.get_json()["type"].rsplit("/", 1)[-1]


def test_a_department_admin_manages_its_own_services(client, eco):
    r = client.post("/api/v1/admin/remote-services", json=REMOTE, headers=eco)
    assert r.status_code == 201, r.get_json()
    base = "/api/v1/admin/services/eco_parcels"
    assert client.post(f"{base}/stop", json={"reason": "数据更新"}, headers=eco).status_code == 200
    assert client.post(f"{base}/start", headers=eco).status_code == 200
    assert client.get(f"{base}/grants", headers=eco).status_code == 200
    assert client.get(f"{base}/config", headers=eco).status_code == 200
    assert client.get(f"{base}/usage", headers=eco).status_code == 200
    r = client.post("/api/v1/admin/chains", json=CHAIN, headers=eco)
    assert r.status_code == 201 and r.get_json()["version"] == 1
    again = client.post(
        "/api/v1/admin/chains", json=CHAIN | {"outputs": {"n": "steps.touching.count"}}, headers=eco
    )
    assert again.status_code == 201 and again.get_json()["version"] == 2
    assert (
        client.post("/api/v1/admin/remote-services/eco_parcels/check", headers=eco).status_code
        == 200
    )
    assert (
        client.delete("/api/v1/admin/remote-services/eco_parcels", headers=eco).status_code == 204
    )


def test_another_departments_services_are_refused(client, admin_token, eco):
    # 辅助选址 is published by 规划和自然资源局 (natural_resources).
    for method, path in (
        ("post", "/api/v1/admin/services/siting_basic/stop"),
        ("post", "/api/v1/admin/services/siting_basic/start"),
        ("get", "/api/v1/admin/services/siting_basic/grants"),
        ("put", "/api/v1/admin/services/siting_basic/grants/app_x"),
        ("get", "/api/v1/admin/services/siting_advanced/config"),
        ("put", "/api/v1/admin/services/siting_advanced/config"),
        ("get", "/api/v1/admin/services/siting_advanced/config/history"),
        ("get", "/api/v1/admin/services/siting_basic/usage"),
    ):
        r = getattr(client, method)(path, json={}, headers=eco)
        assert r.status_code == 403 and code(r) == "not_your_department", (path, r.get_json())
        assert "ecology_environment" in r.get_json()["detail"]
    # Nothing was stopped.
    assert (
        client.get("/api/v1/catalogue/siting_basic", headers=bearer(admin_token)).get_json()[
            "status"
        ]
        != "stopped"
    )
    # A remote service or a chain under another department.
    r = client.post(
        "/api/v1/admin/remote-services", json=REMOTE | {"dept": "natural_resources"}, headers=eco
    )
    assert r.status_code == 403 and code(r) == "not_your_department"
    r = client.post("/api/v1/admin/chains", json=CHAIN | {"dept": "natural_resources"}, headers=eco)
    assert r.status_code == 403 and code(r) == "not_your_department"
    # Another department's registered service: not readable, changeable nor removable.
    nr = REMOTE | {"id": "nr_parcels", "dept": "natural_resources"}
    assert (
        client.post(
            "/api/v1/admin/remote-services", json=nr, headers=bearer(admin_token)
        ).status_code
        == 201
    )
    for method in ("get", "patch", "delete"):
        r = getattr(client, method)(
            "/api/v1/admin/remote-services/nr_parcels", json={}, headers=eco
        )
        assert r.status_code == 403, method
    r = client.patch("/api/v1/admin/remote-services/nr_parcels", json={"dept": ECO}, headers=eco)
    assert r.status_code == 403
    listed = client.get("/api/v1/admin/remote-services", headers=eco).get_json()
    assert [s["id"] for s in listed["services"]] == []
    everything = client.get("/api/v1/admin/remote-services", headers=bearer(admin_token)).get_json()
    assert [s["id"] for s in everything["services"]] == ["nr_parcels"]


def test_the_platform_is_for_platform_administrators(client, admin_token, eco):
    for method, path in (
        ("get", "/api/v1/admin/audit"),
        ("get", "/api/v1/admin/apps"),
        ("put", "/api/v1/admin/departments/moon_office"),
    ):
        r = getattr(client, method)(path, json={"name": {"zh-CN": "月", "en": "Moon"}}, headers=eco)
        assert r.status_code == 403 and code(r) == "platform_admin_required", path
    # The platform administrator's token is unchanged.
    assert client.get("/api/v1/admin/audit", headers=bearer(admin_token)).status_code == 200


def test_the_token_names_a_real_department(ctx):
    with pytest.raises(InvalidInput) as refused:
        create_admin_token(ctx, "x", dept="moon_office")
    assert refused.value.errors[0]["field"] == "dept"
    assert "ecology_environment" in refused.value.message
    from planfuse import cli as cli_module
    from planfuse.cli import cli

    cli_module._register()
    env = {"PLANFUSE_DATABASE_URL": ctx.settings.database_url, "PLANFUSE_SECRET_KEY": "k" * 40}
    refused = CliRunner().invoke(
        cli, ["admin", "create-token", "eco", "--dept", "moon_office"], env=env
    )
    assert refused.exit_code != 0 and "moon_office" in refused.output
    made = CliRunner().invoke(
        cli, ["admin", "create-token", "eco", "--dept", ECO, "--json"], env=env
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["dept"] == ECO
