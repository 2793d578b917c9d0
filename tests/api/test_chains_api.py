"""Chains over HTTP on the demo dataset: 选址+合规 end to end, with the same answer as its
services called one by one; each step counted under its own service and subject to the
caller's grants and to stops; traces; chain validation and bad input."""

from __future__ import annotations

import pytest
from embed_support import basic

from planfuse.services.chains.shipped import shipped_documents
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.metrics import metrics_recorder

INPUTS = {
    "scope": {"districts": ["500112"]},
    "land_use": "1001",
    "area_min_m2": 8000,
    "area_max_m2": 60000,
    "top_n": 3,
}
RUN = "/api/v1/services/siting_compliance/run"


@pytest.fixture
def ctx(demo_ctx):
    return demo_ctx


@pytest.fixture
def settings_overrides():
    return {"service_metrics_flush_s": 3600, "service_state_cache_s": 0}


def admin(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_siting_with_compliance_equals_its_services_called_one_by_one(
    embed_client, host, pf, admin_token
):
    headers = basic(host)
    # The catalogue's example (the console's try-it form and snippet) is this very run.
    assert SERVICES_BY_ID["siting_compliance"].example == {"body": {"inputs": INPUTS}}
    r = embed_client.post(RUN + "?trace=true", json={"inputs": INPUTS}, headers=headers)
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["chain"] == "siting_compliance" and answer["version"] == 1
    candidates = answer["outputs"]["candidates"]

    # The same, by hand: the basic search, then a compliance check of each candidate.
    search = embed_client.post(
        "/api/v1/siting/search/basic",
        json={k: v for k, v in INPUTS.items() if k != "top_n"} | {"limit": 3},
        headers=headers,
    ).get_json()
    assert answer["outputs"]["total"] == search["total"] >= 3
    assert [c["feature_id"] for c in candidates] == [c["feature_id"] for c in search["candidates"]]
    assert [c["rank"] for c in candidates] == [1, 2, 3]
    assert candidates[0]["recommended"] is True
    for candidate, by_hand in zip(candidates, search["candidates"], strict=True):
        report = embed_client.post(
            "/api/v1/compliance/check",
            json={
                "geometry": by_hand["geometry"],
                "crs": search["crs"],
                "land_use": "1001",
                "project_type": "urban",
            },
            headers=headers,
        ).get_json()
        assert candidate["verdict"] == report["verdict"]
        assert candidate["verdict_name"] == report["verdict_name"]
        assert candidate["area_m2"] == by_hand["area_m2"]

    # The trace: the search, then one check per candidate, each with its input and answer.
    trace = answer["trace"]
    assert [(t["step"], t["item"], t["status"]) for t in trace] == [
        ("search", None, 200),
        ("check", 0, 201),
        ("check", 1, 201),
        ("check", 2, 201),
    ]
    assert trace[1]["input"]["geometry"] == search["candidates"][0]["geometry"]
    stored = embed_client.get(
        f"/api/v1/services/siting_compliance/runs/{answer['run_id']}", headers=admin(admin_token)
    ).get_json()
    assert stored["ok"] is True and stored["inputs"] == INPUTS
    assert stored["outputs"] == answer["outputs"] and len(stored["trace"]) == 4
    assert (
        embed_client.get(
            f"/api/v1/services/siting_compliance/runs/{answer['run_id']}", headers=headers
        ).status_code
        == 200
    )

    # Counted: the chain under its own id, each step under its service.
    metrics_recorder(pf).flush()
    listed = embed_client.get("/api/v1/catalogue", headers=admin(admin_token)).get_json()
    figures = {s["id"]: s["figures"]["requests_15m"] for s in listed["services"]}
    assert figures["siting_compliance"] == 3  # the run and the two reads of its trace
    assert figures["siting_basic"] == 2  # the chain's step and the call by hand
    assert figures["compliance_check"] == 6


def test_a_step_obeys_stops_and_grants_and_fails_the_run_by_name(
    embed_client, host, other_host, admin_token
):
    r = embed_client.put(
        f"/api/v1/admin/services/compliance_check/grants/{host.id}",
        json={"allowed": False},
        headers=admin(admin_token),
    )
    assert r.status_code == 200
    r = embed_client.post(RUN, json={"inputs": INPUTS}, headers=basic(host))
    assert r.status_code == 422 and r.get_json()["type"].endswith("/chain_step_failed")
    error = r.get_json()["errors"][0]
    assert (error["step"], error["service"], error["status"]) == ("check", "compliance_check", 403)
    run = embed_client.get(
        f"/api/v1/services/siting_compliance/runs/{error['run_id']}", headers=basic(host)
    ).get_json()
    assert run["ok"] is False and run["failed_step"] == "check"
    assert [t["step"] for t in run["trace"]] == ["search", "check"]
    # Another app may not read this app's runs.
    assert (
        embed_client.get(
            f"/api/v1/services/siting_compliance/runs/{error['run_id']}", headers=basic(other_host)
        ).status_code
        == 404
    )

    embed_client.post(
        "/api/v1/admin/services/siting_basic/stop", json={}, headers=admin(admin_token)
    )
    r = embed_client.post(RUN, json={"inputs": INPUTS}, headers=basic(other_host))
    assert r.status_code == 502
    assert r.get_json()["errors"][0]["step"] == "search"
    assert "stopped" in r.get_json()["detail"] or r.get_json()["errors"][0]["status"] == 503
    # A stopped chain is refused like any service.
    embed_client.post(
        "/api/v1/admin/services/siting_compliance/stop", json={}, headers=admin(admin_token)
    )
    r = embed_client.post(RUN, json={"inputs": INPUTS}, headers=basic(other_host))
    assert r.status_code == 503 and r.get_json()["type"].endswith("/service_stopped")


@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        (RUN, {"inputs": {"scope": {"districts": ["500112"]}}}, 400, "inputs"),
        (RUN, {"inputs": INPUTS | {"top_n": 99}}, 400, "inputs.top_n"),
        (RUN, {"inputs": INPUTS, "extra": 1}, 400, None),
        (RUN, {}, 400, "inputs"),
        ("/api/v1/services/city_plan_ledger_city/run", {"inputs": {}}, 404, None),
    ],
)
def test_bad_runs_are_refused(embed_client, host, url, body, status, field):
    r = embed_client.post(url, json=body, headers=basic(host))
    assert r.status_code == status, r.get_json()
    if field:
        assert r.get_json()["errors"][0]["field"] == field


