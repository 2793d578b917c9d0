"""Running a chain: the inputs checked against the chain's JSON Schema, then each step in
order — `when` false skips it, `for_each` calls the service once per item (at most
`max_items`) — and the outputs mapped from the steps. Every call is recorded in the trace
(input, output, status, milliseconds, error); the first failing call fails the run with
its step and why. The calls go through `invoke`, which the web layer supplies (an
in-process request with the caller's credentials, so grants, stops and metrics apply to
every step as to any call)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import jmespath
import jsonschema
from jmespath.exceptions import JMESPathError

from planfuse.errors import InvalidInput
from planfuse.services.chains.document import Chain, Step
from planfuse.services.monitoring.spec import Endpoint

#: invoke(service id, arguments) → (HTTP status, JSON answer or None).
Invoke = Callable[[str, dict[str, Any]], tuple[int, Any]]


class StepFailed(Exception):
    """A step's call failed: which step, which service, the status and the answer."""

    def __init__(self, step: str, service: str, message: str, status: int | None, answer: Any):
        super().__init__(message)
        self.step, self.service, self.message = step, service, message
        self.status, self.answer = status, answer


def check_inputs(chain: Chain, inputs: Any) -> dict[str, Any]:
    """The run's inputs, or InvalidInput naming each field that breaks the chain's schema."""
    if not isinstance(inputs, dict):
        raise InvalidInput("send the chain's inputs as a JSON object", field="inputs")
    validator = jsonschema.Draft202012Validator(dict(chain.inputs))
    errors = sorted(validator.iter_errors(inputs), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidInput(
            f"the inputs do not match chain {chain.id!r}: {errors[0].message}",
            code="invalid_chain_inputs",
            errors=[
                {
                    "field": ".".join(["inputs", *map(str, e.absolute_path)]),
                    "message": e.message,
                }
                for e in errors[:20]
            ],
        )
    return inputs


def request_for(endpoint: Endpoint, args: Mapping[str, Any]) -> tuple[str, str, dict, Any]:
    """(method, path, query, JSON body) calling `endpoint` with `args`: arguments named like
    a `{placeholder}` fill the path; the rest go in the query (GET, DELETE) or the body."""
    rest = dict(args)
    path_parts = []
    for segment in endpoint.path.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            segment = str(rest.pop(name, segment))
        path_parts.append(segment)
    method = endpoint.method or "GET"
    query = dict(endpoint.query)
    body = None
    if method in ("GET", "DELETE"):
        query.update({k: v if isinstance(v, str) else str(v) for k, v in rest.items()})
    else:
        body = rest
    return method, "/".join(path_parts), query, body


def _search(expression: str, data: Any, step: str, where: str, service: str) -> Any:
    try:
        return jmespath.search(expression, data)
    except JMESPathError as exc:
        raise StepFailed(step, service, f"{where}: {exc}".splitlines()[0], None, None) from None


def _call(
    step: Step, context: dict[str, Any], invoke: Invoke, trace: list, index: int | None
) -> Any:
    args = {
        name: value
        for name, expression in step.args.items()
        if (value := _search(expression, context, step.id, f"args.{name}", step.service))
        is not None
    }
    started = time.perf_counter()
    status, answer = invoke(step.service, args)
    entry = {
        "step": step.id,
        "service": step.service,
        "item": index,
        "input": args,
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "output": answer,
        "error": None,
    }
    trace.append(entry)
    if not 200 <= status < 300:
        detail = answer.get("detail") if isinstance(answer, dict) else None
        entry["error"] = detail or f"HTTP {status}"
        raise StepFailed(
            step.id,
            step.service,
            f"step {step.id!r} ({step.service}) failed with HTTP {status}: {entry['error']}",
            status,
            answer,
        )
    return answer


def run_chain(
    chain: Chain,
    inputs: Mapping[str, Any],
    invoke: Invoke,
    *,
    time_limit_s: float,
    trace: list[dict[str, Any]],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, Any]:
    """The chain's outputs; `trace` receives one entry per call or skipped step. Raises
    StepFailed (with the trace so far) when a call fails or the time limit passes.
    `progress(fraction, stage)`, if given, is told before each step and each item of a
    `for_each` step (a job's progress; it may raise to stop the run)."""
    deadline = time.monotonic() + time_limit_s
    steps: dict[str, Any] = {}
    count = len(chain.steps)
    for position, step in enumerate(chain.steps):
        if progress is not None:
            progress(position / count, f"step {position + 1}/{count}: {step.id} ({step.service})")
        context = {"inputs": dict(inputs), "steps": steps}
        if time.monotonic() > deadline:
            raise StepFailed(
                step.id,
                step.service,
                f"the chain's time limit ({time_limit_s:g} s) passed before step {step.id!r}",
                None,
                None,
            )
        if step.when and not _search(step.when, context, step.id, "when", step.service):
            trace.append({"step": step.id, "service": step.service, "skipped": True})
            steps[step.id] = None
            continue
        if step.for_each is None:
            steps[step.id] = _call(step, context, invoke, trace, None)
            continue
        items = _search(step.for_each, context, step.id, "for_each", step.service)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise StepFailed(
                step.id, step.service, f"for_each of step {step.id!r} is not a list", None, None
            )
        results = []
        chosen = items[: step.max_items]
        for index, item in enumerate(chosen):
            if progress is not None and index:
                progress(
                    (position + index / len(chosen)) / count,
                    f"step {position + 1}/{count}: {step.id} ({step.service}), "
                    f"item {index + 1}/{len(chosen)}",
                )
            if time.monotonic() > deadline:
                raise StepFailed(
                    step.id,
                    step.service,
                    f"the chain's time limit ({time_limit_s:g} s) passed in step {step.id!r}",
                    None,
                    None,
                )
            output = _call(step, {**context, "item": item}, invoke, trace, index)
            results.append({"item": item, "output": output})
        steps[step.id] = results
    context = {"inputs": dict(inputs), "steps": steps}
    return {
        name: _search(expression, context, "outputs", f"outputs.{name}", chain.id)
        for name, expression in chain.outputs.items()
    }
