"""Approval cases (协同审批件): open one for a project, read it, list them, close or
withdraw it.

A case is opened by a host app (the approval portal) for one of its registered projects,
naming the departments asked (each: the `dept` its users' tokens carry and the host app it
works from) and the deadline. Opening freezes the evidence (`evidence.freeze_evidence`),
so every department judges the same report and conflicts. Departments then give their
opinions in parallel (`opinions.give_opinion`); the portal closes the case, whose state
follows the outcome rule (`rules`) unless the portal overrides it with a reason.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from planfuse.auth.apps import find_host_app
from planfuse.auth.caller import Caller
from planfuse.context import PlanFuse
from planfuse.errors import Conflict, Forbidden, InvalidInput, NotFound
from planfuse.services.approval import notify
from planfuse.services.approval.access import (
    CaseAccess,
    case_access,
    locked_case,
    locked_department,
)
from planfuse.services.approval.calendar import (
    MAX_WORKING_DAYS,
    local_date,
    parse_date,
    work_calendar,
)
from planfuse.services.approval.departments import KnownDepartments, known_departments
from planfuse.services.approval.evidence import freeze_evidence
from planfuse.services.approval.rules import CLOSED_STATES, parse_outcome_rule, rule_outcome
from planfuse.storage.models import ApprovalCase, ApprovalDepartment, ApprovalEvent
from planfuse.storage.models.base import utcnow

CASE_ID_MAX = 40
DEPT_MAX = 100
MAX_DEPARTMENTS = 30
REASON_MAX = 4000
STATES = ("open", *CLOSED_STATES, "withdrawn")
OPEN_FIELDS = {"project", "project_kind", "departments", "due", "outcome_rule", "user"}
PROJECT_KINDS = ("registered", "reserve")
LIST_LIMIT_MAX = 200


@dataclass(frozen=True)
class Actor:
    """Who acts on a case: the host app, its user (None for a backend acting for itself)
    and the user's display name."""

    app_id: str
    user: str | None
    name: str | None = None


def actor_of(caller: Caller, body: Mapping[str, Any] | None = None) -> Actor:
    """The session's user, or for a host backend (Basic) the `user` it names, if any."""
    if caller.via == "basic":
        named = (body or {}).get("user")
        if named is not None and (not isinstance(named, str) or not 0 < len(named) <= 200):
            raise InvalidInput("`user` must be the host's user id (text)", field="user")
        return Actor(caller.app_id, named, None)
    if body is not None and "user" in body:
        raise InvalidInput("`user` comes from the session token; drop it", field="user")
    return Actor(caller.app_id, caller.user, caller.name)


def require_coordinator(ctx: PlanFuse, caller: Caller, action: str) -> None:
    """Forbidden unless the caller may open, close or withdraw for its app: its backend
    (Basic), or a session with the role `approval_coordinator_role`."""
    if caller.via == "basic":
        return
    role = ctx.settings.approval_coordinator_role
    if not caller.has_role(role):
        raise Forbidden(
            f"{action} needs the role {role!r}; the embed token gives this user "
            f"{', '.join(caller.roles) or 'no roles'}",
            errors=[{"field": "roles", "message": f"role {role!r} required"}],
        )


def require_approver(ctx: PlanFuse, caller: Caller) -> None:
    """Forbidden unless a session's user has the approver role (a backend acts for its
    users)."""
    if caller.via == "basic":
        return
    role = ctx.settings.approval_approver_role
    if not caller.has_role(role):
        raise Forbidden(
            f"giving an opinion needs the role {role!r}; the embed token gives this user "
            f"{', '.join(caller.roles) or 'no roles'}",
            errors=[{"field": "roles", "message": f"role {role!r} required"}],
        )


# --- opening -----------------------------------------------------------------------------