def test_a_chain_document_is_validated_with_step_and_field(embed_client, host):
    schema = embed_client.get("/api/v1/chains/schema").get_json()
    assert schema["title"].startswith("PlanFuse chain")
    document = next(d for d in shipped_documents() if d["id"] == "siting_compliance")
    r = embed_client.post("/api/v1/chains/validate", json=document, headers=basic(host))
    assert r.status_code == 200 and r.get_json()["valid"] is True
    broken = {**document, "steps": [dict(document["steps"][0]), dict(document["steps"][1])]}
    broken["steps"][1]["service"] = "siting_compliance"
    broken["steps"][0]["args"] = {**broken["steps"][0]["args"], "limit": "steps.check[0]"}
    r = embed_client.post("/api/v1/chains/validate", json=broken, headers=basic(host))
    assert r.status_code == 400
    errors = r.get_json()["errors"]
    assert {"step": "check", "field": "service", "message": "the chain calls itself"} in errors
    assert any(e.get("step") == "search" and e["field"] == "args.limit" for e in errors)


def scenario_input(demo_scenarios, name: str) -> dict:
    found = next(s for s in demo_scenarios["scenarios"] if s["name"] == name)
    return found


@pytest.mark.parametrize("name", ["c_all_pass", "a_farmland_overlap"])
def test_project_review_on_the_planted_scenarios(embed_client, host, demo_scenarios, name):
    scenario = scenario_input(demo_scenarios, name)
    given = scenario["input"]
    inputs = {k: given[k] for k in ("geometry", "crs", "land_use", "project_type") if k in given}
    r = embed_client.post(
        "/api/v1/services/project_review/run", json={"inputs": inputs}, headers=basic(host)
    )
    assert r.status_code == 200, r.get_json()
    outputs = r.get_json()["outputs"]
    # The planted answer of the compliance check …
    assert outputs["compliance_verdict"] == scenario["expected"]["verdict"]
    # … and the conflicts the red line touches, as the service answers them directly.
    touching = embed_client.post(
        "/api/v1/conflicts/touching",
        json={"geometry": given["geometry"], "crs": given["crs"]},
        headers=basic(host),
    ).get_json()
    assert outputs["conflicts"] == touching["count"]
    assert outputs["conflict_overlap_m2"] == touching["overlap_area_m2"]
    assert [p["id"] for p in outputs["conflict_patches"]] == [
        c["id"] for c in touching["conflicts"]
    ]
    assert outputs["landable"] is (
        scenario["expected"]["verdict"] == "pass" and touching["count"] == 0
    )


def test_conflicts_touching_refuses_bad_red_lines(embed_client, host):
    url = "/api/v1/conflicts/touching"
    r = embed_client.post(url, json={"crs": "EPSG:4490"}, headers=basic(host))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "geometry"
    r = embed_client.post(
        url,
        json={"geometry": {"type": "Point", "coordinates": [106.5, 29.5]}, "crs": "EPSG:4490"},
        headers=basic(host),
    )
    assert r.status_code == 400
    r = embed_client.post(url, json={"geometry": "x", "colour": 1}, headers=basic(host))
    assert r.status_code == 400 and r.get_json()["errors"][0]["field"] == "colour"
