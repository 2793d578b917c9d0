"""Chain documents checked before they are published: the schema, then cycles, self-calls,
unknown, stopped and non-function services, and fields that do not exist — each problem
naming its step and field. And the runner: for_each, when, outputs, failing steps."""

from __future__ import annotations

import copy

import pytest

from planfuse.errors import InvalidInput
from planfuse.http.openapi import service_fields
from planfuse.services.chains.document import check_chain
from planfuse.services.chains.run import StepFailed, check_inputs, request_for, run_chain
from planfuse.services.chains.shipped import shipped_documents
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID


def fields(service_id):
    return service_fields(SERVICES_BY_ID[service_id])


def shipped() -> dict:
    return copy.deepcopy(next(d for d in shipped_documents() if d["id"] == "siting_compliance"))


def check(document, stopped=frozenset(), chains=None):
    return check_chain(
        document, services=SERVICES_BY_ID, stopped=set(stopped), fields=fields, chains=chains
    )


def problems(document, **kwargs) -> list[dict]:
    with pytest.raises(InvalidInput) as caught:
        check(document, **kwargs)
    assert caught.value.code == "invalid_chain"
    return caught.value.errors


def test_the_shipped_chain_is_valid_and_catalogued():
    chain = check(shipped())
    assert [s.id for s in chain.steps] == ["search", "check"]
    entry = SERVICES_BY_ID["siting_compliance"]
    assert entry.name_zh == "选址+合规" and entry.kind == "function"
    assert entry.endpoints[0].path == "/api/v1/services/siting_compliance/run"


@pytest.mark.parametrize("document", shipped_documents(), ids=lambda d: d["id"])
def test_every_shipped_chain_is_valid_and_a_catalogued_function_service(document):
    chain = check(copy.deepcopy(document))
    entry = SERVICES_BY_ID[chain.id]
    assert entry.kind == "function" and entry.name_zh == document["name"]["zh-CN"]
    assert {d["id"] for d in shipped_documents()} == {"siting_compliance", "project_review"}


def test_the_shape_is_checked_against_the_schema():
    document = shipped()
    del document["steps"][0]["service"]
    document["steps"][1]["retries"] = 3
    errors = problems(document)
    assert {e["field"] for e in errors} == {"steps.0", "steps.1"}
    assert any("'service' is a required property" in e["message"] for e in errors)


@pytest.mark.parametrize(
    ("change", "step", "field", "words"),
    [
        # A step reading a later step (or itself): a cycle.
        (
            lambda d: d["steps"][0]["args"].update(limit="length(steps.check)"),
            "search",
            "args.limit",
            "runs later",
        ),
        (lambda d: d["steps"][1].update(for_each="steps.check"), "check", "for_each", "runs later"),
        (
            lambda d: d["steps"][1].update(service="siting_compliance"),
            "check",
            "service",
            "calls itself",
        ),
        (
            lambda d: d["steps"][1].update(service="no_such_service"),
            "check",
            "service",
            "not in the catalogue",
        ),
        (
            lambda d: d["steps"][1].update(service="ogc_features"),
            "check",
            "service",
            "not a callable function service",
        ),
        (
            lambda d: d["steps"][1]["args"].update(geometry="item.geometry", color="'red'"),
            "check",
            "args.color",
            "takes no parameter 'color'",
        ),
        (
            lambda d: d["steps"][1].update(for_each="steps.search.candidatez"),
            "check",
            "for_each",
            "answers no field 'candidatez'",
        ),
        (
            lambda d: d["steps"][0]["args"].update(land_use="inputs.landuse"),
            "search",
            "args.land_use",
            "input 'landuse' is not declared",
        ),
        (
            lambda d: d["steps"][0]["args"].update(land_use="item.code"),
            "search",
            "args.land_use",
            "`item` exists only in a step with for_each",
        ),
        (
            lambda d: d["steps"][0]["args"].update(land_use="params.code"),
            "search",
            "args.land_use",
            "expressions start with inputs, steps or item",
        ),
        (
            lambda d: d["steps"][0]["args"].update(land_use="inputs.[land_use"),
            "search",
            "args.land_use",
            "not a JMESPath expression",
        ),
        (lambda d: d["steps"][1].update(id="search"), "search", "id", "used twice"),
        (
            lambda d: d["steps"][1].update(when="steps.nowhere.total"),
            "check",
            "when",
            "there is no step 'nowhere'",
        ),
    ],
)
def test_a_bad_chain_names_its_step_and_field(change, step, field, words):
    document = shipped()
    change(document)
    errors = problems(document)
    assert any(
        e.get("step") == step and e["field"] == field and words in e["message"] for e in errors
    ), errors


def test_outputs_and_stopped_services_are_checked_too():
    document = shipped()
    document["outputs"]["first"] = "steps.check.verdict"
    errors = problems(document, stopped={"compliance_check"})
    assert {
        "step": "check",
        "field": "service",
        "message": "service 'compliance_check' is stopped",
    } in errors
    assert any(
        e["field"] == "outputs.first" and "runs for each item" in e["message"] for e in errors
    )
    assert all("step" not in e for e in errors if e["field"].startswith("outputs"))