def _departments(ctx: PlanFuse, value: Any, opened: dt.date, due: dt.date) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_DEPARTMENTS:
        raise InvalidInput(
            f"`departments` must list 1–{MAX_DEPARTMENTS} departments, each "
            '{"dept": "生态环境局", "app": "app_…"}',
            field="departments",
        )
    calendar = work_calendar(ctx)
    with ctx.db.session() as session:
        known = known_departments(session)
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(value):
        where = f"departments[{i}]"
        if not isinstance(entry, Mapping):
            raise InvalidInput(f"`{where}` must be an object with dept and app", field=where)
        unknown = sorted(set(entry) - {"dept", "app", "days", "due"})
        if unknown:
            raise InvalidInput(
                f"`{where}` has unknown field(s) {', '.join(unknown)}; expected dept, app, "
                "days, due",
                field=f"{where}.{unknown[0]}",
            )
        dept = entry.get("dept")
        if not isinstance(dept, str) or not 0 < len(dept.strip()) <= DEPT_MAX:
            raise InvalidInput(
                f"`{where}.dept` must be the department's name as its users' tokens carry it "
                f"(`dept`), at most {DEPT_MAX} characters",
                field=f"{where}.dept",
            )
        dept = dept.strip()
        if any(known.aliases(d["dept"]) & known.aliases(dept) for d in out):
            raise InvalidInput(
                f"department {dept!r} is named twice", field=f"{where}.dept", code="duplicate"
            )
        app_id = entry.get("app")
        app = find_host_app(ctx, app_id) if isinstance(app_id, str) and app_id else None
        if app is None or app.disabled:
            raise InvalidInput(
                f"`{where}.app` must be the id of an enabled host app (the system the "
                f"department works from); got {str(app_id)[:60]!r}",
                field=f"{where}.app",
                code="unknown_app",
            )
        days = entry.get("days")
        if days is not None:
            if not isinstance(days, int) or isinstance(days, bool) or days < 1:
                raise InvalidInput(
                    f"`{where}.days` must be a whole number of working days (1–{MAX_WORKING_DAYS})",
                    field=f"{where}.days",
                )
            dept_due = calendar.add_working_days(opened, days)
        elif entry.get("due") is not None:
            dept_due = parse_date(entry["due"], f"{where}.due")
        else:
            dept_due = due
        if dept_due > due or dept_due < opened:
            raise InvalidInput(
                f"the deadline of {dept} ({dept_due.isoformat()}) must fall between the "
                f"opening ({opened.isoformat()}) and the case's due date ({due.isoformat()})",
                field=f"{where}.{'days' if days is not None else 'due'}",
                code="invalid_deadline",
            )
        out.append({"dept": dept, "app_id": app.id, "days": days, "due": dept_due})
    return out


def _case_due(ctx: PlanFuse, value: Any, opened: dt.date) -> dt.date:
    if value is None:
        return work_calendar(ctx).add_working_days(opened, int(ctx.settings.approval_default_days))
    due = parse_date(value, "due")
    if due < opened:
        raise InvalidInput(
            f"the due date {due.isoformat()} is in the past (today is {opened.isoformat()} in "
            f"{ctx.settings.approval_timezone})",
            field="due",
            code="due_in_past",
        )
    return due


def new_case_id() -> str:
    return "apv_" + secrets.token_hex(10)


