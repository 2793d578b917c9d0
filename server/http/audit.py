"""The audit log from a request: the actor is the request's admin (`g.admin`) or caller
(`g.caller`), the origin the client address bound by the request hooks
(`planfuse.services.audit.bind_origin`)."""

from __future__ import annotations

import logging
from typing import Any

from flask import g
from sqlalchemy.exc import SQLAlchemyError

from planfuse.http.context import planfuse
from planfuse.services import audit
from planfuse.services.audit import Actor


def request_actor() -> Actor:
    """Who is acting in this request: the signed-in admin, else the authenticated caller
    (a host backend or a widget user), else the system."""
    admin = g.get("admin")
    if admin is not None:
        return Actor.admin(admin.id, admin.name)
    caller = g.get("caller")
    if caller is not None:
        if caller.via == "basic":
            return Actor.app(caller.app_id)
        return Actor.user(caller.app_id, caller.user, caller.name)
    return audit.SYSTEM


log = logging.getLogger("planfuse.audit")


def audit_event(action: str, target: str, detail: dict[str, Any] | None = None) -> int | None:
    """Record `action` on `target` by this request's actor (see `planfuse.services.audit`).

    Called once the change is stored: if the database refuses the event now, the client
    still gets the answer for the change it made (not a 500 for something done), and the
    event goes to the error log in full instead; None then."""
    actor = request_actor()
    try:
        return audit.record(planfuse(), actor, action, target, detail)
    except SQLAlchemyError:
        log.exception(
            "audit event not stored: %s %s by %s:%s (%s)",
            action,
            target,
            actor.kind,
            actor.id,
            detail,
        )
        return None
