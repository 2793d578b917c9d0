"""Published chains on the demo dataset: publishing versions of a chain, running the
latest or a pinned version end to end (the same answer as the service called directly),
the run recording its version, the catalogue and the OpenAPI document showing its inputs
schema, grants and stops applying to it like any service, and a draft's test run."""

from __future__ import annotations

import copy

import pytest
from embed_support import basic

RED_LINE_SCENARIO = "a_farmland_overlap"

DOCUMENT = {
    "id": "red_line_conflicts",
    "name": {"zh-CN": "红线冲突查询", "en": "Conflicts of a red line"},
    "description": {
        "zh-CN": "查出项目红线压占的冲突图斑数量。",
        "en": "How many conflict patches a project red line touches.",
    },
    "dept": "natural_resources",
    "version": 1,
    "inputs": {
        "type": "object",
        "required": ["geometry"],
        "additionalProperties": False,
        "properties": {"geometry": {}, "crs": {"type": "string"}},
    },
    "steps": [
        {
            "id": "touching",
            "service": "conflicts_touching",
            "args": {"geometry": "inputs.geometry", "crs": "inputs.crs"},
        }
    ],
    "outputs": {"count": "steps.touching.count"},
}


def version_2() -> dict:
    document = copy.deepcopy(DOCUMENT)
    document["outputs"] = {
        "count": "steps.touching.count",
        "overlap_m2": "steps.touching.overlap_area_m2",
        "area_m2": "steps.touching.area_m2",
    }
    return document


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def settings_overrides():
    return {"service_metrics_flush_s": 3600, "service_state_cache_s": 0}


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def red_line(demo_scenarios) -> dict:
    scenario = next(s for s in demo_scenarios["scenarios"] if s["name"] == RED_LINE_SCENARIO)
    return {"geometry": scenario["input"]["geometry"], "crs": scenario["input"]["crs"]}


def test_a_published_chain_runs_pinned_or_latest_like_its_service(
    embed_client, host, admin_token, red_line
):
    r = embed_client.post("/api/v1/admin/chains", json=DOCUMENT, headers=admin(admin_token))
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["version"], r.get_json()["created"]) == (1, True)
    r = embed_client.post("/api/v1/admin/chains", json=version_2(), headers=admin(admin_token))
    assert r.status_code == 201 and r.get_json()["version"] == 2

    direct = embed_client.post(
        "/api/v1/conflicts/touching", json=red_line, headers=basic(host)
    ).get_json()
    assert direct["area_m2"] > 1000  # the planted red line, in square metres

    url = "/api/v1/services/red_line_conflicts/run"
    latest = embed_client.post(url + "?trace=true", json={"inputs": red_line}, headers=basic(host))
    assert latest.status_code == 200, latest.get_json()
    answer = latest.get_json()
    assert answer["version"] == 2
    assert answer["outputs"] == {
        "count": direct["count"],
        "overlap_m2": direct["overlap_area_m2"],
        "area_m2": direct["area_m2"],
    }
    assert [(t["step"], t["service"], t["status"]) for t in answer["trace"]] == [
        ("touching", "conflicts_touching", 200)
    ]
    pinned = embed_client.post(url + "?version=1", json={"inputs": red_line}, headers=basic(host))
    assert pinned.status_code == 200, pinned.get_json()
    assert pinned.get_json()["version"] == 1
    assert pinned.get_json()["outputs"] == {"count": direct["count"]}
    # Each run records the version it ran.
    for run, version in ((answer, 2), (pinned.get_json(), 1)):
        stored = embed_client.get(
            f"/api/v1/services/red_line_conflicts/runs/{run['run_id']}", headers=basic(host)
        ).get_json()
        assert stored["version"] == version and stored["ok"] is True

    r = embed_client.post(url + "?version=3", json={"inputs": red_line}, headers=basic(host))
    assert r.status_code == 404 and r.get_json()["type"].endswith("/unknown_chain_version")
    r = embed_client.post(url + "?version=x", json={"inputs": red_line}, headers=basic(host))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "version"
    r = embed_client.post(url, json={"inputs": {"crs": "EPSG:4490"}}, headers=basic(host))
    assert r.status_code == 400 and r.get_json()["type"].endswith("/invalid_chain_inputs")


def test_the_catalogue_and_openapi_show_a_published_chain_with_its_inputs(
    embed_client, host, admin_token
):
    embed_client.post("/api/v1/admin/chains", json=DOCUMENT, headers=admin(admin_token))
    listed = embed_client.get("/api/v1/catalogue?kind=function", headers=basic(host)).get_json()
    entry = next(s for s in listed["services"] if s["id"] == "red_line_conflicts")
    assert entry["kind"] == "function" and entry["interface"] == "HTTP"
    assert entry["version"] == "1" and entry["status"] == "running"
    assert entry["dept"] == "natural_resources"
    assert entry["endpoints"][0]["path"] == "/api/v1/services/red_line_conflicts/run"
    detail = embed_client.get(
        "/api/v1/catalogue/red_line_conflicts", headers=basic(host)
    ).get_json()
    run = detail["endpoints"][0]["schemas"]
    assert run["input"]["properties"]["inputs"] == DOCUMENT["inputs"]
    # The shipped chains state their own inputs too.
    shipped = embed_client.get(
        "/api/v1/catalogue/siting_compliance", headers=basic(host)
    ).get_json()
    assert (
        "top_n" in shipped["endpoints"][0]["schemas"]["input"]["properties"]["inputs"]["properties"]
    )
    document = embed_client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/services/red_line_conflicts/run"]["post"]
    assert operation["operationId"] == "runChain_red_line_conflicts"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["inputs"] == DOCUMENT["inputs"]
    assert "/services/{service_id}/run" in document["paths"]


