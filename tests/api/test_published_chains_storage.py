"""Publishing chains on SQLite and PostgreSQL: versions are append-only ((id, version)
unique, each document kept), an unchanged document publishes nothing, and a chain that
cannot run is refused at publish time naming its step and field — a cycle, a call of
itself, an unknown or stopped service, a field no step answers — as are a shipped id and an
unknown department."""

from __future__ import annotations

import copy

import pytest

DOCUMENT = {
    "id": "touching_count",
    "name": {"zh-CN": "压占冲突数", "en": "Conflicts touched"},
    "description": {
        "zh-CN": "红线压占的冲突图斑数。",
        "en": "Conflict patches a red line touches.",
    },
    "dept": "natural_resources",
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
PUBLISH = "/api/v1/admin/chains"


@pytest.fixture
def settings_overrides():
    return {"service_state_cache_s": 0, "remote_services_allow_private": True}


@pytest.fixture
def headers(admin_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


def changed(**outputs) -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["outputs"] = {**DOCUMENT["outputs"], **outputs}
    return document


def calling(chain_id: str, callee: str) -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["id"] = chain_id
    document["steps"] = [{"id": "inner", "service": callee, "args": {"inputs": "inputs"}}]
    document["outputs"] = {"inner": "steps.inner.outputs"}
    return document


def test_versions_are_appended_and_each_document_kept(client, headers):
    r = client.post(PUBLISH, json=DOCUMENT | {"version": 7}, headers=headers)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["version"] == 1 and first["document"]["version"] == 1  # assigned, not taken
    assert first["published_by"].startswith("admin:")
    # The same document again: nothing new.
    r = client.post(PUBLISH, json=DOCUMENT, headers=headers)
    assert r.status_code == 200 and r.get_json()["created"] is False
    assert r.get_json()["version"] == 1
    r = client.post(
        PUBLISH, json=changed(overlap="steps.touching.overlap_area_m2"), headers=headers
    )
    assert r.status_code == 201 and r.get_json()["version"] == 2

    versions = client.get(f"{PUBLISH}/touching_count", headers=headers).get_json()
    assert versions["latest_version"] == 2
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert set(versions["document"]["outputs"]) == {"count", "overlap"}
    one = client.get(f"{PUBLISH}/touching_count/versions/1", headers=headers).get_json()
    assert one["document"]["outputs"] == DOCUMENT["outputs"]
    listed = client.get(PUBLISH, headers=headers).get_json()
    assert listed["chains"] == [
        {
            "id": "touching_count",
            "name": DOCUMENT["name"],
            "dept": "natural_resources",
            "latest_version": 2,
            "versions": 2,
        }
    ]
    catalogue = client.get("/api/v1/catalogue?kind=function", headers=headers).get_json()
    entry = next(s for s in catalogue["services"] if s["id"] == "touching_count")
    assert entry["version"] == "2"
    assert client.get(f"{PUBLISH}/touching_count/versions/3", headers=headers).status_code == 404
    assert client.get(f"{PUBLISH}/nothing_here", headers=headers).status_code == 404
    # Only an administrator publishes.
    assert client.post(PUBLISH, json=DOCUMENT).status_code == 401


def problems(response) -> list[dict]:
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["type"].endswith("/invalid_chain")
    return response.get_json()["errors"]


def test_a_chain_that_cannot_run_is_refused_at_publish_time(client, headers):
    # A field the step's service does not answer.
    errors = problems(
        client.post(PUBLISH, json=changed(n="steps.touching.countz"), headers=headers)
    )
    assert errors[0]["field"] == "outputs.n"
    assert "answers no field 'countz'" in errors[0]["message"]
    # An argument the service does not take.
    document = copy.deepcopy(DOCUMENT)
    document["steps"][0]["args"]["colour"] = "inputs.crs"
    errors = problems(client.post(PUBLISH, json=document, headers=headers))
    assert (errors[0]["step"], errors[0]["field"]) == ("touching", "args.colour")
    # An unknown service, and one that is stopped.
    document = copy.deepcopy(DOCUMENT)
    document["steps"][0]["service"] = "no_such_service"
    errors = problems(client.post(PUBLISH, json=document, headers=headers))
    assert (errors[0]["step"], errors[0]["field"]) == ("touching", "service")
    client.post("/api/v1/admin/services/conflicts_touching/stop", json={}, headers=headers)
    errors = problems(client.post(PUBLISH, json=DOCUMENT, headers=headers))
    assert errors[0] == {
        "step": "touching",
        "field": "service",
        "message": "service 'conflicts_touching' is stopped",
    }
    client.post("/api/v1/admin/services/conflicts_touching/start", headers=headers)
    # A chain calling itself.
    errors = problems(client.post(PUBLISH, json=calling("loop_a", "loop_a"), headers=headers))
    assert {"step": "inner", "field": "service", "message": "the chain calls itself"} in errors
    # A cycle through another published chain: a → touching_count, b → a, then a → b.
    assert client.post(PUBLISH, json=DOCUMENT, headers=headers).status_code == 201
    assert (
        client.post(PUBLISH, json=calling("loop_a", "touching_count"), headers=headers).status_code
        == 201
    )
    assert (
        client.post(PUBLISH, json=calling("loop_b", "loop_a"), headers=headers).status_code == 201
    )
    errors = problems(client.post(PUBLISH, json=calling("loop_a", "loop_b"), headers=headers))
    assert errors[0]["step"] == "inner" and "(a cycle)" in errors[0]["message"]
    # Nothing of the refused documents was kept.
    versions = client.get(f"{PUBLISH}/loop_a", headers=headers).get_json()
    assert [v["version"] for v in versions["versions"]] == [1]


def test_shipped_ids_and_unknown_departments_are_refused(client, headers):
    r = client.post(PUBLISH, json=DOCUMENT | {"id": "siting_compliance"}, headers=headers)
    assert r.status_code == 409 and r.get_json()["type"].endswith("/service_id_taken")
    r = client.post(PUBLISH, json=DOCUMENT | {"id": "siting_basic"}, headers=headers)
    assert r.status_code == 409
    r = client.post(PUBLISH, json=DOCUMENT | {"dept": "moon_office"}, headers=headers)
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "dept"
    r = client.post(PUBLISH, json=["not", "a", "document"], headers=headers)
    assert r.status_code == 400
    r = client.post(PUBLISH, json={"id": "x_y"}, headers=headers)
    assert r.status_code == 400 and r.get_json()["type"].endswith("/invalid_chain")


def test_a_registered_departments_service_id_is_refused(client, headers):
    body = {
        "id": "eco_parcels",
        "name": {"zh-CN": "生态环境局用地图斑", "en": "Ecology bureau parcels"},
        "dept": "ecology_environment",
        "kind": "ogc_features",
        "base_url": "http://127.0.0.1:9/ogc/collections/parcels",
    }
    r = client.post("/api/v1/admin/remote-services", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    r = client.post(PUBLISH, json=DOCUMENT | {"id": "eco_parcels"}, headers=headers)
    assert r.status_code == 409 and r.get_json()["type"].endswith("/service_id_taken")
    assert "Ecology bureau parcels" in r.get_json()["detail"]
    assert client.get(f"{PUBLISH}/eco_parcels", headers=headers).status_code == 404
