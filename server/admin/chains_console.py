"""The admin console's chain editor (服务串联): the published chains with their versions,
and an editor — the chain document as JSON, a validate button listing each problem with
its step and field, a test run as a host app showing the trace, and publish.

Validating and publishing are cookie-and-CSRF twins of `POST /api/v1/chains/validate` and
`POST /api/v1/admin/chains`; the test run calls `POST /api/v1/chains/test-run` from the
page with the app id and secret typed in (not stored), as the catalogue's try-it form does.
"""

from __future__ import annotations

from flask import g, render_template, request, url_for

from planfuse.admin.chains_api import publish
from planfuse.admin.views import (
    check_csrf,
    console_change,
    console_page,
    csrf_token,
    require_signed_in,
)
from planfuse.http.caller import manages
from planfuse.http.chains import check_document
from planfuse.http.context import planfuse
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.chains import published
from planfuse.services.chains.shipped import shipped_documents
from planfuse.services.monitoring.departments import list_departments

routes = RouteTable()


def _listing() -> dict:
    """The published chains, each with whether the signed-in admin may publish new
    versions of it (a department administrator: their department's only)."""
    chains = [
        {**chain, "manageable": manages(g.admin, chain["dept"])}
        for chain in published.list_published(planfuse())
    ]
    return {"chains": chains, "total": len(chains)}


@routes.get("/chains")
@console_page(department_ok=True)
def chains_page():
    starter = next(d for d in shipped_documents() if d["id"] == "project_review")
    # A department administrator starts from a chain of their own department.
    dept = g.admin.dept or starter["dept"]
    page_config = {
        "csrf_token": csrf_token(),
        "list_url": url_for("admin.chains_json"),
        "chain_url": url_for("admin.chain_json", chain_id="CHAIN"),
        "version_url": url_for("admin.chain_version_json", chain_id="CHAIN", version=1)[:-6]
        + "VERSION.json",
        "validate_url": url_for("admin.chains_validate"),
        "publish_url": url_for("admin.chains_publish"),
        "test_run_url": "/api/v1/chains/test-run",
        "catalogue_url": url_for("admin.catalogue_page"),
        "schema_url": "/api/v1/chains/schema",
        # A starting point for a new chain: a shipped one under an id of its own.
        "starter": {**starter, "id": "my_project_review", "version": 1, "dept": dept},
        "admin_dept": g.admin.dept,
        "departments": [d.describe() for d in list_departments(planfuse())],
        "chains": _listing(),
    }
    return render_template("admin/chains.html", admin=g.admin, config=page_config)


@routes.get("/chains.json")
def chains_json():
    require_signed_in(department_ok=True)
    return json_response(_listing(), headers=NO_STORE)


@routes.get("/chains/<chain_id>.json")
def chain_json(chain_id: str):
    """A published chain's versions with its latest document."""
    require_signed_in(department_ok=True)
    return json_response(published.chain_versions(planfuse(), chain_id), headers=NO_STORE)


@routes.get("/chains/<chain_id>/versions/<int:version>.json")
def chain_version_json(chain_id: str, version: int):
    require_signed_in(department_ok=True)
    return json_response(published.chain_version(planfuse(), chain_id, version), headers=NO_STORE)


@routes.post("/chains/validate")
def chains_validate():
    """Check the editor's document as publishing would (400 naming step and field)."""
    require_signed_in(department_ok=True)
    check_csrf()
    document = request.get_json(silent=True)
    if isinstance(document, dict) and "version" not in document:
        document = {**document, "version": 1}
    chain = check_document(planfuse(), document)
    return json_response(
        {
            "valid": True,
            "id": chain.id,
            "version": chain.version,
            "steps": [{"id": s.id, "service": s.service} for s in chain.steps],
            "outputs": list(chain.outputs),
        }
    )


@routes.post("/chains/publish")
@console_change(department_ok=True)
def chains_publish():
    """Publish the editor's document: the next version of its id (a department
    administrator: under their department, of their own chains only)."""
    answer, status = publish(g.admin, request.get_json(silent=True))
    return json_response(answer, status)