def test_a_chain_calling_a_chain_that_calls_it_back_is_a_cycle():
    first = check(shipped())
    # A second chain wrapping the first …
    outer = shipped()
    outer["id"] = "outer_chain"
    outer["steps"] = [{"id": "inner", "service": "siting_compliance", "args": {"inputs": "inputs"}}]
    outer["outputs"] = {"all": "steps.inner"}
    chains = {
        "siting_compliance": first,
        "outer_chain": check(outer, chains={"siting_compliance": first}),
    }
    # … and the first, republished to call the second: a cycle.
    looping = shipped()
    looping["steps"][1]["service"] = "outer_chain"
    errors = problems(looping, chains=chains)
    assert any("calls back into 'siting_compliance'" in e["message"] for e in errors)


def test_the_runner_maps_for_each_when_and_outputs():
    chain = check(shipped())
    calls = []

    def invoke(service, args):
        calls.append((service, args))
        if service == "siting_basic":
            return 200, {
                "total": 5,
                "crs": "EPSG:4490",
                "candidates": [
                    {
                        "rank": r,
                        "recommended": r == 1,
                        "feature_id": 10 + r,
                        "area_m2": 1000.0 * r,
                        "score": 1 - r / 10,
                        "geometry": {"type": "Point", "coordinates": [r, r]},
                    }
                    for r in (1, 2)
                ],
            }
        verdict = "pass" if args["geometry"]["coordinates"][0] == 1 else "fail"
        return 201, {
            "id": f"r{args['geometry']['coordinates'][0]}",
            "verdict": verdict,
            "verdict_name": {"zh-CN": verdict, "en": verdict},
        }

    trace = []
    inputs = check_inputs(chain, {"scope": {"districts": ["500112"]}, "land_use": "1001"})
    outputs = run_chain(chain, inputs, invoke, time_limit_s=60, trace=trace)
    assert calls[0] == (
        "siting_basic",
        {
            "scope": {"districts": ["500112"]},
            "land_use": "1001",
            "limit": 3,
            "output_crs": "EPSG:4490",
        },
    )
    assert [c[1]["project_type"] for c in calls[1:]] == ["urban", "urban"]
    assert outputs["total"] == 5
    assert [
        (c["rank"], c["feature_id"], c["verdict"], c["report_id"]) for c in outputs["candidates"]
    ] == [
        (1, 11, "pass", "r1"),
        (2, 12, "fail", "r2"),
    ]
    assert [(t["step"], t["item"], t["status"]) for t in trace] == [
        ("search", None, 200),
        ("check", 0, 201),
        ("check", 1, 201),
    ]
    assert all(t["ms"] >= 0 and t["error"] is None for t in trace)

    # A failing call fails the run with its step; the trace keeps what ran.
    def failing(service, args):
        if service == "compliance_check":
            return 400, {"detail": "the red line is not closed"}
        return invoke(service, args)

    trace = []
    with pytest.raises(StepFailed) as caught:
        run_chain(chain, inputs, failing, time_limit_s=60, trace=trace)
    assert caught.value.step == "check" and caught.value.status == 400
    assert "the red line is not closed" in caught.value.message
    assert trace[-1]["error"] == "the red line is not closed"

    # `when` false skips a step; a passed time limit stops before the next step.
    skipping = shipped()
    skipping["steps"][1]["when"] = "steps.search.total > `100`"
    trace = []
    outputs = run_chain(check(skipping), inputs, invoke, time_limit_s=60, trace=trace)
    assert trace[-1] == {"step": "check", "service": "compliance_check", "skipped": True}
    assert outputs["candidates"] is None
    with pytest.raises(StepFailed, match="time limit"):
        run_chain(chain, inputs, invoke, time_limit_s=-1, trace=[])


def test_inputs_are_checked_against_the_chains_schema():
    chain = check(shipped())
    with pytest.raises(InvalidInput) as caught:
        check_inputs(chain, {"scope": {}, "land_use": "10x", "colour": 1})
    fields_named = {e["field"] for e in caught.value.errors}
    assert fields_named == {"inputs", "inputs.land_use"}
    with pytest.raises(InvalidInput):
        check_inputs(chain, ["not", "an", "object"])


def test_a_call_is_built_from_the_endpoint():
    plans = SERVICES_BY_ID["siting_plans_get"].endpoints[1]
    assert request_for(plans, {"id": 7}) == ("GET", "/api/v1/siting/plans/7", {}, None)
    ledger = SERVICES_BY_ID["city_plan_ledger_city"].endpoints[0]
    assert request_for(ledger, {"district": "500112"}) == (
        "GET",
        "/api/v1/ledgers/city_plan",
        {"by": "city", "district": "500112"},
        None,
    )
    search = SERVICES_BY_ID["siting_basic"].endpoints[0]
    assert request_for(search, {"limit": 3}) == (
        "POST",
        "/api/v1/siting/search/basic",
        {},
        {"limit": 3},
    )
