"""Administrator tokens: created from the CLI, checked by the admin API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update

from planfuse.context import PlanFuse
from planfuse.errors import ProblemError
from planfuse.storage.models import AdminToken
from planfuse.storage.models.base import utcnow

TOKEN_PREFIX = "pfa_"  # noqa: S105 - a public prefix, not a secret


@dataclass(frozen=True)
class Admin:
    id: str
    name: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_admin_token(ctx: PlanFuse, name: str) -> tuple[str, str]:
    """Create an admin token; returns (id, token). The token is not stored, only its hash."""
    token_id = secrets.token_hex(8)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.db.session() as session:
        session.add(AdminToken(id=token_id, name=name[:200], token_sha256=_digest(token)))
    return token_id, token


def verify_admin_token(ctx: PlanFuse, token: str) -> Admin | None:
    """The admin a token belongs to, or None (unknown, revoked or malformed)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    with ctx.db.session() as session:
        row = session.scalars(select(AdminToken).where(AdminToken.token_sha256 == digest)).first()
        # Compare digests in constant time even though the lookup already matched.
        if row is None or row.revoked or not hmac.compare_digest(row.token_sha256, digest):
            return None
        session.execute(
            update(AdminToken).where(AdminToken.id == row.id).values(last_used_at=utcnow())
        )
        return Admin(id=row.id, name=row.name)


def require_admin_token(ctx: PlanFuse, token: str) -> Admin:
    """The admin a token belongs to; a 403 problem when it is unknown or revoked."""
    admin = verify_admin_token(ctx, token)
    if admin is None:
        raise ProblemError(
            403, "forbidden", "the admin token is unknown or revoked", title="Forbidden"
        )
    return admin


def revoke_admin_token(ctx: PlanFuse, token_id: str) -> bool:
    with ctx.db.session() as session:
        result = session.execute(
            update(AdminToken).where(AdminToken.id == token_id).values(revoked=True)
        )
        return result.rowcount > 0
