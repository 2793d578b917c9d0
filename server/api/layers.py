"""Layer catalogue and admin import."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import request
from sqlalchemy import select

from planfuse.api import api_bp
from planfuse.api.auth import require_admin
from planfuse.api.common import form_flag, json_response
from planfuse.app import planfuse
from planfuse.errors import ProblemError, bad_request, not_found
from planfuse.services.layers import ImportOptions, import_layer, layer_entry, list_layers
from planfuse.storage.models import Layer, LayerVersion


@api_bp.get("/layers")
def layers_catalogue():
    """The layer catalogue: every layer with its current version's metadata."""
    return json_response({"layers": list_layers(planfuse())})


@api_bp.get("/layers/<layer_id>")
def layer_detail(layer_id: str):
    """One layer with all its versions."""
    ctx = planfuse()
    with ctx.db.session() as session:
        layer = session.get(Layer, layer_id)
        if layer is None:
            raise not_found("layer", layer_id)
        versions = session.scalars(
            select(LayerVersion)
            .where(LayerVersion.layer_id == layer_id)
            .order_by(LayerVersion.version.desc())
        ).all()
        current = next(v for v in versions if v.version == layer.current_version)
        entry = layer_entry(layer, current)
        entry["versions"] = [
            {
                "version": v.version,
                "crs": v.source_crs,
                "source_name": v.source_name,
                "feature_count": v.feature_count,
                "bbox": v.bbox,
                "created_by": v.created_by,
                "created": v.created_at.isoformat(),
            }
            for v in versions
        ]
    return json_response(entry)


@api_bp.post("/layers/<layer_id>/versions")
def import_layer_version(layer_id: str):
    """Import an uploaded file (multipart field `file`) as a new version (admin only).

    Form fields: `kind` (required), `crs`, `name`, `department`, `map` (repeatable,
    `FIELD=attr`), `repair`, `restricted`.
    """
    admin = require_admin()
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
        created_by=f"admin:{admin.name}",
    )
    with tempfile.TemporaryDirectory(prefix="planfuse-upload-") as tmp:
        target = Path(tmp) / "upload"
        upload.save(target)
        if target.stat().st_size == 0:
            raise ProblemError(400, "empty_file", "the uploaded file is empty")
        summary = import_layer(planfuse(), target, options, display_name=upload.filename)
    return json_response(summary.to_dict(), 201)
