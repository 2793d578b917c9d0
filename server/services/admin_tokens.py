"""Administrator tokens: created from the CLI, checked by the admin API."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, InvalidInput
from planfuse.services.monitoring.departments import list_departments
from planfuse.storage.models import AdminSession, AdminToken
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.admin")

TOKEN_PREFIX = "pfa_"  # noqa: S105 - a public prefix, not a secret


#: Console roles: `admin` may change everything; `viewer` reads every page and the audit
#: log but changes nothing. An admin token is always `admin`; single sign-on maps a claim
#: of the identity provider to a role (`planfuse.services.admin_sso`).
ADMIN_ROLES = ("admin", "viewer")


@dataclass(frozen=True)
class Admin:
    """An administrator: `id` is the admin token's id, or "oidc:<subject>" for one who
    signed in with single sign-on."""

    id: str
    name: str
    role: str = "admin"
    #: A department administrator's department (发布部门): they manage that department's
    #: services only. None: a platform administrator.
    dept: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_admin_token(ctx: PlanFuse, name: str, dept: str | None = None) -> tuple[str, str]:
    """Create an admin token; returns (id, token). The token is not stored, only its hash.

    With `dept` (a department record's id) the token is a department administrator's.
    """
    if dept is not None:
        known = {d.id for d in list_departments(ctx)}
        if dept not in known:
            raise InvalidInput(
                f"no department {dept!r}; departments: {', '.join(sorted(known))}", field="dept"
            )
    token_id = secrets.token_hex(8)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.db.session() as session:
        session.add(
            AdminToken(id=token_id, name=name[:200], token_sha256=_digest(token), dept=dept)
        )
    return token_id, token


#: `last_used_at` is written at most this often per token: a read must not write on every
#: request (concurrent admin requests on SQLite would queue behind each other's writes).
LAST_USED_PRECISION_S = 300


def verify_admin_token(ctx: PlanFuse, token: str) -> Admin | None:
    """The admin a token belongs to, or None (unknown, revoked or malformed).

    A read only: `last_used_at` is brought up to date (to `LAST_USED_PRECISION_S`) in a
    transaction of its own, and a database too busy to take that write does not fail the
    request.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    with ctx.db.session() as session:
        row = session.scalars(select(AdminToken).where(AdminToken.token_sha256 == digest)).first()
        # Compare digests in constant time even though the lookup already matched.
        if row is None or row.revoked or not hmac.compare_digest(row.token_sha256, digest):
            return None
        admin = Admin(id=row.id, name=row.name, dept=row.dept)
        last_used = row.last_used_at
    now = utcnow()
    if last_used is not None and last_used.tzinfo is None:  # SQLite keeps no zone: UTC
        last_used = last_used.replace(tzinfo=UTC)
    if last_used is None or (now - last_used).total_seconds() >= LAST_USED_PRECISION_S:
        _touch(ctx, admin.id, now)
    return admin


def _touch(ctx: PlanFuse, token_id: str, now: datetime) -> None:
    try:
        with ctx.db.session() as session:
            session.execute(
                update(AdminToken).where(AdminToken.id == token_id).values(last_used_at=now)
            )
    except OperationalError:
        log.warning("could not record the use of admin token %s (database busy)", token_id)


def require_admin_token(ctx: PlanFuse, token: str) -> Admin:
    """The admin a token belongs to; Forbidden when it is unknown or revoked."""
    admin = verify_admin_token(ctx, token)
    if admin is None:
        raise Forbidden("the admin token is unknown or revoked")
    return admin


def revoke_admin_token(ctx: PlanFuse, token_id: str) -> bool:
    """Revoke a token; the console sign-ins made with it end at once. False if unknown."""
    with ctx.db.session() as session:
        result = session.execute(
            update(AdminToken).where(AdminToken.id == token_id).values(revoked=True)
        )
        # The sign-ins are refused anyway (`session_admin` checks the token); ending them
        # also shows them as ended.
        session.execute(
            update(AdminSession)
            .where(AdminSession.admin_id == token_id, AdminSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        return result.rowcount > 0
