"""The evidence a case freezes when it opens (冻结证据): every department judges the same
thing, whatever changes in the layers or the conflicts afterwards.

- the compliance report of the project's red line, run at that moment and signed (the
  report is stored as any compliance check is, for the opening app);
- the conflict patches (差异图斑) of the last detections that touch the red line by more
  than `conflict_noise_m2`, with the overlap's area in m² and share of the project;
- the project itself (name, land use, type, red line in EPSG:4490): a project the app
  registered, or a reserve project (项目储备库) with its latest pre-study (预研) where it
  has one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from sqlalchemy import select

from planfuse.auth.caller import Caller
from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.services.compliance.check import check, report_bytes
from planfuse.services.compliance.projects import get_project
from planfuse.services.conflicts.queries import conflict_dict
from planfuse.services.reserve.projects import Scope
from planfuse.services.reserve.projects import get_project as get_reserve_project
from planfuse.storage.models import Conflict
from planfuse.storage.models.base import utcnow


@dataclass(frozen=True)
class FrozenEvidence:
    """The evidence document (JSON bytes), its SHA-256 and what the case row keeps apart."""

    document: bytes
    sha256: str
    project: dict[str, Any]
    report_id: str
    verdict: str
    conflict_count: int
    area_m2: float
    bbox: tuple[float, float, float, float]


def conflicts_touching(ctx: PlanFuse, red_4490: Any, area_m2: float) -> list[dict[str, Any]]:
    """Current, non-sliver conflict patches overlapping the red line by more than
    `conflict_noise_m2` (m², measured in the working CRS), largest overlap first."""
    minx, miny, maxx, maxy = shapely.bounds(red_4490)
    query = select(Conflict).where(
        Conflict.current.is_(True),
        Conflict.sliver.is_(False),
        Conflict.maxx >= minx,
        Conflict.minx <= maxx,
        Conflict.maxy >= miny,
        Conflict.miny <= maxy,
    )
    red_work = ctx.work.to_work(red_4490)
    shapely.prepare(red_work)
    noise = float(ctx.settings.conflict_noise_m2)
    found = []
    with ctx.db.session() as session:
        for row in session.scalars(query):
            patch = ctx.work.to_work(shapely.from_wkb(row.geom))
            if not shapely.intersects(red_work, patch):
                continue
            overlap = float(shapely.area(shapely.intersection(red_work, patch)))
            if overlap <= noise:
                continue
            doc = conflict_dict(row, locale="zh-CN")
            doc["type_name"] = {
                "zh-CN": doc["type_name"],
                "en": conflict_dict(row, geometry=False, locale="en")["type_name"],
            }
            doc.pop("status_name", None)
            doc["overlap_area_m2"] = round(overlap, 2)
            doc["overlap_ratio"] = round(overlap / area_m2, 6) if area_m2 else 0.0
            found.append(doc)
    found.sort(key=lambda c: (-c["overlap_area_m2"], c["id"]))
    return found


def _registered(ctx: PlanFuse, caller: Caller, project_id: Any) -> dict[str, Any]:
    project = get_project(ctx, caller.app_id, project_id)
    return {**project, "kind": "registered", "pre_study": None}


def _reserve(ctx: PlanFuse, caller: Caller, project_id: Any) -> dict[str, Any]:
    """A reserve project of the caller's scope (a session user: their own), with its red
    line and its latest pre-study (预研) if it has one."""
    try:
        number = int(project_id)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"a reserve project's id is a number; got {str(project_id)[:40]!r}", field="project"
        ) from None
    scope = Scope(app_id=caller.app_id, user_id=None if caller.via == "basic" else caller.user)
    found = get_reserve_project(ctx, scope, number)
    if found["geometry"] is None:
        raise InvalidInput(
            f"reserve project {number} has no red line yet: site it first (辅助选址), then "
            "open the case",
            field="project",
            code="no_red_line",
        )
    return {
        "id": str(found["id"]),
        "name": found["name"],
        "external_id": None,
        "land_use": found["land_use"],
        "project_type": found["type"],
        "area_m2": found["red_line_area_m2"],
        "crs": found["crs"],
        "geometry": found["geometry"],
        "source_geometry": found["source_geometry"],
        "kind": "reserve",
        "pre_study": found.get("pre_study"),
        "district": found.get("district"),
        "dept": found.get("dept"),
    }


def freeze_evidence(
    ctx: PlanFuse, caller: Caller, project_id: Any, kind: str = "registered"
) -> FrozenEvidence:
    """Check the project now and collect the conflicts touching it. `kind`: `registered`
    (a project the app registered; NotFound for another's) or `reserve` (a reserve
    project of the caller's scope, with its latest pre-study)."""
    load = _reserve if kind == "reserve" else _registered
    project = load(ctx, caller, project_id)
    report = check(
        ctx,
        project["source_geometry"],
        project["crs"],
        project["land_use"],
        project["project_type"],
        caller=caller,
        # The compliance report names registered projects only (its project ids).
        project_id=project["id"] if kind == "registered" else None,
        project_name=project["name"],
    )
    compliance = orjson.loads(report_bytes(report))
    red = shapely.geometry.shape(project["geometry"])
    conflicts = conflicts_touching(ctx, red, float(project["area_m2"]))
    described = {k: project[k] for k in ("id", "name", "external_id", "land_use")}
    described |= {
        "kind": kind,
        "project_type": project["project_type"],
        "area_m2": project["area_m2"],
        "crs": project["crs"],
        "geometry": project["geometry"],
    }
    document = {
        "frozen_at": utcnow().isoformat(),
        "project": described,
        "compliance": compliance,
        "conflicts": conflicts,
        "conflicts_overlap_area_m2": round(sum(c["overlap_area_m2"] for c in conflicts), 2),
        "pre_study": project["pre_study"],
        "data_versions": compliance["data_versions"],
    }
    body = orjson.dumps(document)
    return FrozenEvidence(
        document=body,
        sha256=hashlib.sha256(body).hexdigest(),
        project=described,
        report_id=compliance["id"],
        verdict=compliance["verdict"],
        conflict_count=len(conflicts),
        area_m2=float(project["area_m2"]),
        bbox=tuple(float(v) for v in shapely.bounds(red)),
    )