def open_case(ctx: PlanFuse, caller: Caller, body: Mapping[str, Any]) -> dict[str, Any]:
    """Open a case for one of the caller's registered projects; returns it (state `open`).

    body: `project` (a project id of the caller's app; with `project_kind: "reserve"` a
    reserve project of the caller's scope), `departments` ([{"dept", "app",
    optional "days" (working days) or "due"}]), optional `due` (YYYY-MM-DD; default
    `approval_default_days` working days from today) and `outcome_rule`. Everything is
    checked before the evidence is frozen; nothing is stored on error.
    """
    require_coordinator(ctx, caller, "opening an approval case")
    if locked_case(caller) is not None:
        raise Forbidden("this widget is locked to one case; it cannot open another")
    unknown = sorted(set(body) - OPEN_FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; expected project, project_kind, "
            "departments, due, outcome_rule",
            field=unknown[0],
        )
    actor = actor_of(caller, body)
    now = utcnow()
    opened = local_date(ctx, now)
    due = _case_due(ctx, body.get("due"), opened)
    departments = _departments(ctx, body.get("departments"), opened, due)
    rule = parse_outcome_rule(body.get("outcome_rule", ctx.settings.approval_outcome_rule))
    kind = body.get("project_kind", "registered")
    if kind not in PROJECT_KINDS:
        raise InvalidInput(
            "`project_kind` is registered (POST /api/v1/projects) or reserve (项目储备库)",
            field="project_kind",
        )
    project = body.get("project")
    if isinstance(project, bool) or not isinstance(project, str | int) or project in ("", None):
        raise InvalidInput(
            "`project` is required: the id of a registered project, or of a reserve project "
            'with `"project_kind": "reserve"`',
            field="project",
        )
    evidence = freeze_evidence(ctx, caller, project, kind)
    case = ApprovalCase(
        id=new_case_id(),
        app_id=caller.app_id,
        project_kind=evidence.project["kind"],
        project_id=evidence.project["id"],
        project_name=evidence.project["name"],
        state="open",
        due=due.isoformat(),
        outcome_rule=rule,
        evidence=evidence.document,
        evidence_sha256=evidence.sha256,
        compliance_report_id=evidence.report_id,
        verdict=evidence.verdict,
        conflict_count=evidence.conflict_count,
        area_m2=evidence.area_m2,
        minx=evidence.bbox[0],
        miny=evidence.bbox[1],
        maxx=evidence.bbox[2],
        maxy=evidence.bbox[3],
        opened_by=actor.user,
        opened_at=now,
    )
    with ctx.db.write_session() as session:
        session.add(case)
        session.flush()
        for position, d in enumerate(departments):
            session.add(
                ApprovalDepartment(
                    case_id=case.id,
                    position=position,
                    dept=d["dept"],
                    app_id=d["app_id"],
                    days=d["days"],
                    due=d["due"].isoformat(),
                    revisions=0,
                    conditions=[],
                    attachments=[],
                )
            )
        session.add(
            ApprovalEvent(
                case_id=case.id,
                action="opened",
                state="open",
                note=f"evidence sha256 {evidence.sha256}",
                app_id=actor.app_id,
                user=actor.user,
                user_name=actor.name,
                at=now,
            )
        )
        session.flush()
        rows = _department_rows(session, case.id)
        opened = describe_case(ctx, case, rows, CaseAccess(portal=True, departments=()), caller)
    notify.case_opened(ctx, opened)
    return opened


# --- reading -----------------------------------------------------------------------------


def _department_rows(session: Session, case_id: str) -> list[ApprovalDepartment]:
    return list(
        session.scalars(
            select(ApprovalDepartment)
            .where(ApprovalDepartment.case_id == case_id)
            .order_by(ApprovalDepartment.position)
        )
    )


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def is_overdue(case_state: str, row: ApprovalDepartment, today: dt.date) -> bool:
    """A department is overdue while the case is open, it has given no opinion and its
    deadline (the end of its due date) has passed."""
    return case_state == "open" and row.opinion is None and dt.date.fromisoformat(row.due) < today


def department_dict(
    case_state: str,
    row: ApprovalDepartment,
    today: dt.date,
    calendar,
    known: KnownDepartments | None = None,
) -> dict[str, Any]:
    due = dt.date.fromisoformat(row.due)
    overdue = is_overdue(case_state, row, today)
    return {
        "dept": row.dept,
        # The department record the name is an id or a name of (None: no record).
        "department": (known or KnownDepartments()).record(row.dept),
        "app": row.app_id,
        "days": row.days,
        "due": row.due,
        "overdue": overdue,
        "overdue_working_days": calendar.working_days_between(due, today) if overdue else 0,
        "opinion": row.opinion,
        "revisions": row.revisions,
        "conditions": list(row.conditions or []),
        "reasons": row.reasons,
        "attachments": list(row.attachments or []),
        "user": row.user,
        "user_name": row.user_name,
        "answered_at": _iso(row.answered_at),
    }


