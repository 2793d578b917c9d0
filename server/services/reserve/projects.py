"""The project reserve (项目储备库): create, list, read, change and delete proposed
projects.

Every function takes a :class:`Scope`: the host app, and for a widget session its user.
A session user sees and changes only the projects they proposed; a host backend (HTTP
Basic) sees every project of its app and names the proposing user when it creates one.
A project outside the scope behaves exactly like one that does not exist (NotFound).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping
from sqlalchemy import func, select

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, Forbidden, InvalidInput, NotFound
from planfuse.services.compliance.redline import RedLine, parse_red_line
from planfuse.services.layers.data import current_layers, layer_index
from planfuse.services.reserve.fields import ProjectInput, check_project_body
from planfuse.services.reserve.graph import check_dependencies
from planfuse.storage.models import Department
from planfuse.storage.models.base import utcnow
from planfuse.storage.models.reserve import ReserveProject

#: Pre-study outcomes (DOMAIN.md): 可落地, 需调整, 不可落地.
STATUSES = ("landable", "needs_adjustment", "not_landable")
#: The status filter's value for projects without a pre-study yet.
NOT_STUDIED = "not_studied"
#: Most projects one app's reserve may hold.
PROJECTS_PER_APP_MAX = 20000
LIST_LIMIT_MAX = 5000
#: Fields whose change makes the stored pre-study stale (it is cleared).
STUDY_INPUTS = ("project_type", "district", "land_use", "area_m2", "geom")


@dataclass(frozen=True)
class Scope:
    """Whose projects: the app, and for a session caller its user (None: the whole app);
    `depts` and `districts` narrow it further when the host locked them (None: all)."""

    app_id: str
    user_id: str | None = None
    depts: tuple[str, ...] | None = None
    districts: tuple[str, ...] | None = None

    def check_locks(self, data: ProjectInput) -> None:
        """Forbidden when a project would leave the locked departments or districts."""
        for name, value, allowed in (
            ("dept", data.dept, self.depts),
            ("district", data.district, self.districts),
        ):
            if allowed is not None and value not in allowed:
                raise Forbidden(
                    f"{name} {value!r} is outside the {name} locked by the host "
                    f"({', '.join(allowed)})",
                    errors=[{"field": name, "message": f"locked to {', '.join(allowed)}"}],
                )


@dataclass(frozen=True)
class ListFilter:
    """Narrowing of a list: departments, districts, pre-study statuses (None: all)."""

    depts: tuple[str, ...] | None = None
    districts: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    limit: int = 1000
    offset: int = 0


def _visible(query, scope: Scope):
    query = query.where(ReserveProject.app_id == scope.app_id)
    if scope.user_id is not None:
        query = query.where(ReserveProject.user_id == scope.user_id)
    if scope.depts is not None:
        query = query.where(ReserveProject.dept.in_(scope.depts))
    if scope.districts is not None:
        query = query.where(ReserveProject.district.in_(scope.districts))
    return query


def _not_found(project_id: Any) -> NotFound:
    return NotFound(
        "reserve project", project_id, message=f"reserve project {project_id} does not exist"
    )


def load(session, scope: Scope, project_id: int) -> ReserveProject:
    """The scope's project `project_id` in `session`, or NotFound."""
    row = session.scalars(
        _visible(select(ReserveProject), scope).where(ReserveProject.id == project_id)
    ).first()
    if row is None:
        raise _not_found(project_id)
    return row


def district_codes(ctx: PlanFuse) -> set[str] | None:
    """The adcodes of the current district layer, or None when none is loaded."""
    refs = current_layers(ctx, ["district"])
    if not refs:
        return None
    attrs = layer_index(ctx, refs[0]).attributes
    codes = attrs.get("adcode")
    if codes is None:
        codes = attrs.get("district")
    return {str(c) for c in codes if c is not None} if codes is not None else None


def check_district(ctx: PlanFuse, district: str, field: str = "district") -> None:
    """InvalidInput when a district layer is loaded and `district` is none of its adcodes."""
    known = district_codes(ctx)
    if known is not None and district not in known:
        raise InvalidInput(
            f"district {district!r} is not an adcode of the district layer "
            f"(e.g. {', '.join(sorted(known)[:3])})",
            code="unknown_district",
            errors=[{"field": field, "message": f"unknown district {district!r}"}],
            title="Unknown district",
        )


