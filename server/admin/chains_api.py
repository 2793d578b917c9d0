"""The admin API of published chains (服务串联发布): publish a chain document as a new
version of a function service, list the published chains and read each version.
Unpublishing is stopping the service (`POST /api/v1/admin/services/{id}/stop`)."""

from __future__ import annotations

from typing import Any

from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin, require_chain_department
from planfuse.http.chains import check_document
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.admin_tokens import Admin
from planfuse.services.chains import published

routes = RouteTable()


def publish(admin: Admin, body: Any) -> tuple[dict[str, Any], int]:
    """Publish `body` (a chain document) by `admin` (a department administrator: under
    their department, new versions of their own chains only): (answer, HTTP status). The
    admin API's and the console's."""
    require_chain_department(admin, body)
    ctx = planfuse()
    entry, created = published.publish_chain(
        ctx, body, by=f"admin:{admin.name}", check=lambda document: check_document(ctx, document)
    )
    if created:
        audit_event("chain.publish", f"service:{entry['id']}", {"version": entry["version"]})
    return {**entry, "created": created}, 201 if created else 200


@routes.post("/admin/chains")
def admin_publish_chain():
    """Publish a chain: version 1 of a new id, or the next version of a published one."""
    answer, status = publish(require_admin(department_ok=True), json_body())
    return json_response(answer, status)


@routes.get("/admin/chains")
def admin_list_chains():
    """Every published chain with its latest version."""
    require_admin(department_ok=True)
    chains = published.list_published(planfuse())
    return json_response({"chains": chains, "total": len(chains)}, headers=NO_STORE)


@routes.get("/admin/chains/<chain_id>")
def admin_chain_versions(chain_id: str):
    """A published chain's versions, newest first, with its latest document."""
    require_admin(department_ok=True)
    return json_response(published.chain_versions(planfuse(), chain_id), headers=NO_STORE)


@routes.get("/admin/chains/<chain_id>/versions/<int:version>")
def admin_chain_version(chain_id: str, version: int):
    """One published version with its document."""
    require_admin(department_ok=True)
    return json_response(published.chain_version(planfuse(), chain_id, version), headers=NO_STORE)
