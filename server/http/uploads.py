"""A layer file uploaded as a multipart form, read and imported: the API's
`POST /api/v1/layers/<id>/versions` and the admin console's upload form share it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import request

from planfuse.http.audit import audit_event
from planfuse.http.context import planfuse
from planfuse.http.parsing import form_flag
from planfuse.http.problems import ProblemError, bad_request
from planfuse.services.layers.importer import (
    ImportOptions,
    ImportSummary,
    import_layer,
    parse_as_of,
)


def import_upload(layer_id: str, *, created_by: str) -> ImportSummary:
    """Import the request's multipart upload (see `import_layer_version` for its fields)
    with `planfuse.services.layers.importer.import_layer`; the API
    (`POST /api/v1/layers/<id>/versions`) and the admin console's form post the same fields."""
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
        as_of=parse_as_of(form.get("as_of")),
        replace_as_of=form_flag("replace"),
    )
    with tempfile.TemporaryDirectory(prefix="planfuse-upload-") as tmp:
        target = Path(tmp) / "upload"
        upload.save(target)
        if target.stat().st_size == 0:
            raise ProblemError(400, "empty_file", "the uploaded file is empty")
        summary = import_layer(planfuse(), target, options, display_name=upload.filename)
    audit_event(
        "layer.import",
        f"layer:{summary.layer_id}",
        {**summary.audit_detail(), "file": upload.filename},
    )
    return summary
