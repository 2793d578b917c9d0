"""Case events pushed to the systems of the portal and the departments (事件推送), through
the webhooks facility (`planfuse.services.webhooks`): each app subscribes to the types it
wants and receives Standard Webhooks messages signed with its subscription's secret.

- `approval.opened`: a case opens → the departments' apps;
- `approval.opinion`: a department gives or revises its opinion → the portal's and the
  departments' apps;
- `approval.closed`: the portal closes or withdraws the case → the departments' apps;
- `approval.overdue`: a department passed its deadline without an opinion (once) → the
  portal's app and that department's app.

Every message names the case, its project and state, and the API path to read it; an app
reads the rest with its own credentials, which see only what the case shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from planfuse.context import PlanFuse
from planfuse.services.webhooks.delivery import emit

CASE_PATH = "/api/v1/approvals/"


def _apps(*groups: Iterable[str | None]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for app in group:
            if app:
                seen.setdefault(app, None)
    return list(seen)


def _base(case: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "case": case["id"],
        "project": case["project"],
        "state": case["state"],
        "due": case["due"],
        "url": CASE_PATH + case["id"],
    }


def case_opened(ctx: PlanFuse, case: Mapping[str, Any]) -> None:
    """Tell the departments' apps of a new case (each its departments and deadlines)."""
    departments = [
        {"dept": d["dept"], "app": d["app"], "due": d["due"]} for d in case["departments"]
    ]
    emit(
        ctx,
        "approval.opened",
        {**_base(case), "departments": departments},
        app_ids=_apps(d["app"] for d in case["departments"]),
    )


def opinion_given(ctx: PlanFuse, case: Mapping[str, Any], opinion: Mapping[str, Any]) -> None:
    """Tell the portal and the departments' apps of an opinion (or its revision)."""
    data = {
        **_base(case),
        "dept": opinion["dept"],
        "opinion": opinion["opinion"],
        "revision": opinion["revision"],
        "conditions": list(opinion["conditions"]),
        "summary": case["summary"],
    }
    emit(
        ctx,
        "approval.opinion",
        data,
        app_ids=_apps([case["app"]], (d["app"] for d in case["departments"])),
    )


def case_closed(ctx: PlanFuse, case: Mapping[str, Any]) -> None:
    """Tell the departments' apps that the case closed or was withdrawn."""
    emit(
        ctx,
        "approval.closed",
        {**_base(case), "outcome": case["outcome"]},
        app_ids=_apps(d["app"] for d in case["departments"]),
    )


def department_overdue(ctx: PlanFuse, marked: Mapping[str, Any]) -> None:
    """Tell the portal and the department's app that the department is overdue."""
    emit(
        ctx,
        "approval.overdue",
        {
            "case": marked["case"],
            "project": marked["project"],
            "dept": marked["dept"],
            "due": marked["due"],
            "overdue_working_days": marked["overdue_working_days"],
            "url": CASE_PATH + marked["case"],
        },
        app_ids=_apps([marked["portal_app"], marked["app"]]),
    )
