"""Who sees a case and who acts on it.

- The opening app (the approval portal) sees its cases; it closes and withdraws them with
  its Basic credentials, or from a session whose user has the role
  `approval_coordinator_role`.
- A department's app sees a case only when the case names it. Its backend (Basic) sees
  every department of the case that works from it; a widget session sees only the
  departments the token's `dept` claim names (user and department isolation; a department
  record's id and names are aliases, see `departments`).
- Anyone else gets the same NotFound as for a case that does not exist.
- Locked params of the `approval` widget narrow further: `case` (only that case) and
  `department` (only that department).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from planfuse.auth.caller import Caller
from planfuse.errors import Forbidden, NotFound
from planfuse.services.approval.departments import KnownDepartments


@dataclass(frozen=True)
class CaseAccess:
    """What a caller is to one case: the portal (the opening app) and/or the departments it
    may act for."""

    portal: bool
    departments: tuple[str, ...]


def locked_case(caller: Caller) -> str | None:
    value = (caller.params or {}).get("case")
    return None if value is None else str(value)


def locked_department(caller: Caller) -> str | None:
    value = (caller.params or {}).get("department")
    return None if value is None else str(value)


def check_case_lock(caller: Caller, case_id: str) -> None:
    """Forbidden when the embed token locks the widget to another case."""
    locked = locked_case(caller)
    if locked is not None and locked != case_id:
        raise Forbidden(
            f"the request widens parameter 'case' locked by the host: this widget is locked "
            f"to case {locked!r}",
            errors=[{"field": "case", "message": f"locked to {locked!r}"}],
        )


def case_access(
    caller: Caller,
    case_id: str,
    app_id: str,
    departments: Sequence[Any],
    known: KnownDepartments | None = None,
) -> CaseAccess:
    """The caller's access to a case (opened by `app_id`, with department rows having
    `dept` and `app_id`; `known`: the department records, whose names are one another's
    aliases); NotFound when the caller may not see it."""
    known = known or KnownDepartments()
    check_case_lock(caller, case_id)
    portal = caller.app_id == app_id
    mine = [d.dept for d in departments if d.app_id == caller.app_id]
    if caller.via != "basic":
        mine = [d for d in mine if known.same(d, caller.dept)]
    locked = locked_department(caller)
    if locked is not None:
        mine = [d for d in mine if known.same(d, locked)]
    if not portal and not mine:
        raise NotFound("approval case", case_id)
    return CaseAccess(portal=portal, departments=tuple(mine))
