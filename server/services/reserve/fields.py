"""The reserve's create body, checked field by field (the API contract):

    {"name", "type", "dept", "district", "land_use", "area_m2", "geometry"?, "crs"?,
     "funds": {"2026": 500}, "priority": 1..5, "depends_on": [ids],
     "earliest_year"?, "latest_year"?}

Every problem is collected, so one answer names every bad field (`errors[].field`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from planfuse.errors import InvalidInput
from planfuse.services.compliance.check import require_project_type
from planfuse.services.layers.land_use import require_land_use
from planfuse.storage.models.reserve import PROJECT_NAME_MAX

#: Years a plan may name (a project's start, funds by year, a schedule's horizon).
YEAR_MIN, YEAR_MAX = 2000, 2100
PRIORITY_MIN, PRIORITY_MAX = 1, 5
#: Most dependencies one project may name.
DEPENDS_MAX = 50
#: Largest land need accepted (m²): 100 km², beyond any single project.
AREA_MAX_M2 = 1e8
DEPT_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ADCODE = re.compile(r"^\d{6}$")
FIELDS = (
    "name",
    "type",
    "dept",
    "district",
    "land_use",
    "area_m2",
    "geometry",
    "crs",
    "funds",
    "priority",
    "depends_on",
    "earliest_year",
    "latest_year",
    "repair",
)


@dataclass
class ProjectInput:
    """A checked create body (geometry still as submitted; the red line is parsed later)."""

    name: str
    project_type: str
    dept: str
    district: str
    land_use: str
    area_m2: float
    funds: dict[str, float]
    priority: int
    depends_on: list[int] = field(default_factory=list)
    earliest_year: int | None = None
    latest_year: int | None = None
    geometry: Any = None
    crs: str | None = None
    repair: bool = False


class Problems:
    """Field problems gathered while checking one body."""

    def __init__(self, prefix: str = "") -> None:
        self.items: list[dict[str, Any]] = []
        self.prefix = prefix

    def add(self, name: str, message: str, **extra: Any) -> None:
        self.items.append({"field": self.prefix + name, "message": message, **extra})

    def absorb(self, exc: InvalidInput, name: str) -> None:
        for err in exc.errors or [{"message": exc.message}]:
            self.add(name, err.get("message", exc.message))

    def raise_if_any(self, what: str = "the project", code: str = "invalid_project") -> None:
        if not self.items:
            return
        names = ", ".join(dict.fromkeys(e["field"] for e in self.items))
        first = self.items[0]["message"]
        raise InvalidInput(
            f"{what} has {len(self.items)} problem(s) in {names}: {first}",
            code=code,
            errors=self.items,
            title="Invalid " + what.removeprefix("the "),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_year(value: Any, name: str, problems: Problems) -> int | None:
    """A calendar year between YEAR_MIN and YEAR_MAX (an integer, or its digits as text)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not _is_int(value) or not YEAR_MIN <= value <= YEAR_MAX:
        problems.add(name, f"a year from {YEAR_MIN} to {YEAR_MAX}, not {str(value)[:20]!r}")
        return None
    return int(value)


def check_funds(value: Any, problems: Problems, name: str = "funds") -> dict[str, float]:
    """Funds by year in 万元: {"2026": 500}; amounts ≥ 0; keys sorted by year."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.add(name, 'funds by year in 万元, e.g. {"2026": 500, "2027": 300}')
        return {}
    out: dict[str, float] = {}
    for key, amount in value.items():
        year = check_year(key, f"{name}.{key}", problems)
        if year is None:
            continue
        if not _is_number(amount) or amount < 0:
            problems.add(f"{name}.{key}", f"an amount in 万元, 0 or more, not {amount!r}")
            continue
        out[str(year)] = float(amount)
    return dict(sorted(out.items()))


def _text(body: Mapping[str, Any], name: str, limit: int, problems: Problems) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.add(name, "required (text)")
        return ""
    if len(value.strip()) > limit:
        problems.add(name, f"at most {limit} characters, not {len(value.strip())}")
        return ""
    return value.strip()


def _depends(value: Any, problems: Problems) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > DEPENDS_MAX:
        problems.add("depends_on", f"a list of at most {DEPENDS_MAX} project ids")
        return []
    out: list[int] = []
    for i, item in enumerate(value):
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if not _is_int(item) or item < 1:
            problems.add(f"depends_on[{i}]", f"a project id (a positive integer), not {item!r}")
            continue
        out.append(int(item))
    return sorted(set(out))


def check_project_body(body: Any, prefix: str = "") -> ProjectInput:
    """The checked project, or InvalidInput naming every bad field (nothing stored).

    `prefix` is put before every field name (e.g. "row 3: " for an imported row)."""
    problems = Problems(prefix)
    if not isinstance(body, Mapping):
        problems.add("body", "a JSON object with name, type, dept, district, land_use, …")
        problems.raise_if_any()
    unknown = sorted(set(body) - set(FIELDS) - {"user"})
    for name in unknown:
        problems.add(name, f"unknown field; expected one of {', '.join(FIELDS)}")
    name = _text(body, "name", PROJECT_NAME_MAX, problems)
    project_type = ""
    try:
        project_type = require_project_type(body.get("type"), "type")
    except InvalidInput as exc:
        problems.absorb(exc, "type")
    dept = body.get("dept")
    if not isinstance(dept, str) or not DEPT_ID.match(dept):
        problems.add(
            "dept",
            "a department id: lower-case letters, digits and _, e.g. natural_resources",
        )
    district = body.get("district")
    if isinstance(district, int) and not isinstance(district, bool):
        district = str(district)
    if not isinstance(district, str) or not ADCODE.match(district.strip()):
        problems.add("district", "a district adcode of 6 digits, e.g. 500112")
    else:
        district = district.strip()
    land_use = ""
    try:
        land_use = require_land_use(body.get("land_use"), "land_use").code
    except InvalidInput as exc:
        problems.absorb(exc, "land_use")
    area = body.get("area_m2")
    if not _is_number(area) or area <= 0 or area > AREA_MAX_M2:
        problems.add("area_m2", f"the land needed in m², more than 0 and at most {AREA_MAX_M2:.0f}")
    funds = check_funds(body.get("funds"), problems)
    priority = body.get("priority")
    if not _is_int(priority) or not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        problems.add("priority", f"an integer from {PRIORITY_MIN} (low) to {PRIORITY_MAX} (high)")
    depends_on = _depends(body.get("depends_on"), problems)
    earliest = latest = None
    if body.get("earliest_year") is not None:
        earliest = check_year(body["earliest_year"], "earliest_year", problems)
    if body.get("latest_year") is not None:
        latest = check_year(body["latest_year"], "latest_year", problems)
    if earliest is not None and latest is not None and earliest > latest:
        problems.add(
            "earliest_year", f"the earliest year {earliest} is after the latest year {latest}"
        )
    crs = body.get("crs")
    if crs is not None and (not isinstance(crs, str) or len(crs) > 64):
        problems.add("crs", "a CRS name such as EPSG:4490, EPSG:4524 or GCJ-02")
    repair = body.get("repair", False)
    if not isinstance(repair, bool):
        problems.add("repair", "true or false")
    problems.raise_if_any()
    return ProjectInput(
        name=name,
        project_type=project_type,
        dept=dept,
        district=district,
        land_use=land_use,
        area_m2=float(area),
        funds=funds,
        priority=int(priority),
        depends_on=depends_on,
        earliest_year=earliest,
        latest_year=latest,
        geometry=body.get("geometry"),
        crs=crs,
        repair=bool(repair),
    )