def test_grants_stops_and_figures_apply_to_a_published_chain(
    embed_client, host, other_host, pf, admin_token, red_line
):
    from planfuse.services.monitoring.metrics import metrics_recorder

    embed_client.post("/api/v1/admin/chains", json=DOCUMENT, headers=admin(admin_token))
    url = "/api/v1/services/red_line_conflicts/run"
    r = embed_client.put(
        f"/api/v1/admin/services/red_line_conflicts/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    assert r.status_code == 200 and r.get_json()["granted"] is False
    r = embed_client.post(url, json={"inputs": red_line}, headers=basic(host))
    assert r.status_code == 403 and r.get_json()["type"].endswith("/service_not_granted")
    assert (
        embed_client.get("/api/v1/catalogue/red_line_conflicts", headers=basic(host)).status_code
        == 404
    )
    r = embed_client.post(url, json={"inputs": red_line}, headers=basic(other_host))
    assert r.status_code == 200

    metrics_recorder(pf).flush()
    listed = embed_client.get("/api/v1/catalogue", headers=admin(admin_token)).get_json()
    figures = {s["id"]: s["figures"]["requests_15m"] for s in listed["services"]}
    assert figures["red_line_conflicts"] == 2  # the refused run and the other app's
    report = embed_client.get("/api/v1/admin/services", headers=admin(admin_token)).get_json()
    assert any(s["id"] == "red_line_conflicts" for s in report["services"])

    # Unpublishing is stopping it.
    r = embed_client.post(
        "/api/v1/admin/services/red_line_conflicts/stop",
        json={"reason": "改版"},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    r = embed_client.post(url, json={"inputs": red_line}, headers=basic(other_host))
    assert r.status_code == 503 and r.get_json()["type"].endswith("/service_stopped")
    assert "红线冲突查询" in r.get_json()["detail"]
    stopped = embed_client.get(
        "/api/v1/catalogue/red_line_conflicts", headers=admin(admin_token)
    ).get_json()
    assert stopped["status"] == "stopped"


def test_a_draft_is_test_run_with_its_trace_without_being_published(
    embed_client, host, admin_token, red_line
):
    draft = {k: v for k, v in DOCUMENT.items() if k != "version"}
    r = embed_client.post(
        "/api/v1/chains/test-run", json={"document": draft, "inputs": red_line}, headers=basic(host)
    )
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["ok"] is True and answer["failure"] is None
    direct = embed_client.post("/api/v1/conflicts/touching", json=red_line, headers=basic(host))
    assert answer["outputs"] == {"count": direct.get_json()["count"]}
    assert answer["trace"][0]["step"] == "touching" and answer["trace"][0]["status"] == 200
    assert (
        embed_client.get(
            "/api/v1/catalogue/red_line_conflicts", headers=admin(admin_token)
        ).status_code
        == 404
    )
    # A failing step is reported, not raised.
    embed_client.put(
        f"/api/v1/admin/services/conflicts_touching/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    r = embed_client.post(
        "/api/v1/chains/test-run", json={"document": draft, "inputs": red_line}, headers=basic(host)
    )
    assert r.status_code == 200
    assert r.get_json()["ok"] is False
    assert r.get_json()["failure"]["step"] == "touching"
    assert r.get_json()["failure"]["status"] == 403
    bad = {**draft, "outputs": {"n": "steps.touching.countz"}}
    r = embed_client.post(
        "/api/v1/chains/test-run", json={"document": bad, "inputs": red_line}, headers=basic(host)
    )
    assert r.status_code == 400
    assert r.get_json()["errors"][0]["field"] == "outputs.n"


def test_a_long_chain_runs_as_a_job_with_progress_per_step(
    embed_client, host, pf, admin_token, red_line
):
    from planfuse.services.runners import job_runner

    embed_client.post("/api/v1/admin/chains", json=version_2(), headers=admin(admin_token))
    url = "/api/v1/services/red_line_conflicts/run"
    direct = embed_client.post(url, json={"inputs": red_line}, headers=basic(host)).get_json()
    r = embed_client.post(url, json={"inputs": red_line, "async": True}, headers=basic(host))
    assert r.status_code == 202, r.get_json()
    job = r.get_json()
    assert r.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert job["kind"] == "chain.run" and job["params"] == {
        "chain": "red_line_conflicts",
        "version": 1,
    }
    done = job_runner(pf).wait(job["id"], timeout=60)
    assert done["state"] == "done" and done["progress"] == 1.0
    assert done["summary"]["outputs"] == direct["outputs"]
    assert done["summary"]["version"] == 1
    # The app reads its job through the jobs API; the run is kept with its trace.
    polled = embed_client.get(f"/api/v1/jobs/{job['id']}", headers=basic(host)).get_json()
    assert polled["summary"]["run_id"] == done["summary"]["run_id"]
    run = embed_client.get(
        f"/api/v1/services/red_line_conflicts/runs/{done['summary']['run_id']}",
        headers=basic(host),
    ).get_json()
    assert [t["step"] for t in run["trace"]] == ["touching"]

    # A failing step fails the job, naming the step.
    embed_client.put(
        f"/api/v1/admin/services/conflicts_touching/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    r = embed_client.post(url, json={"inputs": red_line, "async": True}, headers=basic(host))
    failed = job_runner(pf).wait(r.get_json()["id"], timeout=60)
    assert failed["state"] == "failed"
    assert failed["error"]["type"].endswith("/chain_step_failed")
    assert failed["error"]["errors"][0]["step"] == "touching"
    assert failed["stage"] == "failed: step 1/1: touching (conflicts_touching)"
    r = embed_client.post(url, json={"inputs": red_line, "async": "yes"}, headers=basic(host))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "async"
