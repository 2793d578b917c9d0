"""The OpenAPI 3.1 document, merged from one YAML fragment per area.

Each area documents its paths in `server/api/openapi/<area>.yaml`; a test checks that the
document and the registered routes agree. The document is assembled in the HTTP toolkit
(`planfuse.http.openapi`), which the service catalogue reads as well.
"""

from __future__ import annotations

from flask import jsonify

from planfuse.http.chains import published_chain_paths
from planfuse.http.context import planfuse
from planfuse.http.openapi import FRAGMENTS_DIR, openapi_document
from planfuse.http.routes import RouteTable

__all__ = ["FRAGMENTS_DIR", "openapi_document", "routes"]

routes = RouteTable()


@routes.get("/openapi.json")
def openapi_json():
    """This API's OpenAPI 3.1 document, with a run operation per published chain (its
    inputs schema)."""
    document = openapi_document()
    chains = published_chain_paths(planfuse(), document["paths"].get("/services/{service_id}/run"))
    if chains:
        document = {**document, "paths": {**document["paths"], **chains}}
    return jsonify(document)