def check_dept(ctx: PlanFuse, dept: str, field: str = "dept") -> None:
    """InvalidInput unless `dept` is a department record (GET /api/v1/admin/departments)."""
    with ctx.db.session() as session:
        if session.get(Department, dept) is not None:
            return
        known = session.scalars(select(Department.id).order_by(Department.id)).all()
    raise InvalidInput(
        f"department {dept!r} is unknown; expected one of {', '.join(known)} (an "
        "administrator adds departments)",
        code="unknown_department",
        errors=[{"field": field, "message": f"unknown department {dept!r}"}],
        title="Unknown department",
    )


def red_line(ctx: PlanFuse, data: ProjectInput, field: str = "geometry") -> RedLine | None:
    """The project's red line parsed from any supported CRS, or None when it has none."""
    if data.geometry is None:
        return None
    red = parse_red_line(ctx, data.geometry, data.crs, repair=data.repair)
    limit = float(ctx.settings.max_project_area_m2)
    if red.area_m2 > limit:
        raise InvalidInput(
            f"the red line encloses {red.area_m2:,.0f} m², more than the {limit:,.0f} m² a "
            "project may have (setting max_project_area_m2)",
            code="project_too_large",
            errors=[{"field": field, "message": "larger than max_project_area_m2"}],
            title="Project too large",
        )
    return red


def _apply(row: ReserveProject, data: ProjectInput, red: RedLine | None, keep_geom: bool):
    before = {name: getattr(row, name, None) for name in STUDY_INPUTS}
    row.name = data.name
    row.project_type = data.project_type
    row.dept = data.dept
    row.district = data.district
    row.land_use = data.land_use
    row.area_m2 = round(data.area_m2, 2)
    row.funds = data.funds
    row.priority = data.priority
    row.depends_on = data.depends_on
    row.earliest_year = data.earliest_year
    row.latest_year = data.latest_year
    if not keep_geom:
        if red is None:
            row.geom = row.source_crs = row.source_geojson = row.red_line_area_m2 = None
        else:
            row.geom = shapely.to_wkb(red.geom_4490)
            row.source_crs = red.crs.key
            row.source_geojson = red.source
            row.red_line_area_m2 = round(red.area_m2, 2)
    if any(getattr(row, name) != value for name, value in before.items()):
        row.pre_study_status = row.pre_study = row.pre_study_at = None


def _edges(session, app_id: str) -> dict[int, list[int]]:
    rows = session.execute(
        select(ReserveProject.id, ReserveProject.depends_on).where(ReserveProject.app_id == app_id)
    ).all()
    return {pid: list(deps or []) for pid, deps in rows}


def _visible_ids(session, scope: Scope) -> set[int]:
    return set(session.scalars(_visible(select(ReserveProject.id), scope)))


