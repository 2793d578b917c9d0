"""The audit log (审计日志): who did what to apps, keys, layers, rulesets, conflicts and
services, when and from where.

Every change that matters to an operator is recorded with one call:

    record(ctx, actor, "app.create", "app:app_3f…", {"name": "规划审批系统"})

`actor` says who (`Actor.admin(...)`, `Actor.user(...)`, `Actor.app(...)`, `CLI`,
`SYSTEM`); `action` is "<thing>.<verb>" (see `ACTIONS`); `target` is "<kind>:<id>";
`detail` a small JSON object (never a secret: members named like one are replaced by
"[redacted]"). Where the request came from is taken from `bind_origin` (the web app binds
the client address of each request, the CLI binds "cli"), so a service deep below HTTP
records it without knowing of HTTP.

The log is append-only: this module only inserts, and the database refuses UPDATE and
DELETE (migration 0016's triggers).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.storage.models import AuditEvent
from planfuse.storage.models.base import utcnow

#: The actions recorded, by thing. A new action is added here (the docs list them).
ACTIONS: dict[str, str] = {
    "admin.sign_in": "an administrator signed in to the console",
    "admin.sign_out": "an administrator signed out of the console",
    "admin.token_create": "an admin token was created",
    "admin.token_revoke": "an admin token was revoked",
    "app.create": "a host app was registered",
    "app.update": "a host app's name, origins or widgets changed",
    "app.disable": "a host app was disabled",
    "app.enable": "a host app was enabled again",
    "app.revoke_tokens": "every embed token of an app issued before a time was refused",
    "key.rotate": "a host app's shared secret was rotated",
    "key.add": "a public key was registered for a host app",
    "key.remove": "a public key of a host app was removed",
    "layer.import": "a layer version was imported",
    "layer.update": "a layer's settings changed",
    "layer.rollback": "an earlier layer version was made current again",
    "ruleset.create": "a compliance ruleset was created",
    "ruleset.update": "a compliance ruleset was saved as its next version",
    "indicator.load": "a monitoring indicator was loaded as its next version",
    "monitoring.publish": "a monitoring year's warnings were pushed to subscribed apps",
    "webhook.create": "a host app subscribed an endpoint to events",
    "webhook.delete": "a webhook subscription was removed",
    "webhook.rotate_secret": "a webhook subscription's signing secret was rotated",
    "webhook.retry": "a failed webhook delivery was sent again",
    "conflict.detect": "a conflict detection was started",
    "conflict.change": "a conflict's status changed or a note was added",
    "approval.open": "an approval case was opened (its evidence frozen)",
    "approval.opinion": "a department gave or revised its opinion on an approval case",
    "approval.close": "an approval case was closed",
    "approval.withdraw": "an approval case was withdrawn",
    "reserve.create": "a project was proposed in the project reserve",
    "reserve.update": "a reserve project was changed",
    "reserve.delete": "a reserve project was deleted",
    "reserve.import": "reserve projects were created or updated from a workbook",
    "reserve.pre_study": "a reserve project's pre-study was run (its outcome stored)",
    "service.register": "a service was registered in the service catalogue",
    "service.update": "a service of the catalogue changed",
    "service.remove": "a department's remote service was removed from the catalogue",
    "service.stop": "a service was stopped",
    "service.start": "a stopped service was started again",
    "service.grant": "a host app's access to a service was granted, refused or reset",
    "service.configure": "a service's configuration changed",
    "service.limit": "a host app's rate limit or daily quota for a service was set or removed",
    "chain.publish": "a chain (服务串联) was published as a new version of a function service",
    "department.save": "a department (发布部门) was created or renamed",
    "signing_key.rotate": "the report signing key was rotated",
    "signing_key.retire": "a report signing key was retired",
    "secrets.encrypt": "secrets at rest were encrypted with the server key",
}

ACTION_PATTERN = re.compile(r"^[a-z_]+\.[a-z_]+$")
SECRET_MEMBER = re.compile(r"secret|token|password|private", re.IGNORECASE)
#: Members of `detail` that are public although their names look secret.
PUBLIC_MEMBERS = frozenset({"token_id", "kid", "revoked_before"})
LIST_LIMIT_MAX = 500
CSV_COLUMNS = (
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "target",
    "origin",
    "request_id",
    "detail",
)

_origin: ContextVar[tuple[str, str | None] | None] = ContextVar("audit_origin", default=None)


@dataclass(frozen=True)
class Actor:
    """Who acts: `kind` is admin, app, user, cli or system."""

    kind: str
    id: str
    name: str | None = None

    @classmethod
    def admin(cls, admin_id: str, name: str | None = None) -> Actor:
        """An administrator (admin token id, or `oidc:<subject>` for single sign-on)."""
        return cls("admin", admin_id, name)

    @classmethod
    def app(cls, app_id: str) -> Actor:
        """A host app's backend (HTTP Basic)."""
        return cls("app", app_id)

    @classmethod
    def user(cls, app_id: str, user: str | None, name: str | None = None) -> Actor:
        """A host app's user through a widget session."""
        return cls("user", f"{app_id}/{user or ''}", name)


