"""Chains (服务串联) over HTTP: the chain document's JSON Schema, checking a document before
it is published, running a chain as a function service and reading a run's trace
(server/api/openapi/chains.yaml).

Each step is called in-process through the app itself, as a request with the caller's own
credentials: the step passes the service gate (a stopped service fails the step), the
caller's grants and locked parameters, and is counted in that service's metrics — a chain
can do nothing its caller could not do call by call.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request

from planfuse.errors import InvalidInput
from planfuse.http.caller import require_admin_or_caller, require_caller
from planfuse.http.chains import check_document, find_chain
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.problems import ProblemError
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.admin_tokens import Admin
from planfuse.services.chains.document import Chain
from planfuse.services.chains.run import StepFailed, check_inputs, request_for, run_chain
from planfuse.services.chains.runs import get_run, save_run
from planfuse.services.chains.schema import CHAIN_SCHEMA
from planfuse.services.jobs import JobRunner
from planfuse.services.monitoring.runtime import find_service
from planfuse.services.runners import job_runner
from planfuse.storage.models.base import utcnow

routes = RouteTable()


@routes.get("/chains/schema")
def chains_schema():
    """The JSON Schema of a chain document."""
    return json_response(CHAIN_SCHEMA)


@routes.post("/chains/validate")
def chains_validate():
    """Check a chain document as publishing would: every problem with its step and field."""
    require_admin_or_caller()
    chain = check_document(planfuse(), json_body())
    return json_response(
        {
            "valid": True,
            "id": chain.id,
            "version": chain.version,
            "steps": [{"id": s.id, "service": s.service} for s in chain.steps],
            "outputs": list(chain.outputs),
        }
    )


def _invoker(authorization: str):
    # The app itself, not the proxy: a job calls the steps from a thread of its own.
    app = current_app._get_current_object()
    client = app.test_client()  # Flask's in-process client: no socket, full request path
    ctx = planfuse()

    def invoke(service_id: str, args: dict[str, Any]) -> tuple[int, Any]:
        service = find_service(ctx, service_id)
        if service is None:
            return 404, {"detail": f"service {service_id!r} is no longer in the catalogue"}
        method, path, query, body = request_for(service.endpoints[0], args)
        # A fresh application context: the step's request has a `g` of its own, so the
        # chain's own request keeps its service id and caller.
        with app.app_context():
            response = client.open(
                path,
                method=method,
                query_string=query,
                json=body,
                headers={"Authorization": authorization, "Accept": "application/json"},
            )
        return response.status_code, response.get_json(silent=True)

    return invoke


def _version() -> int | None:
    """`?version=N` pins a version of the chain; none: its latest."""
    raw = request.args.get("version")
    if raw in (None, ""):
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"`version` {raw!r} is not a version number (1, 2, …)", field="version")
    return int(raw)


def _chain(service_id: str, version: int | None = None) -> Chain:
    return find_chain(planfuse(), service_id, version)


def _step_failed(failure: StepFailed, run_id: str) -> ProblemError:
    status = 422 if failure.status is not None and failure.status < 500 else 502
    return ProblemError(
        status,
        "chain_step_failed",
        failure.message,
        title="A step of the chain failed",
        errors=[
            {
                "field": f"steps.{failure.step}",
                "step": failure.step,
                "service": failure.service,
                "status": failure.status,
                "message": failure.message,
                "run_id": run_id,
            }
        ],
    )


def _execute(
    ctx,
    chain: Chain,
    inputs: dict[str, Any],
    invoke,
    app_id: str,
    *,
    time_limit_s: float,
    progress=None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the chain and keep the run: (the answer, the trace), or the 422/502 problem
    naming the failed step (the run kept too)."""
    trace: list[dict[str, Any]] = []
    started_at, started = utcnow(), time.perf_counter()
    common = {"app_id": app_id, "started_at": started_at, "inputs": inputs, "trace": trace}
    try:
        outputs = run_chain(
            chain, inputs, invoke, time_limit_s=time_limit_s, trace=trace, progress=progress
        )
    except StepFailed as failure:
        elapsed = (time.perf_counter() - started) * 1000
        run_id = save_run(
            ctx, chain, duration_ms=elapsed, outputs=None, failed_step=failure.step,
            error=failure.message, **common,
        )  # fmt: skip
        raise _step_failed(failure, run_id) from None
    elapsed = (time.perf_counter() - started) * 1000
    run_id = save_run(ctx, chain, duration_ms=elapsed, outputs=outputs, **common)
    answer = {
        "run_id": run_id,
        "chain": chain.id,
        "version": chain.version,
        "duration_ms": round(elapsed, 2),
        "outputs": outputs,
    }
    return answer, trace


