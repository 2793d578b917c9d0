"""Layer catalogue and admin import."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import request

from planfuse.api import api_bp
from planfuse.api.auth import require_admin
from planfuse.api.common import form_flag, json_response
from planfuse.app import planfuse
from planfuse.errors import ProblemError, bad_request, not_found
from planfuse.services.layers import (
    ImportOptions,
    ImportSummary,
    import_layer,
    layer_detail,
    list_layers,
)


@api_bp.get("/layers")
def layers_catalogue():
    """The layer catalogue: every layer with its current version's metadata."""
    return json_response({"layers": list_layers(planfuse())})


@api_bp.get("/layers/<layer_id>")
def layer_detail_view(layer_id: str):
    """One layer with all its versions."""
    entry = layer_detail(planfuse(), layer_id)
    if entry is None:
        raise not_found("layer", layer_id)
    return json_response(entry)


@api_bp.post("/layers/<layer_id>/versions")
def import_layer_version(layer_id: str):
    """Import an uploaded file (multipart field `file`) as a new version (admin only).

    Form fields: `kind` (required), `crs`, `name`, `department`, `map` (repeatable,
    `FIELD=attr`), `repair`, `restricted`.
    """
    admin = require_admin()
    summary = import_upload(layer_id, created_by=f"admin:{admin.name}")
    return json_response(summary.to_dict(), 201)


def import_upload(layer_id: str, *, created_by: str) -> ImportSummary:
    """Import the request's multipart upload (see `import_layer_version` for its fields)
    with `planfuse.services.layers.import_layer`; the admin console's form posts the same
    fields."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise bad_request("send the layer file as multipart form field `file`", field="file")
    form = request.form
    if not form.get("kind"):
        raise bad_request("form field `kind` is required, e.g. basic_farmland", field="kind")
    field_map: dict[str, str] = {}
    for item in form.getlist("map"):
        source, sep, attribute = item.partition("=")
        if not sep:
            raise bad_request(f"map entry {item!r} must be FIELD=attr", field="map")
        field_map[source] = attribute
    options = ImportOptions(
        layer_id=layer_id,
        kind=form["kind"],
        crs=form.get("crs") or None,
        name=form.get("name") or None,
        department=form.get("department", ""),
        field_map=field_map,
        repair=form_flag("repair"),
        restricted=form_flag("restricted"),
        created_by=created_by,
    )
    with tempfile.TemporaryDirectory(prefix="planfuse-upload-") as tmp:
        target = Path(tmp) / "upload"
        upload.save(target)
        if target.stat().st_size == 0:
            raise ProblemError(400, "empty_file", "the uploaded file is empty")
        return import_layer(planfuse(), target, options, display_name=upload.filename)