CLI = Actor("cli", "cli")
SYSTEM = Actor("system", "system")


@contextmanager
def bind_origin(origin: str, request_id: str | None = None) -> Iterator[None]:
    """Record `origin` (a client address, "cli", "job") for events recorded inside."""
    token = _origin.set((origin[:64], request_id))
    try:
        yield
    finally:
        _origin.reset(token)


def set_origin(origin: str, request_id: str | None = None) -> object:
    """Bind `origin` until `reset_origin(token)` (for request hooks, which cannot use
    `with`); returns the token."""
    return _origin.set((origin[:64], request_id))


def reset_origin(token: object) -> None:
    _origin.reset(token)  # type: ignore[arg-type]


def _redacted(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {
            str(k): "[redacted]"
            if SECRET_MEMBER.search(str(k)) and str(k) not in PUBLIC_MEMBERS
            else _redacted(v)
            for k, v in detail.items()
        }
    if isinstance(detail, list | tuple):
        return [_redacted(v) for v in detail]
    if isinstance(detail, datetime):
        return detail.isoformat()
    return detail


def record(
    ctx: PlanFuse,
    actor: Actor,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one event to the audit log; returns its id.

    `action` must be one of `ACTIONS` (a typo must not go unnoticed); `target` is
    "<kind>:<id>". The origin is the one bound by `bind_origin` ("system" when none is).
    """
    if action not in ACTIONS:
        raise ValueError(f"audit action {action!r} is unknown; add it to ACTIONS")
    origin, request_id = _origin.get() or ("system", None)
    event = AuditEvent(
        at=utcnow(),
        actor_kind=actor.kind,
        actor_id=actor.id[:240],
        actor_name=(actor.name or None) and actor.name[:200],
        action=action,
        target=target[:240],
        origin=origin,
        request_id=request_id,
        detail=_redacted(detail) if detail else None,
    )
    with ctx.db.session() as session:
        session.add(event)
        session.flush()
        return event.id


@dataclass(frozen=True)
class AuditQuery:
    """Filters of a listing: an action or a thing ("app" matches app.*), an actor id, a
    target ("app:app_1", or a kind "app:"), a time range [since, until), events with
    id < `before` (paging newest first), at most `limit`."""

    action: str | None = None
    actor: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 100


def _time(value: str | None, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise InvalidInput(
            f"{name} must be an ISO 8601 time with a time zone, e.g. 2026-12-01T00:00:00+08:00",
            errors=[{"field": name, "message": "ISO 8601 with time zone"}],
        )
    return instant


def _int(value: str | None, name: str, low: int, high: int) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidInput(
            f"{name} must be a whole number from {low} to {high}",
            errors=[{"field": name, "message": f"{low}–{high}"}],
        )
    return int(value)


def parse_query(args: dict[str, str], *, default_limit: int = 100) -> AuditQuery:
    """An `AuditQuery` from query arguments (action, actor, target, since, until, before,
    limit); InvalidInput naming the argument when one is malformed."""
    action = args.get("action") or None
    if action is not None and not re.fullmatch(r"[a-z_]+(\.[a-z_]+)?", action):
        raise InvalidInput(
            f"action {action!r} is not an action or a thing, e.g. app.create or app",
            errors=[{"field": "action", "message": "e.g. app.create or app"}],
        )
    for name in ("actor", "target"):
        if len(args.get(name) or "") > 240:
            raise InvalidInput(
                f"{name} is longer than 240 characters",
                errors=[{"field": name, "message": "≤ 240 characters"}],
            )
    return AuditQuery(
        action=action,
        actor=args.get("actor") or None,
        target=args.get("target") or None,
        since=_time(args.get("since"), "since"),
        until=_time(args.get("until"), "until"),
        before=_int(args.get("before"), "before", 1, 2**62),
        limit=_int(args.get("limit"), "limit", 1, LIST_LIMIT_MAX) or default_limit,
    )


def _select(query: AuditQuery):
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if query.action:
        if "." in query.action:
            stmt = stmt.where(AuditEvent.action == query.action)
        else:
            stmt = stmt.where(AuditEvent.action.startswith(query.action + ".", autoescape=True))
    if query.actor:
        stmt = stmt.where(AuditEvent.actor_id == query.actor)
    if query.target:
        if query.target.endswith(":"):
            stmt = stmt.where(AuditEvent.target.startswith(query.target, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.target == query.target)
    if query.since:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until:
        stmt = stmt.where(AuditEvent.at < query.until)
    if query.before:
        stmt = stmt.where(AuditEvent.id < query.before)
    return stmt


def event_dict(e: AuditEvent) -> dict[str, Any]:
    at = e.at if e.at.tzinfo else e.at.replace(tzinfo=utcnow().tzinfo)
    return {
        "id": e.id,
        "at": at.isoformat(),
        "actor": {"kind": e.actor_kind, "id": e.actor_id, "name": e.actor_name},
        "action": e.action,
        "target": e.target,
        "origin": e.origin,
        "request_id": e.request_id,
        "detail": e.detail,
    }


def list_events(ctx: PlanFuse, query: AuditQuery) -> dict[str, Any]:
    """Events newest first, with `next_before` (the `before` of the next page, or None)."""
    with ctx.db.session() as session:
        rows = session.scalars(_select(query).limit(query.limit + 1)).all()
        events = [event_dict(e) for e in rows[: query.limit]]
    more = len(rows) > query.limit
    return {"events": events, "next_before": events[-1]["id"] if more and events else None}


def _safe_row(cells: list[Any]) -> list[Any]:
    """Text a spreadsheet would run as a formula (= + - @) gets a leading apostrophe: names
    and notes come from users (CSV injection)."""
    return [
        "'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
        for c in cells
    ]


def export_csv(ctx: PlanFuse, query: AuditQuery, batch: int = 1000) -> Iterator[str]:
    """Every event the query's filters match (no limit), newest first, as CSV text chunks:
    UTF-8 with a BOM (Excel opens Chinese text correctly), detail as JSON."""
    import orjson

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + out.getvalue()
    before = query.before
    while True:
        page = AuditQuery(**{**query.__dict__, "before": before, "limit": batch})
        with ctx.db.session() as session:
            rows = [event_dict(e) for e in session.scalars(_select(page).limit(batch))]
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for e in rows:
            writer.writerow(
                _safe_row(
                    [
                        e["id"],
                        e["at"],
                        e["actor"]["kind"],
                        e["actor"]["id"],
                        e["actor"]["name"] or "",
                        e["action"],
                        e["target"],
                        e["origin"],
                        e["request_id"] or "",
                        orjson.dumps(e["detail"]).decode() if e["detail"] else "",
                    ]
                )
            )
        yield out.getvalue()
        before = rows[-1]["id"]