def _chain_jobs(ctx) -> JobRunner:
    """The runner of chain jobs: this process's threads (the steps are called in-process
    with the caller's credentials, which are never stored, so a queue worker could not)."""
    runner = job_runner(ctx)
    if isinstance(runner, JobRunner):
        return runner
    return ctx.shared("chain_jobs", lambda: JobRunner(ctx))


def _submit(ctx, chain: Chain, inputs: dict[str, Any], app_id: str, invoke) -> dict[str, Any]:
    limit_s = float(ctx.settings.chain_job_time_limit_s)

    def work(job_ctx, handle, params) -> dict[str, Any]:
        answer, _ = _execute(
            job_ctx, chain, inputs, invoke, app_id, time_limit_s=limit_s, progress=handle.progress
        )
        return answer

    return _chain_jobs(ctx).submit(
        "chain.run", work, {"chain": chain.id, "version": chain.version}, app_id=app_id
    )


@routes.post("/services/<service_id>/run")
def services_run(service_id: str):
    """Run a chain: `{"inputs": {…}}` → its outputs, the run id (its trace at
    `GET /services/{id}/runs/{run_id}`) and, with `?trace=true`, the trace; `?version=N`
    runs version N of a published chain (default: the latest). With `"async": true` it
    runs as a background job: 202 with the job, whose progress names each step."""
    caller = require_caller()
    chain = _chain(service_id, _version())
    body = json_body(example='{"inputs": {…}}')
    unknown = sorted(set(body) - {"inputs", "async"})
    if unknown:
        raise ProblemError(400, "invalid_request", f"unknown field(s) {', '.join(unknown)}")
    run_async = body.get("async", False)
    if not isinstance(run_async, bool):
        raise InvalidInput("`async` must be true or false", field="async")
    inputs = check_inputs(chain, body.get("inputs"))
    ctx = planfuse()
    invoke = _invoker(request.headers.get("Authorization", ""))
    if run_async:
        job = _submit(ctx, chain, inputs, caller.app_id, invoke)
        return json_response(
            job, 202, headers={**NO_STORE, "Location": f"/api/v1/jobs/{job['id']}"}
        )
    answer, trace = _execute(
        ctx,
        chain,
        inputs,
        invoke,
        caller.app_id,
        time_limit_s=float(ctx.settings.chain_time_limit_s),
    )
    if request.args.get("trace") == "true":
        answer["trace"] = trace
    return json_response(answer, headers=NO_STORE)


@routes.get("/services/<service_id>/runs/<run_id>")
def services_run_trace(service_id: str, run_id: str):
    """A run's trace: an administrator's token reads every run, an app its own."""
    who = require_admin_or_caller()
    _chain(service_id)
    app_id = None if isinstance(who, Admin) else who.app_id
    return json_response(get_run(planfuse(), service_id, run_id, app_id), headers=NO_STORE)


@routes.post("/chains/test-run")
def chains_test_run():
    """Check a draft chain document and run it once, as its caller, without publishing it:
    `{"document": {…}, "inputs": {…}}` → the outputs and the trace (the run is not kept)."""
    require_caller()
    body = json_body(example='{"document": {…}, "inputs": {…}}')
    unknown = sorted(set(body) - {"document", "inputs"})
    if unknown:
        raise ProblemError(400, "invalid_request", f"unknown field(s) {', '.join(unknown)}")
    ctx = planfuse()
    document = body.get("document")
    if isinstance(document, dict) and "version" not in document:
        document = {**document, "version": 1}  # a draft: the version is given at publishing
    chain = check_document(ctx, document)
    inputs = check_inputs(chain, body.get("inputs"))
    trace: list[dict[str, Any]] = []
    started = time.perf_counter()
    invoke = _invoker(request.headers.get("Authorization", ""))
    outputs, failure = None, None
    try:
        outputs = run_chain(
            chain, inputs, invoke, time_limit_s=float(ctx.settings.chain_time_limit_s), trace=trace
        )
    except StepFailed as failed:
        failure = {
            "step": failed.step,
            "service": failed.service,
            "status": failed.status,
            "message": failed.message,
        }
    return json_response(
        {
            "ok": failure is None,
            "chain": chain.id,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "outputs": outputs,
            "failure": failure,
            "trace": trace,
        },
        headers=NO_STORE,
    )
