"""Who is calling the API: administrators (admin tokens from the CLI)."""

from __future__ import annotations

from flask import g, request

from planfuse.app import planfuse
from planfuse.auth.caller import credentials
from planfuse.errors import ProblemError
from planfuse.services.admin_tokens import Admin, require_admin_token


def bearer_token() -> str | None:
    """The request's `Authorization: Bearer` token, or None."""
    scheme, token = credentials(request.headers.get("Authorization"))
    return token if scheme == "bearer" and token else None


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
    admin = require_admin_token(planfuse(), token)
    g.admin = admin
    return admin
