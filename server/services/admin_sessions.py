"""Console sign-ins (管理控制台会话), kept on the server.

The browser holds only a random value (the `pf_admin` cookie); the database keeps its
SHA-256 with who signed in, how (admin token or single sign-on), their console role, a
department administrator's department and until when. Signing out ends the row, and
revoking an admin token ends every sign-in made with it, so a copied cookie stops working
at once — not only when it expires. A request reads the row and never writes it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from planfuse.context import PlanFuse
from planfuse.services.admin_tokens import Admin
from planfuse.storage.models import AdminSession, AdminToken
from planfuse.storage.models.base import utcnow

#: Longest accepted cookie value (a token_urlsafe(32) is 43 characters).
MAX_VALUE_LENGTH = 100
#: Ended or expired sign-ins are deleted this long after they expire (kept a while for
#: an operator who looks into a sign-in; the audit log keeps sign-ins for good).
KEEP_EXPIRED_S = 30 * 86400


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_admin_session(ctx: PlanFuse, admin: Admin, *, method: str, lifetime_s: int) -> str:
    """Record a sign-in of `admin` (method "token" or "oidc") lasting `lifetime_s`
    seconds; returns the value for the browser's cookie (not stored)."""
    value = secrets.token_urlsafe(32)
    now = utcnow()
    with ctx.db.write_session() as session:
        session.execute(
            delete(AdminSession).where(
                AdminSession.expires_at < now - timedelta(seconds=KEEP_EXPIRED_S)
            )
        )
        session.add(
            AdminSession(
                id_sha256=_digest(value),
                admin_id=admin.id,
                name=admin.name[:200],
                role=admin.role,
                dept=admin.dept,
                method=method,
                created_at=now,
                expires_at=now + timedelta(seconds=lifetime_s),
            )
        )
    return value


def session_admin(ctx: PlanFuse, value: str) -> Admin | None:
    """The admin signed in with cookie `value`, or None: unknown, ended, expired, or made
    with an admin token that has since been revoked or whose department is not the one
    the sign-in holds."""
    if not value or len(value) > MAX_VALUE_LENGTH:
        return None
    with ctx.db.session() as session:
        row = session.get(AdminSession, _digest(value))
        if row is None or row.ended_at is not None:
            return None
        expires = row.expires_at
        if expires.tzinfo is None:  # SQLite hands back naive UTC
            expires = expires.replace(tzinfo=utcnow().tzinfo)
        if expires <= utcnow():
            return None
        if row.method == "token":
            token = session.scalars(select(AdminToken).where(AdminToken.id == row.admin_id)).first()
            if token is None or token.revoked:
                return None
            # The department limits what the sign-in may change: it must still be the
            # token's own (a sign-in kept without one, or with another, signs no one in).
            if token.dept != row.dept:
                return None
        return Admin(id=row.admin_id, name=row.name, role=row.role, dept=row.dept)


def end_admin_session(ctx: PlanFuse, value: str) -> None:
    """Sign out: the cookie `value` no longer signs anyone in."""
    if not value or len(value) > MAX_VALUE_LENGTH:
        return
    with ctx.db.session() as session:
        session.execute(
            update(AdminSession)
            .where(AdminSession.id_sha256 == _digest(value), AdminSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_sessions_of(ctx: PlanFuse, admin_id: str) -> int:
    """End every running sign-in of `admin_id` (a revoked token, a removed SSO admin);
    returns how many were running."""
    with ctx.db.session() as session:
        result = session.execute(
            update(AdminSession)
            .where(AdminSession.admin_id == admin_id, AdminSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        return result.rowcount
