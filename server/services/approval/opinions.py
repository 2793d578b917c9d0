"""Departments' opinions on a case (部门意见).

One opinion per department, revisable until the case closes; every revision is kept in
the case's append-only history (`approval_events`), the department row holds the latest.

- `agree` (同意): no conditions;
- `agree_with_conditions` (有条件同意): `conditions`, a list of text items (at least one);
- `disagree` (不同意): `reasons` required — on every revision, not only the first.

Who: a user of the department's app whose token names the department (`dept`) and has the
role `approval_approver_role`, from an `approval` widget session; or the department app's
backend (HTTP Basic) naming `dept` and the `user` it acts for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from planfuse.auth.caller import Caller
from planfuse.context import PlanFuse
from planfuse.errors import Conflict, Forbidden, InvalidInput, NotFound
from planfuse.services.approval import notify
from planfuse.services.approval.attachments import attachments_for_opinion
from planfuse.services.approval.cases import (
    REASON_MAX,
    _case_id,
    _department_rows,
    actor_of,
    begin_write,
    department_of,
    describe_case,
    load_case,
    lock_open_case,
    require_approver,
)
from planfuse.services.approval.departments import known_departments
from planfuse.services.approval.rules import OPINIONS
from planfuse.storage.models import ApprovalCase, ApprovalDepartment, ApprovalEvent
from planfuse.storage.models.base import utcnow

OPINION_FIELDS = {"opinion", "conditions", "reasons", "attachments", "dept", "user"}
MAX_CONDITIONS = 50
CONDITION_MAX = 2000
OPINION_NAMES = {
    "agree": {"zh-CN": "同意", "en": "Agree"},
    "agree_with_conditions": {"zh-CN": "有条件同意", "en": "Agree with conditions"},
    "disagree": {"zh-CN": "不同意", "en": "Disagree"},
}


def parse_opinion(body: Mapping[str, Any]) -> tuple[str, list[str], str | None, list[str]]:
    """(opinion, conditions, reasons, attachment ids) from a request body, checked."""
    unknown = sorted(set(body) - OPINION_FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; expected opinion, conditions, reasons, "
            "attachments",
            field=unknown[0],
        )
    opinion = body.get("opinion")
    if opinion not in OPINIONS:
        raise InvalidInput(
            f"`opinion` must be one of {', '.join(OPINIONS)} (同意, 有条件同意, 不同意)",
            field="opinion",
            code="invalid_opinion",
        )
    conditions = body.get("conditions") or []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise InvalidInput(
            f"`conditions` must be a list of at most {MAX_CONDITIONS} text items",
            field="conditions",
        )
    cleaned = []
    for i, item in enumerate(conditions):
        if not isinstance(item, str) or not 0 < len(item.strip()) <= CONDITION_MAX:
            raise InvalidInput(
                f"`conditions[{i}]` must be non-empty text of at most {CONDITION_MAX} characters",
                field=f"conditions[{i}]",
            )
        cleaned.append(item.strip())
    if opinion == "agree_with_conditions" and not cleaned:
        raise InvalidInput(
            "`agree_with_conditions` needs its `conditions` (at least one text item)",
            field="conditions",
            code="conditions_required",
        )
    if opinion != "agree_with_conditions" and cleaned:
        raise InvalidInput(
            f"`{opinion}` takes no conditions; use agree_with_conditions for an agreement "
            "with conditions",
            field="conditions",
        )
    reasons = body.get("reasons")
    if reasons is not None and (not isinstance(reasons, str) or len(reasons) > REASON_MAX):
        raise InvalidInput(
            f"`reasons` must be text of at most {REASON_MAX} characters", field="reasons"
        )
    reasons = reasons.strip() if reasons and reasons.strip() else None
    if opinion == "disagree" and reasons is None:
        raise InvalidInput(
            "`disagree` needs its `reasons` (不同意须说明理由)",
            field="reasons",
            code="reasons_required",
        )
    attachments = body.get("attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise InvalidInput(
            "`attachments` must be a list of attachment ids (from POST …/attachments)",
            field="attachments",
        )
    return opinion, cleaned, reasons, list(dict.fromkeys(attachments))


def give_opinion(
    ctx: PlanFuse, caller: Caller, case_id: Any, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Record the caller's department's opinion (a new revision); returns the case and the
    revision as `{"case": …, "opinion": …}`."""
    opinion, conditions, reasons, attachment_ids = parse_opinion(body)
    actor = actor_of(caller, {k: v for k, v in body.items() if k == "user"})
    if caller.via == "basic" and actor.user is None:
        raise InvalidInput(
            "a host backend (HTTP Basic) names the user it acts for: send `user`",
            field="user",
            code="user_required",
        )
    with ctx.db.write_session() as session:
        begin_write(session, case_id)
        try:
            case, rows, access = load_case(session, caller, case_id)
        except NotFound:
            _refuse_other_department(session, caller, case_id)
            raise
        row = department_of(caller, rows, access, body, known_departments(session))
        require_approver(ctx, caller)
        lock_open_case(session, case.id, "take opinions")
        attachments = attachments_for_opinion(session, case.id, row.dept, attachment_ids)
        revision = row.revisions + 1
        now = utcnow()
        event = ApprovalEvent(
            case_id=case.id,
            action="opinion",
            dept=row.dept,
            revision=revision,
            opinion=opinion,
            conditions=conditions,
            reasons=reasons,
            attachments=attachments,
            app_id=actor.app_id,
            user=actor.user,
            user_name=actor.name,
            at=now,
        )
        # Compare-and-set on the revision count: of two racing revisions one wins.
        done = session.execute(
            update(ApprovalDepartment)
            .where(ApprovalDepartment.id == row.id, ApprovalDepartment.revisions == row.revisions)
            .values(
                revisions=revision,
                opinion=opinion,
                conditions=conditions,
                reasons=reasons,
                attachments=attachments,
                user=actor.user,
                user_name=actor.name,
                answered_at=now,
            )
        )
        if done.rowcount != 1:
            raise _race()
        session.add(event)
        try:
            session.flush()
        except IntegrityError:
            raise _race() from None
        session.expire_all()
        case = session.get(ApprovalCase, case.id)
        rows = _department_rows(session, case.id)
        result = {
            "case": describe_case(ctx, case, rows, access, caller),
            "opinion": {
                "dept": row.dept,
                "revision": revision,
                "opinion": opinion,
                "opinion_name": OPINION_NAMES[opinion],
                "conditions": conditions,
                "reasons": reasons,
                "attachments": attachments,
                "user": actor.user,
                "user_name": actor.name,
                "at": now.isoformat(),
            },
        }
    notify.opinion_given(ctx, result["case"], result["opinion"])
    return result


def _race() -> Conflict:
    return Conflict(
        "another opinion of this department was saved at the same moment; reload the case "
        "and give the opinion again",
        code="opinion_race",
    )


def _refuse_other_department(session, caller: Caller, case_id: Any) -> None:
    """A user of an app the case names, whose department is not asked on it: 403 (an app
    the case does not name gets the NotFound, as for a case that does not exist)."""
    cid = _case_id(case_id)
    named = session.scalar(
        select(ApprovalDepartment.id).where(
            ApprovalDepartment.case_id == cid, ApprovalDepartment.app_id == caller.app_id
        )
    )
    if named is not None:
        raise Forbidden(
            f"department {caller.dept or '(none in the token)'!r} is not asked on this case",
            code="department_not_on_case",
            errors=[{"field": "dept", "message": "not on the case"}],
        )
