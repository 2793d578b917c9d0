"""Layer catalogue and admin import."""

from __future__ import annotations

from planfuse.http.audit import audit_event
from planfuse.http.caller import require_admin
from planfuse.http.context import planfuse
from planfuse.http.parsing import json_body
from planfuse.http.problems import not_found
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.http.uploads import import_upload
from planfuse.services.layers.catalogue import layer_detail, list_layers
from planfuse.services.layers.versions import make_version_current

routes = RouteTable()


@routes.get("/layers")
def layers_catalogue():
    """The layer catalogue: every layer with its current version's metadata."""
    return json_response({"layers": list_layers(planfuse())})


@routes.get("/layers/<layer_id>")
def layer_detail_view(layer_id: str):
    """One layer with all its versions."""
    entry = layer_detail(planfuse(), layer_id)
    if entry is None:
        raise not_found("layer", layer_id)
    return json_response(entry)


@routes.post("/layers/<layer_id>/versions")
def import_layer_version(layer_id: str):
    """Import an uploaded file (multipart field `file`) as a new version (admin only).

    Form fields: `kind` (required), `crs`, `name`, `department`, `map` (repeatable,
    `FIELD=attr`), `repair`, `restricted`, `as_of` (YYYY-MM-DD, required for
    `land_use_status`), `replace` (take `as_of` over from the version that has it).
    """
    admin = require_admin()
    summary = import_upload(layer_id, created_by=f"admin:{admin.name}")
    return json_response(summary.to_dict(), 201)


@routes.put("/layers/<layer_id>/current")
def set_current_version(layer_id: str):
    """Make an earlier (or later) stored version the current one: `{"version": 2}` (admin).

    The undo of a wrong import; reports made meanwhile keep naming the version they read.
    """
    require_admin()
    body = json_body(example='{"version": 2}')
    change = make_version_current(planfuse(), layer_id, body.get("version"))
    if change.changed:
        audit_event("layer.rollback", f"layer:{layer_id}", change.audit_detail())
    return json_response(change.to_dict())