def describe_case(
    ctx: PlanFuse,
    case: ApprovalCase,
    rows: Sequence[ApprovalDepartment],
    access: CaseAccess,
    caller: Caller | None = None,
    known: KnownDepartments | None = None,
) -> dict[str, Any]:
    """The API representation of a case (without the evidence document, which
    `case_evidence` serves); `caller` adds what that caller may do on it."""
    today = local_date(ctx, utcnow())
    calendar = work_calendar(ctx)
    if known is None:
        with ctx.db.session() as session:
            known = known_departments(session)
    departments = [department_dict(case.state, r, today, calendar, known) for r in rows]
    counts = {o: 0 for o in ("agree", "agree_with_conditions", "disagree")}
    for d in departments:
        if d["opinion"]:
            counts[d["opinion"]] += 1
    counts["pending"] = sum(1 for d in departments if d["opinion"] is None)
    overridden = case.state in CLOSED_STATES and case.rule_outcome != case.state
    return {
        "id": case.id,
        "state": case.state,
        "app": case.app_id,
        "project": {"id": case.project_id, "kind": case.project_kind, "name": case.project_name},
        "due": case.due,
        "overdue": any(d["overdue"] for d in departments),
        "opened_at": _iso(case.opened_at),
        "opened_by": case.opened_by,
        "closed_at": _iso(case.closed_at),
        "closed_by": case.closed_by,
        "outcome": None
        if case.state == "open"
        else {
            "state": case.state,
            "rule_outcome": case.rule_outcome,
            "overridden": overridden,
            "reason": case.close_reason,
        },
        "outcome_rule": case.outcome_rule,
        "evidence": {
            "sha256": case.evidence_sha256,
            "compliance_report": case.compliance_report_id,
            "verdict": case.verdict,
            "conflict_count": case.conflict_count,
        },
        "area_m2": case.area_m2,
        "bbox": [case.minx, case.miny, case.maxx, case.maxy],
        "summary": counts,
        "departments": departments,
        "caller": caller_rights(ctx, caller, access, case.state),
    }


def caller_rights(
    ctx: PlanFuse, caller: Caller | None, access: CaseAccess, state: str
) -> dict[str, Any]:
    """What the caller is to the case and may do now: close or withdraw it (the portal's
    backend or coordinator), give the opinion of its departments (a backend, or a user with
    the approver role)."""
    is_open = state == "open"
    backend = caller is not None and caller.via == "basic"
    coordinator = backend or (
        caller is not None and caller.has_role(ctx.settings.approval_coordinator_role)
    )
    approver = backend or (
        caller is not None and caller.has_role(ctx.settings.approval_approver_role)
    )
    return {
        "portal": access.portal,
        "departments": list(access.departments),
        "can_close": is_open and access.portal and coordinator,
        "can_give_opinion": is_open and bool(access.departments) and approver,
    }


