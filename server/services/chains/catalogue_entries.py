"""The shipped chains in the service catalogue: each is a function service run at
`POST /api/v1/services/{id}/run`, its runs' traces at `GET /api/v1/services/{id}/runs/…`."""

from __future__ import annotations

from typing import Any

from planfuse.services.chains.shipped import shipped_documents
from planfuse.services.monitoring.spec import Endpoint, ServiceSpec


def chain_service(document: dict[str, Any]) -> ServiceSpec:
    """The catalogue entry of a chain document."""
    chain_id = document["id"]
    return ServiceSpec(
        id=chain_id,
        name_zh=document["name"]["zh-CN"],
        name_en=document["name"]["en"],
        kind="function",
        dept=document["dept"],
        description_zh=document["description"]["zh-CN"],
        description_en=document["description"]["en"],
        endpoints=(
            Endpoint(
                "POST", f"/api/v1/services/{chain_id}/run", openapi="/services/{service_id}/run"
            ),
            Endpoint(
                "GET",
                f"/api/v1/services/{chain_id}/runs",
                subpaths=True,
                openapi="/services/{service_id}/runs/{run_id}",
            ),
        ),
        version=str(document["version"]),
        # A run's body carries the inputs: {"inputs": {…}}.
        example={"body": {"inputs": document["example"]}} if document.get("example") else None,
    )


SERVICES: tuple[ServiceSpec, ...] = tuple(chain_service(d) for d in shipped_documents())
