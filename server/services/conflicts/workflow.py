"""The coordination workflow (DOMAIN.md): pending 待协调 → coordinating 协调中 → adjusted
已调整 (which plan is changed) or kept 保留 (with a reason). Any other transition is refused;
a change without a new status adds a note or opinions. History is append-only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from planfuse.context import PlanFuse
from planfuse.errors import Conflict as ConflictError
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.conflicts.actor import Actor
from planfuse.services.conflicts.analyses import (
    STATUSES,
    TRANSITIONS,
)
from planfuse.services.conflicts.queries import get_conflict
from planfuse.storage.models import Conflict, ConflictEvent
from planfuse.storage.models.base import utcnow

TEXT_MAX = 2000


# --- the workflow --------------------------------------------------------------------

CHANGE_FIELDS = (
    "status",
    "note",
    "district_opinion",
    "municipal_opinion",
    "effective_date",
    "plan_changed",
    "reason",
    "user",
)


@dataclass(frozen=True)
class StatusChange:
    status: str | None
    note: str | None
    district_opinion: str | None
    municipal_opinion: str | None
    effective_date: str | None
    plan_changed: str | None
    reason: str | None


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"`{name}` must be text", field=name)
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise InvalidInput(f"`{name}` is longer than {TEXT_MAX} characters", field=name)
    return value or None


def parse_change(body: Any) -> StatusChange:
    """Validate a PATCH body (InvalidInput naming the bad field)."""
    if not isinstance(body, dict):
        raise InvalidInput('send a JSON object, e.g. {"status": "coordinating", "note": …}')
    unknown = sorted(set(body) - set(CHANGE_FIELDS))
    if unknown:
        raise InvalidInput(
            f"unknown field(s) {', '.join(unknown)}; expected {', '.join(CHANGE_FIELDS)}",
            field=unknown[0],
        )
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"status {status!r} is unknown; expected one of {', '.join(STATUSES)}",
            field="status",
            code="unknown_status",
        )
    effective = _text(body, "effective_date")
    if effective is not None:
        try:
            effective = dt.date.fromisoformat(effective).isoformat()
        except ValueError:
            raise InvalidInput(
                f"`effective_date` must be a date YYYY-MM-DD, not {effective!r}",
                field="effective_date",
            ) from None
    change = StatusChange(
        status=status,
        note=_text(body, "note"),
        district_opinion=_text(body, "district_opinion"),
        municipal_opinion=_text(body, "municipal_opinion"),
        effective_date=effective,
        plan_changed=_text(body, "plan_changed"),
        reason=_text(body, "reason"),
    )
    if status is None and not any(
        (change.note, change.district_opinion, change.municipal_opinion, change.effective_date)
    ):
        raise InvalidInput(
            "nothing to change: send a `status` with a `note`, or a `note` / opinion to add",
            field="status",
        )
    return change


def _lock_conflict(session, conflict_id: int) -> None:
    """Take the write lock before reading: the row on PostgreSQL (SELECT … FOR UPDATE),
    the database on SQLite (a no-op UPDATE; a SQLite read transaction cannot become a
    write once another connection has written)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Conflict)
            .where(Conflict.id == conflict_id)
            .values(updated_at=Conflict.updated_at)
        )
    else:
        session.execute(select(Conflict.id).where(Conflict.id == conflict_id).with_for_update())


def change_status(
    ctx: PlanFuse, conflict_id: int, change: StatusChange, actor: Actor, locale: str = "zh-CN"
) -> dict[str, Any]:
    """Apply a workflow step (or add a note) and append it to the history.

    Refused: an illegal transition (Conflict naming the allowed ones), a patch that no longer
    exists in the newest detection (Conflict), a status change without a note, `adjusted`
    without `plan_changed` (one of the patch's source kinds), `kept` without `reason`
    (InvalidInput). A concurrent change of the same patch makes the later one a Conflict.
    """
    with ctx.db.session() as session:
        _lock_conflict(session, conflict_id)
        row = session.get(Conflict, conflict_id)
        if row is None:
            raise NotFound("conflict", conflict_id)
        current_status = row.status
        if change.status is not None:
            _check_transition(conflict_id, row, change)
        values = _decision_values(row, change)
        if change.status is not None:
            _set_status(session, conflict_id, current_status, {**values, "status": change.status})
        _record_event(session, conflict_id, current_status, change, actor)
    return get_conflict(ctx, conflict_id, locale)