def create_project(
    ctx: PlanFuse, scope: Scope, user_id: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Check and store a new project proposed by `user_id`; returns it with its `id`.
    Nothing is stored when any field is wrong (InvalidInput naming the fields)."""
    data = check_project_body(body)
    scope.check_locks(data)
    check_dept(ctx, data.dept)
    check_district(ctx, data.district)
    red = red_line(ctx, data)
    now = utcnow()
    with ctx.db.write_session() as session:
        count = session.scalar(
            select(func.count(ReserveProject.id)).where(ReserveProject.app_id == scope.app_id)
        )
        if count >= PROJECTS_PER_APP_MAX:
            raise Conflict(
                f"this app's reserve holds {count} projects, the most allowed; delete some",
                code="too_many_projects",
            )
        # A new project has no id yet, so it cannot close a cycle; its dependencies exist.
        check_dependencies({0: data.depends_on}, _visible_ids(session, scope))
        row = ReserveProject(app_id=scope.app_id, user_id=user_id, created_at=now, updated_at=now)
        _apply(row, data, red, keep_geom=False)
        session.add(row)
        session.flush()
        return describe(row)


def contract_body(row: ReserveProject) -> dict[str, Any]:
    """The project in the create body's form (what an update merges into)."""
    return {
        "name": row.name,
        "type": row.project_type,
        "dept": row.dept,
        "district": row.district,
        "land_use": row.land_use,
        "area_m2": row.area_m2,
        "funds": dict(row.funds or {}),
        "priority": row.priority,
        "depends_on": list(row.depends_on or []),
        "earliest_year": row.earliest_year,
        "latest_year": row.latest_year,
    }


def update_project(
    ctx: PlanFuse, scope: Scope, project_id: int, body: Mapping[str, Any], *, replace: bool
) -> dict[str, Any]:
    """Change a project: `replace` (PUT) takes a whole create body; otherwise (PATCH) the
    given fields are merged into the stored ones. A `geometry` of null removes the red
    line; without `geometry` a merge keeps it. Changing what the pre-study reads (type,
    district, land use, area, red line) clears the stored pre-study."""
    if not isinstance(body, Mapping):
        check_project_body(body)
    with ctx.db.write_session() as session:
        row = load(session, scope, project_id)
        merged = dict(body) if replace else {**contract_body(row), **body}
        data = check_project_body(merged)
        scope.check_locks(data)
        check_dept(ctx, data.dept)
        check_district(ctx, data.district)
        keep_geom = not replace and "geometry" not in body
        red = None if keep_geom else red_line(ctx, data)
        edges = _edges(session, scope.app_id)
        edges[row.id] = data.depends_on
        check_dependencies({row.id: data.depends_on}, _visible_ids(session, scope))
        check_dependencies(edges, set(edges))
        _apply(row, data, red, keep_geom=keep_geom)
        row.updated_at = utcnow()
        session.flush()
        return describe(row)


def delete_project(ctx: PlanFuse, scope: Scope, project_id: int) -> None:
    """Delete a project; Conflict (nothing deleted) while other projects depend on it."""
    with ctx.db.write_session() as session:
        row = load(session, scope, project_id)
        dependents = sorted(
            pid for pid, deps in _edges(session, scope.app_id).items() if project_id in deps
        )
        if dependents:
            raise Conflict(
                f"projects {', '.join(map(str, dependents))} depend on project {project_id}; "
                "remove those dependencies first",
                code="project_has_dependents",
                errors=[{"field": "depends_on", "dependents": dependents, "message": "in use"}],
            )
        session.delete(row)


def get_project(ctx: PlanFuse, scope: Scope, project_id: int) -> dict[str, Any]:
    """One project of the scope with its red line and latest pre-study."""
    with ctx.db.session() as session:
        return describe(load(session, scope, project_id), pre_study=True)


def list_projects(ctx: PlanFuse, scope: Scope, flt: ListFilter) -> dict[str, Any]:
    """The scope's projects by id, narrowed by `flt`, without geometry or pre-study detail."""
    if not 1 <= flt.limit <= LIST_LIMIT_MAX or flt.offset < 0:
        raise InvalidInput(
            f"limit is 1 to {LIST_LIMIT_MAX} and offset 0 or more",
            errors=[{"field": "limit", "message": f"1 to {LIST_LIMIT_MAX}"}],
        )
    query = _visible(select(ReserveProject), scope)
    if flt.depts is not None:
        query = query.where(ReserveProject.dept.in_(flt.depts))
    if flt.districts is not None:
        query = query.where(ReserveProject.district.in_(flt.districts))
    if flt.statuses is not None:
        studied = [s for s in flt.statuses if s != NOT_STUDIED]
        cond = ReserveProject.pre_study_status.in_(studied)
        if NOT_STUDIED in flt.statuses:
            cond = cond | ReserveProject.pre_study_status.is_(None)
        query = query.where(cond)
    with ctx.db.session() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(
            query.order_by(ReserveProject.id).limit(flt.limit).offset(flt.offset)
        ).all()
        return {"total": total, "projects": [describe(r, geometry=False) for r in rows]}


def load_many(ctx: PlanFuse, scope: Scope, ids: list[int] | None) -> list[ReserveProject]:
    """The scope's projects with these ids (all of them for None), detached, by id;
    NotFound naming the first id outside the scope."""
    with ctx.db.session() as session:
        query = _visible(select(ReserveProject), scope).order_by(ReserveProject.id)
        if ids is not None:
            query = query.where(ReserveProject.id.in_(ids))
        rows = list(session.scalars(query))
        found = {r.id for r in rows}
        for pid in ids or ():
            if pid not in found:
                raise _not_found(pid)
        for r in rows:
            session.expunge(r)
        return rows


def describe(
    row: ReserveProject, *, geometry: bool = True, pre_study: bool = False
) -> dict[str, Any]:
    """A project as the API shows it (geometry in EPSG:4490 and as submitted)."""
    out: dict[str, Any] = {
        "id": row.id,
        **contract_body(row),
        "funds_total": round(sum((row.funds or {}).values()), 2),
        "has_red_line": row.geom is not None,
        "crs": row.source_crs,
        "red_line_area_m2": row.red_line_area_m2,
        "user": row.user_id,
        "pre_study_status": row.pre_study_status,
        "pre_study_at": row.pre_study_at.isoformat() if row.pre_study_at else None,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }
    if geometry:
        out["geometry"] = mapping(shapely.from_wkb(row.geom)) if row.geom is not None else None
        out["source_geometry"] = row.source_geojson
    if pre_study:
        out["pre_study"] = row.pre_study
    return out
