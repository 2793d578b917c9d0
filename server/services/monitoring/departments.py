"""Publishing departments (发布部门): the records every catalogued service names as its
publisher, by a stable id such as ``natural_resources``.

The departments a city's platform starts with are created by the migration that adds the
table (:data:`DEFAULT_DEPARTMENTS`); an administrator adds or renames others
(`PUT /api/v1/admin/departments/{id}`). Ids never change: services, grants and other
records refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.monitoring.spec import SERVICE_ID
from planfuse.storage.models import Department


@dataclass(frozen=True)
class DepartmentInfo:
    id: str
    name_zh: str
    name_en: str

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": {"zh-CN": self.name_zh, "en": self.name_en}}


#: The departments every database starts with (migration 0013 creates them). Use these ids
#: in service declarations: natural_resources publishes PlanFuse's own services.
DEFAULT_DEPARTMENTS: tuple[DepartmentInfo, ...] = (
    DepartmentInfo(
        "natural_resources", "规划和自然资源局", "Planning and Natural Resources Bureau"
    ),
    DepartmentInfo("ecology_environment", "生态环境局", "Ecology and Environment Bureau"),
    DepartmentInfo("development_reform", "发展和改革委员会", "Development and Reform Commission"),
    DepartmentInfo(
        "housing_construction",
        "住房和城乡建设委员会",
        "Housing and Urban-Rural Development Commission",
    ),
    DepartmentInfo("water_resources", "水利局", "Water Resources Bureau"),
    DepartmentInfo("forestry", "林业局", "Forestry Bureau"),
    DepartmentInfo("cultural_heritage", "文物局", "Cultural Heritage Bureau"),
    DepartmentInfo("transport", "交通局", "Transport Bureau"),
    DepartmentInfo(
        "agriculture_rural", "农业农村委员会", "Agriculture and Rural Affairs Commission"
    ),
    DepartmentInfo("emergency_management", "应急管理局", "Emergency Management Bureau"),
)
DEFAULT_DEPARTMENT_IDS = frozenset(d.id for d in DEFAULT_DEPARTMENTS)
#: The department publishing PlanFuse's own services.
PLATFORM_DEPARTMENT = "natural_resources"
MAX_NAME_LENGTH = 200


def _info(row: Department) -> DepartmentInfo:
    return DepartmentInfo(row.id, row.name_zh, row.name_en)


def list_departments(ctx: PlanFuse) -> list[DepartmentInfo]:
    """Every department, by id."""
    with ctx.db.session() as session:
        rows = session.scalars(select(Department).order_by(Department.id)).all()
        return [_info(row) for row in rows]


def get_department(ctx: PlanFuse, department_id: str) -> DepartmentInfo:
    """One department, or NotFound naming the known ids."""
    with ctx.db.session() as session:
        row = session.get(Department, department_id)
        if row is not None:
            return _info(row)
    known = ", ".join(d.id for d in list_departments(ctx))
    raise NotFound(
        "department", department_id, code="unknown_department", hint=f"departments: {known}"
    )


def check_department_id(department_id: Any, field: str = "id") -> str:
    """A well-formed department id, or InvalidInput naming `field`."""
    if not isinstance(department_id, str) or not SERVICE_ID.match(department_id):
        raise InvalidInput(
            f"department id {department_id!r} must be lower-case letters, digits and _ "
            "(2–32 characters, starting with a letter), e.g. natural_resources",
            field=field,
        )
    return department_id


def _check_name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"`{field}` must be a non-empty string", field=field)
    value = value.strip()
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidInput(f"`{field}` is longer than {MAX_NAME_LENGTH} characters", field=field)
    return value


def save_department(ctx: PlanFuse, department_id: str, body: Any) -> tuple[DepartmentInfo, bool]:
    """Create or rename a department from ``{"name": {"zh-CN": …, "en": …}}``.

    Returns the department and whether it was created.
    """
    check_department_id(department_id)
    if not isinstance(body, dict) or not isinstance(body.get("name"), dict):
        raise InvalidInput(
            'send {"name": {"zh-CN": "生态环境局", "en": "Ecology and Environment Bureau"}}',
            field="name",
        )
    unknown = sorted(set(body) - {"id", "name"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    if body.get("id", department_id) != department_id:
        raise InvalidInput("`id` differs from the id in the path; ids never change", field="id")
    name_zh = _check_name(body["name"].get("zh-CN"), "name.zh-CN")
    name_en = _check_name(body["name"].get("en"), "name.en")
    with ctx.db.write_session() as session:
        row = session.get(Department, department_id)
        created = row is None
        if row is None:
            row = Department(id=department_id, name_zh=name_zh, name_en=name_en)
            session.add(row)
        else:
            row.name_zh, row.name_en = name_zh, name_en
        session.flush()
        return _info(row), created
