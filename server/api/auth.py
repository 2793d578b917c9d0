"""Who is calling the API: administrators (admin tokens from the CLI)."""

from __future__ import annotations

from flask import g, request

from planfuse.app import planfuse
from planfuse.errors import ProblemError
from planfuse.services.admin_tokens import Admin, verify_admin_token


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_admin() -> Admin:
    """The admin behind the request's `Authorization: Bearer pfa_...` header, or 401/403."""
    token = bearer_token()
    if token is None:
        raise ProblemError(
            401,
            "authentication_required",
            "this endpoint needs an admin token: send `Authorization: Bearer <token>`; "
            "create one with `planfuse admin create-token NAME`",
            title="Authentication required",
            headers={"WWW-Authenticate": 'Bearer realm="planfuse-admin"'},
        )
    admin = verify_admin_token(planfuse(), token)
    if admin is None:
        raise ProblemError(
            403, "forbidden", "the admin token is unknown or revoked", title="Forbidden"
        )
    g.admin = admin
    return admin