def _case_id(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= CASE_ID_MAX:
        raise NotFound("approval case", str(value)[:CASE_ID_MAX])
    return value


def load_case(
    session: Session, caller: Caller, case_id: Any
) -> tuple[ApprovalCase, list[ApprovalDepartment], CaseAccess]:
    """The case, its departments and the caller's access (NotFound when invisible)."""
    case_id = _case_id(case_id)
    case = session.get(ApprovalCase, case_id)
    if case is None:
        raise NotFound("approval case", case_id)
    rows = _department_rows(session, case_id)
    access = case_access(caller, case.id, case.app_id, rows, known_departments(session))
    return case, rows, access


def get_case(ctx: PlanFuse, caller: Caller, case_id: Any) -> dict[str, Any]:
    """One case as the caller may see it."""
    with ctx.db.session() as session:
        case, rows, access = load_case(session, caller, case_id)
        return describe_case(ctx, case, rows, access, caller)


def case_evidence(ctx: PlanFuse, caller: Caller, case_id: Any) -> bytes:
    """The evidence frozen when the case opened, exactly as stored (JSON bytes)."""
    with ctx.db.session() as session:
        case, _, _ = load_case(session, caller, case_id)
        return bytes(case.evidence)


def _visible_ids(caller: Caller, known: KnownDepartments):
    """The ids of the cases the caller may see, as a subquery."""
    named = select(ApprovalDepartment.case_id).where(ApprovalDepartment.app_id == caller.app_id)
    if caller.via != "basic":
        named = named.where(ApprovalDepartment.dept.in_(known.aliases(caller.dept)))
    locked = locked_department(caller)
    if locked is not None:
        named = named.where(ApprovalDepartment.dept.in_(known.aliases(locked)))
    return or_(ApprovalCase.app_id == caller.app_id, ApprovalCase.id.in_(named))


def list_cases(ctx: PlanFuse, caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    """The cases the caller may see, newest first. Filters: `state`, `project`, `dept`,
    `overdue` (true: only cases with an overdue department), `limit` (1–200)."""
    unknown = sorted(set(args) - {"state", "project", "dept", "overdue", "limit"})
    if unknown:
        raise InvalidInput(
            f"unknown filter(s) {', '.join(unknown)}; expected state, project, dept, overdue, "
            "limit",
            field=unknown[0],
        )
    with ctx.db.session() as session:
        known = known_departments(session)
    query = (
        select(ApprovalCase)
        .where(_visible_ids(caller, known))
        .order_by(ApprovalCase.opened_at.desc(), ApprovalCase.id)
    )
    state = args.get("state")
    if state:
        if state not in STATES:
            raise InvalidInput(f"`state` must be one of {', '.join(STATES)}", field="state")
        query = query.where(ApprovalCase.state == state)
    if args.get("project"):
        query = query.where(ApprovalCase.project_id == str(args["project"]))
    if args.get("dept"):
        query = query.where(
            ApprovalCase.id.in_(
                select(ApprovalDepartment.case_id).where(
                    ApprovalDepartment.dept.in_(known.aliases(str(args["dept"])))
                )
            )
        )
    if locked_case(caller) is not None:
        query = query.where(ApprovalCase.id == locked_case(caller))
    overdue = str(args.get("overdue", "")).lower()
    if overdue not in ("", "true", "false"):
        raise InvalidInput("`overdue` must be true or false", field="overdue")
    try:
        limit = int(args.get("limit", 50))
    except (TypeError, ValueError):
        limit = -1
    if not 1 <= limit <= LIST_LIMIT_MAX:
        raise InvalidInput(f"`limit` must be between 1 and {LIST_LIMIT_MAX}", field="limit")
    out = []
    with ctx.db.session() as session:
        for case in session.scalars(query):
            rows = _department_rows(session, case.id)
            try:
                access = case_access(caller, case.id, case.app_id, rows, known)
            except NotFound:
                continue
            doc = describe_case(ctx, case, rows, access, caller, known)
            if overdue and doc["overdue"] != (overdue == "true"):
                continue
            out.append(doc)
            if len(out) >= limit:
                break
    return {"cases": out, "limit": limit}


def case_history(ctx: PlanFuse, caller: Caller, case_id: Any, action: str | None = None):
    """The case's history, oldest first (append-only); `action="opinion"`: the opinions
    with every revision."""
    with ctx.db.session() as session:
        case, _, _ = load_case(session, caller, case_id)
        query = select(ApprovalEvent).where(ApprovalEvent.case_id == case.id)
        if action:
            query = query.where(ApprovalEvent.action == action)
        return [event_dict(e) for e in session.scalars(query.order_by(ApprovalEvent.id))]


def event_dict(e: ApprovalEvent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": e.id,
        "action": e.action,
        "at": _iso(e.at),
        "app": e.app_id,
        "user": e.user,
        "user_name": e.user_name,
    }
    if e.action == "opinion":
        out |= {
            "dept": e.dept,
            "revision": e.revision,
            "opinion": e.opinion,
            "conditions": list(e.conditions or []),
            "reasons": e.reasons,
            "attachments": list(e.attachments or []),
        }
    else:
        out |= {"dept": e.dept, "state": e.state, "note": e.note}
    return out


# --- closing -----------------------------------------------------------------------------


def begin_write(session: Session, case_id: Any) -> None:
    """Start the transaction with a write on the case's row (a no-op change), before it
    reads anything: on SQLite a transaction that read first cannot write once another
    connection (the webhook dispatcher, another worker) has written meanwhile; on
    PostgreSQL it holds the case's row for the transaction."""
    if isinstance(case_id, str) and 0 < len(case_id) <= CASE_ID_MAX:
        session.execute(
            update(ApprovalCase).where(ApprovalCase.id == case_id).values(state=ApprovalCase.state)
        )


def lock_open_case(session: Session, case_id: str, action: str) -> None:
    """Take the case row's write lock and check that the case is still open (Conflict
    otherwise), so an opinion and a closing never interleave."""
    done = session.execute(
        update(ApprovalCase)
        .where(ApprovalCase.id == case_id, ApprovalCase.state == "open")
        .values(state="open")
    )
    if done.rowcount != 1:
        state = session.scalar(select(ApprovalCase.state).where(ApprovalCase.id == case_id))
        raise Conflict(
            f"the case is {state}; it cannot {action} any more",
            code="case_closed",
            errors=[{"field": "state", "message": state}],
        )


def _reason(value: Any, required: bool, field: str = "reason") -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"`{field}` is required", field=field, code="reason_required")
        return None
    if not isinstance(value, str) or len(value) > REASON_MAX:
        raise InvalidInput(
            f"`{field}` must be text of at most {REASON_MAX} characters", field=field
        )
    return value.strip()


def close_case(
    ctx: PlanFuse, caller: Caller, case_id: Any, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Close the case by the outcome rule: `closed_approved` or `closed_rejected`.

    body: optional `state` (overrides the rule's outcome; needs `reason`) and `reason`.
    Only the opening app closes (its backend, or a coordinator's session).
    """
    unknown = sorted(set(body) - {"state", "reason", "user"})
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; expected state, reason", field=unknown[0]
        )
    wanted = body.get("state")
    if wanted is not None and wanted not in CLOSED_STATES:
        raise InvalidInput(
            f"`state` must be {' or '.join(CLOSED_STATES)}", field="state", code="invalid_state"
        )
    reason = _reason(body.get("reason"), required=False)
    return _finish(ctx, caller, case_id, body, "close", wanted, reason)


def withdraw_case(
    ctx: PlanFuse, caller: Caller, case_id: Any, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Withdraw an open case (撤回), with a reason; only the opening app."""
    unknown = sorted(set(body) - {"reason", "user"})
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; expected reason", field=unknown[0]
        )
    reason = _reason(body.get("reason"), required=True)
    return _finish(ctx, caller, case_id, body, "withdraw", "withdrawn", reason)


def _finish(
    ctx: PlanFuse,
    caller: Caller,
    case_id: Any,
    body: Mapping[str, Any],
    action: str,
    wanted: str | None,
    reason: str | None,
) -> dict[str, Any]:
    actor = actor_of(caller, body)
    with ctx.db.write_session() as session:
        begin_write(session, case_id)
        case, rows, access = load_case(session, caller, case_id)
        if not access.portal:
            raise Forbidden(
                f"only the app that opened the case ({case.app_id}) can {action} it",
                errors=[{"field": "app", "message": "not the opening app"}],
            )
        require_coordinator(ctx, caller, f"{action} an approval case")
        lock_open_case(session, case.id, action)
        session.refresh(case)
        rows = _department_rows(session, case.id)
        outcome = None
        if action == "close":
            try:
                outcome = rule_outcome(case.outcome_rule, [(r.dept, r.opinion) for r in rows])
            except Conflict:
                if wanted is None:
                    raise
            if wanted is not None and wanted != outcome and reason is None:
                raise InvalidInput(
                    f"closing as {wanted} overrides the outcome rule "
                    f"({outcome or 'opinions pending'}); give the `reason`",
                    field="reason",
                    code="reason_required",
                )
        state = wanted or outcome
        now = utcnow()
        case.state = state
        case.rule_outcome = outcome
        case.close_reason = reason
        case.closed_at = now
        case.closed_by = actor.user or actor.app_id
        session.add(
            ApprovalEvent(
                case_id=case.id,
                action="closed" if action == "close" else "withdrawn",
                state=state,
                note=reason,
                app_id=actor.app_id,
                user=actor.user,
                user_name=actor.name,
                at=now,
            )
        )
        session.flush()
        finished = describe_case(ctx, case, rows, access, caller)
    notify.case_closed(ctx, finished)
    return finished


def department_of(
    caller: Caller,
    rows: Sequence[ApprovalDepartment],
    access: CaseAccess,
    body: Mapping[str, Any],
    known: KnownDepartments,
) -> ApprovalDepartment:
    """The department the caller gives its opinion for: the token's `dept` (a session) or
    the `dept` named in the body (a department app's backend). Forbidden when it is not on
    the case or not the caller's."""
    if caller.via == "basic":
        named = body.get("dept")
        if not isinstance(named, str) or not named.strip():
            raise InvalidInput(
                "a host backend (HTTP Basic) names the department it answers for: send `dept`",
                field="dept",
            )
        wanted = named.strip()
    else:
        if "dept" in body and str(body["dept"]).strip() not in known.aliases(caller.dept):
            raise Forbidden(
                "`dept` comes from the session token; a user answers for their own department",
                errors=[{"field": "dept", "message": "not the token's department"}],
            )
        wanted = (caller.dept or "").strip()
    for row in rows:
        if row.dept in access.departments and known.same(row.dept, wanted):
            return row
    on_case = ", ".join(r.dept for r in rows)
    raise Forbidden(
        f"department {wanted or '(none in the token)'!r} is not asked on this case from app "
        f"{caller.app_id} (asked: {on_case})",
        code="department_not_on_case",
        errors=[{"field": "dept", "message": "not on the case"}],
    )
