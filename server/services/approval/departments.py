"""Departments on a case and the department records of the service catalogue.

A case names each department as its users' tokens carry it in `dept` — a name such as
生态环境局, or the id of a department record (`ecology_environment`, see
`planfuse.services.monitoring.departments`). Where the name is a record's id, Chinese or
English name, every one of the three names the same department: a token saying
`"dept": "生态环境局"` answers for a case that asked `ecology_environment`, and the case
shows the record's names in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from planfuse.storage.models import Department


@dataclass(frozen=True)
class KnownDepartments:
    """The department records, by every name they go by."""

    by_name: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, name: str | None) -> dict[str, Any] | None:
        """`{"id", "name": {"zh-CN", "en"}}` of the record `name` names, or None."""
        return self.by_name.get((name or "").strip())

    def aliases(self, name: str | None) -> frozenset[str]:
        """Every name of the department `name` names (just `name` without a record)."""
        text = (name or "").strip()
        found = self.record(text)
        if found is None:
            return frozenset({text}) if text else frozenset()
        return frozenset({found["id"], found["name"]["zh-CN"], found["name"]["en"]})

    def same(self, case_dept: str, claim: str | None) -> bool:
        """Whether a token's `dept` claim names the case's department `case_dept`."""
        return bool(claim and claim.strip()) and claim.strip() in self.aliases(case_dept)


def known_departments(session: Session) -> KnownDepartments:
    """The department records as they are now (a small table, read per request)."""
    by_name: dict[str, dict[str, Any]] = {}
    for row in session.scalars(select(Department)):
        record = {"id": row.id, "name": {"zh-CN": row.name_zh, "en": row.name_en}}
        for name in (row.id, row.name_zh, row.name_en):
            by_name.setdefault(name, record)
    return KnownDepartments(by_name)
