"""Checking and finding chains (服务串联) against the catalogue and the OpenAPI document:
what the API area (validate, run) and the admin area (publish) share. A step's fields are
the OpenAPI document's, so checking lives beside it in the HTTP toolkit."""

from __future__ import annotations

from functools import cache
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import NotFound
from planfuse.http.openapi import service_fields
from planfuse.services.chains.document import Chain, check_chain
from planfuse.services.chains.published import published_chain, published_chains
from planfuse.services.chains.shipped import shipped_documents
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.control import framework_state
from planfuse.services.monitoring.runtime import every_service


def _static_fields(service_id: str):
    return service_fields(SERVICES_BY_ID[service_id])


@cache
def shipped_chains() -> dict[str, Chain]:
    """The shipped chains, checked against the catalogue and the OpenAPI document."""
    chains: dict[str, Chain] = {}
    for document in shipped_documents():
        chains[document["id"]] = check_chain(
            document, services=SERVICES_BY_ID, stopped=set(), fields=_static_fields, chains=chains
        )
    return chains


def stopped_ids(ctx: PlanFuse) -> set[str]:
    snapshot = framework_state(ctx).snapshot()
    return {sid for sid in snapshot.stopped if snapshot.stopped_now(sid) is not None}


def known_chains(ctx: PlanFuse) -> dict[str, Chain]:
    """Every chain a step may call: shipped, then the latest published versions."""
    return {**shipped_chains(), **published_chains(ctx)}


def check_document(ctx: PlanFuse, document: Any) -> Chain:
    """Check a chain document as publishing does (400 `invalid_chain` naming step and
    field): its steps may call declared services and published chains."""
    services = every_service(ctx)
    return check_chain(
        document,
        services=services,
        stopped=stopped_ids(ctx),
        fields=lambda service_id: service_fields(services[service_id]),
        chains=known_chains(ctx),
    )


def find_chain(ctx: PlanFuse, service_id: str, version: int | None = None) -> Chain:
    """A shipped chain (version 1 only) or a published one (its latest version, or
    `version`); NotFound `unknown_chain` for any other service."""
    shipped = shipped_chains().get(service_id)
    if shipped is not None:
        if version not in (None, shipped.version):
            raise NotFound(
                "chain version",
                f"{service_id} v{version}",
                code="unknown_chain_version",
                hint=f"the shipped chain {service_id!r} has version {shipped.version} only",
            )
        return shipped
    try:
        return published_chain(ctx, service_id, version)
    except NotFound as exc:
        if exc.code == "unknown_chain_version":
            raise
        raise NotFound(
            "chain",
            service_id,
            code="unknown_chain",
            hint="GET /api/v1/catalogue lists the services; a chain's is run here",
        ) from None


def _run_body(chain: Chain) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["inputs"],
        "additionalProperties": False,
        "properties": {"inputs": dict(chain.inputs)},
    }


def with_chain_inputs(ctx: PlanFuse, detail: dict[str, Any]) -> dict[str, Any]:
    """A catalogue entry with schemas (`with_schemas`) whose run endpoint, for a chain,
    states the chain's own inputs schema rather than any object."""
    chain = shipped_chains().get(detail["id"]) or published_chains(ctx).get(detail["id"])
    if chain is None:
        return detail
    for endpoint in detail.get("endpoints") or []:
        schemas = endpoint.get("schemas")
        if endpoint.get("method") == "POST" and schemas:
            endpoint["schemas"] = {**schemas, "input": _run_body(chain)}
    return detail


def published_chain_paths(ctx: PlanFuse, generic: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI path items of the published chains' runs: `generic` (the document's
    `/services/{service_id}/run` item) with each chain's id, name and inputs schema."""
    operation = (generic or {}).get("post")
    if not operation:
        return {}
    paths: dict[str, Any] = {}
    for chain_id, chain in sorted(published_chains(ctx).items()):
        body = {"required": True, "content": {"application/json": {"schema": _run_body(chain)}}}
        if chain.example:
            body["content"]["application/json"]["example"] = {"inputs": dict(chain.example)}
        paths[f"/services/{chain_id}/run"] = {
            "post": {
                **operation,
                "operationId": f"runChain_{chain_id}",
                "summary": f"{chain.name['zh-CN']} · {chain.name['en']} (chain v{chain.version})",
                "description": chain.description["en"],
                "parameters": [
                    p for p in operation.get("parameters", []) if p.get("name") != "service_id"
                ],
                "requestBody": body,
            }
        }
    return paths
