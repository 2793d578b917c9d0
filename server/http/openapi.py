"""The API's OpenAPI 3.1 document, merged from one YAML fragment per area
(`server/api/openapi/<area>.yaml`), and the schemas of one operation: what the API area
serves at /api/v1/openapi.json and what the service catalogue shows of each endpoint.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

#: How deep `$ref`s are inlined in a schema (the documents' schemas nest a few levels).
MAX_REF_DEPTH = 12

FRAGMENTS_DIR = Path(__file__).resolve().parent.parent / "api" / "openapi"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Merge base.yaml with every other fragment's `paths` and `components`."""
    document = yaml.safe_load((FRAGMENTS_DIR / "base.yaml").read_text(encoding="utf-8"))
    document.setdefault("paths", {})
    for fragment_path in sorted(FRAGMENTS_DIR.glob("*.yaml")):
        if fragment_path.name == "base.yaml":
            continue
        fragment = yaml.safe_load(fragment_path.read_text(encoding="utf-8")) or {}
        for path, item in (fragment.get("paths") or {}).items():
            if path in document["paths"]:
                raise ValueError(f"{fragment_path.name}: path {path} is documented twice")
            document["paths"][path] = item
        for section, entries in (fragment.get("components") or {}).items():
            target = document.setdefault("components", {}).setdefault(section, {})
            for name, value in entries.items():
                if name in target:
                    raise ValueError(f"{fragment_path.name}: {section}.{name} defined twice")
                target[name] = value
    _answers_every_operation_may_give(document)
    return document


#: Answers any operation may give, whatever its fragment lists: a rate limit (429), the
#: server too busy or the database down (503).
EVERY_OPERATION = {
    "429": "Too many requests (rate limits): wait the seconds in Retry-After.",
    "503": "The server is busy or the database cannot be reached: retry after Retry-After.",
}
HTTP_METHODS = ("get", "put", "post", "delete", "patch")


def _answers_every_operation_may_give(document: dict[str, Any]) -> None:
    """List on every operation the problem answers the server's shared layers give, so the
    document and the server agree on status codes: 401 and 403 where credentials are
    required, 400 where the request has parameters or a body, 422 where a body may carry a
    geometry too complex to validate in time, 429 and 503 everywhere."""
    problem = {"$ref": "#/components/responses/Problem"}
    for item in document["paths"].values():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            wanted = dict(EVERY_OPERATION)
            if operation.get("security", document.get("security")):
                wanted["401"] = "No valid credentials were sent."
                wanted["403"] = "The credentials may not do this."
            if operation.get("parameters") or item.get("parameters") or "requestBody" in operation:
                wanted["400"] = "The request is invalid; the problem names the field."
            if "requestBody" in operation:
                wanted["422"] = "The input is too complex to handle within the limits."
            for status, description in wanted.items():
                if status not in responses:
                    responses[status] = {**problem, "description": description}


def _resolve(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """`node` with its `#/components/...` references inlined (to MAX_REF_DEPTH)."""
    if isinstance(node, list):
        return [_resolve(item, document, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and depth < MAX_REF_DEPTH:
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(target, document, depth + 1)
    return {key: _resolve(value, document, depth) for key, value in node.items()}


def endpoint_schemas(endpoint: Endpoint) -> dict[str, Any] | None:
    """The OpenAPI operation of an endpoint: its parameters, request body schema and the
    schema of its success answer; None when the document does not describe it."""
    document = openapi_document()
    path = endpoint.openapi_path
    item = document["paths"].get(path) if path else None
    if not item or endpoint.method is None:
        return None
    operation = item.get(endpoint.method.lower())
    if operation is None:
        return None
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    output = None
    for status in ("200", "201", "202"):
        answer = _resolve(operation.get("responses", {}).get(status), document)
        if answer:
            output = answer.get("content", {}).get("application/json", {}).get("schema")
            break
    return {
        "operation_id": operation.get("operationId"),
        "summary": operation.get("summary"),
        "openapi_path": path,
        "parameters": _resolve(operation.get("parameters", []), document),
        "input": _resolve(body.get("schema"), document),
        "input_example": body.get("example"),
        "output": output,
    }


def with_schemas(service: ServiceSpec, entry: dict[str, Any]) -> dict[str, Any]:
    """A catalogue entry with each endpoint's schemas and the service's example."""
    return {
        **entry,
        "endpoints": [
            {**endpoint.describe(), "schemas": endpoint_schemas(endpoint)}
            for endpoint in service.endpoints
        ],
        "example": dict(service.example) if service.example else None,
    }


def service_fields(service: ServiceSpec) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """What a chain may name of a service (its first endpoint): the parameters it takes
    (path, query and body fields) and the top-level fields of its answer; None for a side
    the OpenAPI document does not describe."""
    endpoint = service.endpoints[0]
    schemas = endpoint_schemas(endpoint)
    if schemas is None:
        return None, None
    accepted: set[str] = {p["name"] for p in schemas["parameters"] if "name" in p}
    accepted |= {s[1:-1] for s in endpoint.segments if s.startswith("{")}
    body = schemas["input"]
    if isinstance(body, dict) and "properties" in body:
        accepted |= set(body["properties"])
    elif body is not None:
        accepted = set()  # a body without named fields: not checked
    output = schemas["output"]
    answers = (
        frozenset(output["properties"])
        if isinstance(output, dict) and "properties" in output
        else None
    )
    return (frozenset(accepted) if accepted else None), answers