def _check_transition(conflict_id: int, row: Conflict, change: StatusChange) -> None:
    """A status change must be allowed from the current status, on a patch of the newest
    detection, and say why (a note)."""
    if not row.current:
        raise ConflictError(
            f"conflict {conflict_id} no longer exists in the newest detection "
            "(obsolete); its status cannot change",
            code="conflict_obsolete",
            title="Conflict obsolete",
        )
    allowed = TRANSITIONS.get(row.status, ())
    if change.status not in allowed:
        nexts = ", ".join(allowed) or "none (the decision is final)"
        raise ConflictError(
            f"conflict {conflict_id} is {row.status!r}; it cannot become "
            f"{change.status!r}. Allowed next: {nexts}",
            code="illegal_transition",
            errors=[{"field": "status", "message": f"allowed next: {nexts}"}],
            title="Illegal status transition",
        )
    if not change.note:
        raise InvalidInput(
            "a status change needs a `note` saying why", field="note", code="note_required"
        )


def _decision_values(row: Conflict, change: StatusChange) -> dict[str, Any]:
    """The columns a decision sets: `adjusted` names the plan that changes (one of the
    patch's source kinds), `kept` the reason the difference stays; neither comes alone."""
    values: dict[str, Any] = {"updated_at": utcnow()}
    if change.status == "adjusted":
        kinds = [s.get("kind") for s in row.sources or [] if s.get("kind")]
        if change.plan_changed not in kinds:
            raise InvalidInput(
                "`adjusted` needs `plan_changed`: the plan that changes, one of "
                f"{', '.join(kinds)}",
                field="plan_changed",
                code="plan_changed_required",
            )
        values["plan_changed"] = change.plan_changed
    elif change.plan_changed is not None:
        raise InvalidInput(
            "`plan_changed` is only given with status `adjusted`", field="plan_changed"
        )
    if change.status == "kept":
        if not change.reason:
            raise InvalidInput(
                "`kept` needs a `reason` why the difference stays",
                field="reason",
                code="reason_required",
            )
        values["reason"] = change.reason
    elif change.reason is not None:
        raise InvalidInput("`reason` is only given with status `kept`", field="reason")
    return values


def _set_status(session, conflict_id: int, current_status: str, values: dict[str, Any]) -> None:
    # Compare-and-set: a concurrent change of the same patch loses, not overwrites.
    done = session.execute(
        update(Conflict)
        .where(Conflict.id == conflict_id, Conflict.status == current_status)
        .values(**values)
    ).rowcount
    if not done:
        raise ConflictError(
            f"conflict {conflict_id} changed meanwhile; reload it and try again",
            code="concurrent_change",
            title="Changed meanwhile",
        )


def _record_event(
    session, conflict_id: int, current_status: str, change: StatusChange, actor: Actor
) -> None:
    """Append the change (a status step or a note) to the patch's history."""
    session.execute(
        insert(ConflictEvent).values(
            conflict_id=conflict_id,
            action="status" if change.status is not None else "note",
            from_status=current_status,
            to_status=change.status or current_status,
            note=change.note,
            district_opinion=change.district_opinion,
            municipal_opinion=change.municipal_opinion,
            effective_date=change.effective_date,
            plan_changed=change.plan_changed,
            reason=change.reason,
            app_id=actor.app_id,
            user=actor.user,
            user_name=actor.name,
            dept=actor.dept,
            at=utcnow(),
        )
    )
