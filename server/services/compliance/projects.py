"""Projects registered by a host backend (`POST /api/v1/projects`).

A host registers the red line of an application once (geometry, CRS, name, requested land
use, project type) and locks the returned id in an embed token's `params.project`: the
widget then checks exactly that project, and the server refuses any other geometry. A
project belongs to the app that registered it; other apps cannot see or check it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import shapely
from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.compliance.check import check_inputs
from planfuse.services.compliance.redline import parse_red_line
from planfuse.services.compliance.reports import check_list_limit
from planfuse.storage.models import ComplianceProject

PROJECT_ID_MAX = 40
NAME_MAX = 300
EXTERNAL_ID_MAX = 200


def _text(value: Any, field: str, limit: int, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(
                f"`{field}` is required", errors=[{"field": field, "message": "required"}]
            )
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidInput(
            f"`{field}` must be text of at most {limit} characters",
            errors=[{"field": field, "message": f"text, at most {limit} characters"}],
        )
    return value.strip()


def register_project(ctx: PlanFuse, app_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Validate and store a project for `app_id`; returns it (with its id).

    body: `name`, `geometry` (GeoJSON geometry or Feature, WKT or a 界址点 list), `crs`
    (default EPSG:4490), `land_use` (用地用海 code), `project_type`, optional
    `external_id` (the host's reference) and `repair`. The geometry gets the same checks as
    a compliance check (including the maximum project area); nothing is stored on error.
    """
    name = _text(body.get("name"), "name", NAME_MAX, required=True)
    external_id = _text(body.get("external_id"), "external_id", EXTERNAL_ID_MAX, required=False)
    land_use, project_type, _ = check_inputs(
        ctx, body.get("land_use"), body.get("project_type"), None
    )
    repair = body.get("repair", False)
    if not isinstance(repair, bool):
        raise InvalidInput("`repair` must be true or false", errors=[{"field": "repair"}])
    red = parse_red_line(ctx, body.get("geometry"), body.get("crs"), repair=repair)
    limit = float(ctx.settings.max_project_area_m2)
    if red.area_m2 > limit:
        raise InvalidInput(
            f"the red line encloses {red.area_m2:,.0f} m², more than the {limit:,.0f} m² a "
            "project may have (setting max_project_area_m2)",
            code="project_too_large",
            errors=[{"field": "geometry", "message": "larger than max_project_area_m2"}],
            title="Project too large",
        )
    row = ComplianceProject(
        id="prj_" + secrets.token_hex(10),
        app_id=app_id,
        name=name,
        external_id=external_id,
        geom=shapely.to_wkb(red.geom_4490),
        source_crs=red.crs.key,
        source_geojson=_plain(red.source),
        area_m2=round(red.area_m2, 2),
        land_use=land_use.code,
        project_type=project_type,
        created_by=app_id,
    )
    with ctx.db.session() as session:
        session.add(row)
        session.flush()
        return _describe(row)


def _plain(obj: Any) -> Any:
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _describe(row: ComplianceProject, geometry: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "external_id": row.external_id,
        "land_use": row.land_use,
        "project_type": row.project_type,
        "crs": row.source_crs,
        "area_m2": row.area_m2,
        "created_at": row.created_at.isoformat(),
    }
    if geometry:
        out["geometry"] = shapely.geometry.mapping(shapely.from_wkb(row.geom))
        out["source_geometry"] = row.source_geojson
    return out


def _load(ctx: PlanFuse, app_id: str, project_id: Any) -> ComplianceProject:
    if not isinstance(project_id, str) or len(project_id) > PROJECT_ID_MAX:
        raise NotFound("project", str(project_id)[:PROJECT_ID_MAX])
    with ctx.db.session() as session:
        row = session.get(ComplianceProject, project_id)
        if row is None or row.app_id != app_id:
            raise NotFound("project", project_id)
        session.expunge(row)
    return row


def get_project(ctx: PlanFuse, app_id: str, project_id: Any) -> dict[str, Any]:
    """One of the app's projects (NotFound for another app's, as for an unknown id)."""
    return _describe(_load(ctx, app_id, project_id))


def project_check_input(ctx: PlanFuse, app_id: str, project_id: Any) -> dict[str, Any]:
    """What `check` needs for a registered project: its geometry as submitted, CRS, land
    use, type and name."""
    row = _load(ctx, app_id, project_id)
    return {
        "project": row.source_geojson,
        "crs": row.source_crs,
        "land_use": row.land_use,
        "project_type": row.project_type,
        "project_id": row.id,
        "project_name": row.name,
    }


def list_projects(
    ctx: PlanFuse, app_id: str, *, external_id: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The app's projects, newest first, without geometry."""
    check_list_limit(limit)
    query = (
        select(ComplianceProject)
        .where(ComplianceProject.app_id == app_id)
        .order_by(ComplianceProject.created_at.desc())
        .limit(limit)
    )
    if external_id:
        query = query.where(ComplianceProject.external_id == external_id)
    with ctx.db.session() as session:
        return [_describe(row, geometry=False) for row in session.scalars(query)]
