"""The outcome rule of a case: how the departments' opinions decide it when the portal
closes it. The rule is data (setting `approval_outcome_rule`, or the case's own), copied
into the case when it opens, so changing the setting never changes an open case.

    {"reject_if_any": ["disagree"], "pending": "block"}

reject_if_any  opinions of which a single one rejects the case (联合审查不通过)
pending        what a department that gave no opinion means at closing: `block` (closing
               waits for it, unless the portal overrides with a reason), `ignore` (it does
               not count) or `reject` (the case is rejected)

The portal may override the rule's outcome (`state` in the close request) only with a reason,
kept in the case and its history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from planfuse.errors import Conflict, InvalidInput

OPINIONS = ("agree", "agree_with_conditions", "disagree")
PENDING_MODES = ("block", "ignore", "reject")
CLOSED_STATES = ("closed_approved", "closed_rejected")
RULE_KEYS = {"reject_if_any", "pending"}


def parse_outcome_rule(value: Any, field: str = "outcome_rule") -> dict[str, Any]:
    """A checked outcome rule (InvalidInput naming what is wrong)."""
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"`{field}` must be an object such as "
            '{"reject_if_any": ["disagree"], "pending": "block"}',
            field=field,
        )
    unknown = sorted(set(value) - RULE_KEYS)
    if unknown:
        raise InvalidInput(
            f"`{field}` has unknown key(s) {', '.join(unknown)}; expected reject_if_any, pending",
            field=f"{field}.{unknown[0]}",
        )
    reject = value.get("reject_if_any", ["disagree"])
    if not isinstance(reject, list) or not all(o in OPINIONS for o in reject):
        raise InvalidInput(
            f"`{field}.reject_if_any` must be a list of opinions among {', '.join(OPINIONS)}",
            field=f"{field}.reject_if_any",
        )
    pending = value.get("pending", "block")
    if pending not in PENDING_MODES:
        raise InvalidInput(
            f"`{field}.pending` must be one of {', '.join(PENDING_MODES)}",
            field=f"{field}.pending",
        )
    return {"reject_if_any": sorted(set(reject), key=OPINIONS.index), "pending": pending}


def rule_outcome(rule: Mapping[str, Any], opinions: Sequence[tuple[str, str | None]]) -> str:
    """closed_approved / closed_rejected from the (dept, opinion or None) pairs; Conflict
    (`opinions_pending`) when the rule blocks on departments that gave none."""
    pending = [dept for dept, opinion in opinions if opinion is None]
    given = [opinion for _, opinion in opinions if opinion is not None]
    if any(o in rule["reject_if_any"] for o in given):
        return "closed_rejected"
    if pending and rule["pending"] == "reject":
        return "closed_rejected"
    if pending and rule["pending"] == "block":
        raise Conflict(
            f"department(s) {', '.join(pending)} have given no opinion yet; wait for them, or "
            'close with `"state"` and a `"reason"` to override the outcome rule',
            code="opinions_pending",
            errors=[{"field": "departments", "message": f"pending: {', '.join(pending)}"}],
        )
    return "closed_approved"
