"""Red lines from uploaded files: GeoJSON, a zipped shapefile (its .prj names the CRS), or a
text file of 界址点坐标 / WKT. Parsed with the layer-file reader and the geo parser, checked
exactly like a red line sent to the check, and returned for preview — nothing is stored.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import shapely

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, TooLarge
from planfuse.geo.crs import crs_from_prj, resolve_crs
from planfuse.services.compliance.redline import RedLine, parse_red_line
from planfuse.services.layers.files import open_layer_file

#: A red line file is small (a few thousand vertices); anything bigger is not one.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
TEXT_SUFFIXES = {".txt", ".csv", ".wkt", ".dat"}
UPLOAD_TITLE = "Unreadable red line file"


def _problem(detail: str, code: str = "invalid_upload") -> InvalidInput:
    return InvalidInput(detail, code=code, field="file", title=UPLOAD_TITLE)


def parse_upload(
    ctx: PlanFuse,
    data: bytes,
    filename: str,
    crs: str | None = None,
    *,
    repair: bool = False,
) -> tuple[RedLine, dict[str, Any]]:
    """Parse an uploaded red line file; returns the red line and a JSON-ready preview:
    `geometry` (as submitted, in its CRS — send it with `crs` to the check), `crs`,
    `geometry_4490` (for the map), `area_m2`, `parts`, `notes`, `repaired`.

    The CRS comes from `crs`, else a shapefile's .prj or a GeoJSON `crs` member, else
    EPSG:4490; a .prj that contradicts `crs` is InvalidInput `crs_conflict`.
    """
    if not data:
        raise _problem("the uploaded file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(
            f"the file is {len(data):,} bytes; a red line file may have at most "
            f"{MAX_UPLOAD_BYTES:,}",
            field="file",
            title=UPLOAD_TITLE,
        )
    name = Path(filename or "upload").name[-200:] or "upload"
    suffix = Path(name).suffix.lower()
    project: Any
    if data[:2] == b"PK":
        project, crs = _from_zip(ctx, data, name, crs)
    elif suffix in {".shp", ".dbf", ".shx"}:
        raise _problem(
            f"{name}: a shapefile is several files; upload them together as one .zip "
            "(.shp, .shx, .dbf and .prj)"
        )
    else:
        # GeoJSON, WKT or a 界址点 list: the geo parser detects which.
        project = data
        if suffix in TEXT_SUFFIXES and crs in (None, ""):
            raise _problem(
                f"{name} is a coordinate list: choose its coordinate system (e.g. EPSG:4523 "
                "for Gauss–Krüger zone 35 with the zone prefix)",
                code="crs_required",
            )
        if suffix in {".geojson", ".json"} or data.lstrip()[:1] == b"{":
            import orjson

            try:
                project = orjson.loads(data)
            except orjson.JSONDecodeError:
                project = data  # the parser reports where the JSON breaks
    red = parse_red_line(ctx, project, crs, repair=repair)
    preview = {
        "file": name,
        "geometry": red.source,
        "crs": red.crs.key,
        "crs_name": red.crs.name,
        "geometry_4490": shapely.geometry.mapping(red.geom_4490),
        "area_m2": round(red.area_m2, 2),
        "parts": red.parts,
        "notes": red.notes,
        "repaired": red.repaired,
    }
    return red, preview


def _from_zip(ctx: PlanFuse, data: bytes, name: str, crs: str | None) -> tuple[Any, str | None]:
    settings = ctx.settings
    with tempfile.TemporaryDirectory(prefix="planfuse-redline-") as tmp:
        path = Path(tmp) / "upload.zip"
        path.write_bytes(data)
        with open_layer_file(
            path,
            max_bytes=min(settings.import_max_bytes, MAX_UPLOAD_BYTES * 5),
            max_entries=settings.zip_max_entries,
            display_name=name,
        ) as source:
            if source.format == "geojson":
                import orjson

                try:
                    return orjson.loads(source.geojson or b""), crs
                except orjson.JSONDecodeError:
                    return source.geojson, crs
            if source.problems:
                first = source.problems[0]
                raise _problem(
                    f"{source.name}: record {first['feature']} is empty; remove empty records"
                )
            declared = resolve_crs(crs, settings.datum_shifts) if crs else None
            from_prj = crs_from_prj(source.prj_wkt) if source.prj_wkt else None
            if declared and from_prj and declared.key != from_prj.key:
                raise InvalidInput(
                    f"you chose {declared.key} but {source.name}'s .prj says {from_prj.key}; "
                    "choose the CRS that matches the coordinates, or fix the .prj",
                    code="crs_conflict",
                    errors=[{"field": "crs", "message": "conflicts with the .prj file"}],
                    title="Conflicting coordinate systems",
                )
            chosen = (declared or from_prj).key if (declared or from_prj) else None
            if chosen is None:
                raise _problem(
                    f"{source.name} has no .prj: choose its coordinate system",
                    code="crs_required",
                )
            return {"type": "FeatureCollection", "features": source.features}, chosen
