"""Overdue departments (超期): a department that gave no opinion by its deadline is marked
once in the case's history, with the working days it is late, so the portal and the
department hear of it once, not on every look: the portal's and the department's apps get an
`approval.overdue` webhook (`notify`).

`flag_overdue(ctx)` marks every department overdue now and not marked yet; run it from
`planfuse approvals flag-overdue` (e.g. daily from cron or a systemd timer). Cases show
`overdue` on every read whether or not this ran.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from planfuse.context import PlanFuse
from planfuse.services.approval import notify
from planfuse.services.approval.calendar import local_date, work_calendar
from planfuse.storage.models import ApprovalCase, ApprovalDepartment, ApprovalEvent
from planfuse.storage.models.base import utcnow


def flag_overdue(ctx: PlanFuse, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Mark the departments overdue at `now` (default: now) and not marked before: one
    `overdue` history entry each. Returns what was marked: case, portal app, department,
    its app, due date and working days late."""
    now = now or utcnow()
    today = local_date(ctx, now)
    calendar = work_calendar(ctx)
    query = (
        select(ApprovalDepartment, ApprovalCase.app_id, ApprovalCase.project_name)
        .join(ApprovalCase, ApprovalCase.id == ApprovalDepartment.case_id)
        .where(
            ApprovalCase.state == "open",
            ApprovalDepartment.opinion.is_(None),
            ApprovalDepartment.overdue_notified_at.is_(None),
            ApprovalDepartment.due < today.isoformat(),
        )
        .order_by(ApprovalDepartment.case_id, ApprovalDepartment.position)
    )
    marked = []
    with ctx.db.write_session() as session:
        # A write first (marks nothing): on SQLite a transaction that read first cannot
        # write once another connection wrote meanwhile.
        session.execute(
            update(ApprovalDepartment)
            .where(ApprovalDepartment.id == -1)
            .values(overdue_notified_at=None)
        )
        for row, portal_app, project_name in session.execute(query).all():
            # Compare-and-set: two sweeps at once mark each department once.
            done = session.execute(
                update(ApprovalDepartment)
                .where(
                    ApprovalDepartment.id == row.id,
                    ApprovalDepartment.overdue_notified_at.is_(None),
                    ApprovalDepartment.opinion.is_(None),
                )
                .values(overdue_notified_at=now)
            )
            if done.rowcount != 1:
                continue
            late = calendar.working_days_between(dt.date.fromisoformat(row.due), today)
            session.add(
                ApprovalEvent(
                    case_id=row.case_id,
                    action="overdue",
                    dept=row.dept,
                    note=f"due {row.due}, {late} working day(s) late",
                    app_id=portal_app,
                    at=now,
                )
            )
            marked.append(
                {
                    "case": row.case_id,
                    "project": project_name,
                    "portal_app": portal_app,
                    "dept": row.dept,
                    "app": row.app_id,
                    "due": row.due,
                    "overdue_working_days": late,
                }
            )
    for entry in marked:
        notify.department_overdue(ctx, entry)
    return marked
