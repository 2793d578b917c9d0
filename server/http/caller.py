"""Who is calling: the caller behind the current request (a widget session or a host
backend, `planfuse.auth.caller`), an administrator's token, and the 403 for a request that
widens a parameter the host locked in the embed token."""

from __future__ import annotations

from flask import g, request

from planfuse.auth.caller import Caller, authenticate, credentials
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError
from planfuse.services.admin_tokens import TOKEN_PREFIX, Admin, require_admin_token
from planfuse.services.monitoring.access import require_granted
from planfuse.services.monitoring.control import catalogued_service
from planfuse.services.monitoring.limits import enforce_limits


def require_caller(widget: str | None = None) -> Caller:
    """The caller of the current request (session token or Basic), or a 401/403 problem.

    `widget`: when given, a session token must belong to that widget. Basic callers (host
    backends) may call every function service granted to their app (403
    `service_not_granted` otherwise, planfuse.services.monitoring.access), within the
    app's rate limit and daily quota for it (429, planfuse.services.monitoring.limits).
    """
    ctx = planfuse()
    caller = authenticate(ctx, request.headers.get("Authorization"), widget)
    g.caller = caller
    # The service the request belongs to (set by the service gate) must be granted to the
    # caller's app, for its backend and its widgets alike.
    service_id = g.get("service_id")
    if service_id:
        require_granted(ctx, caller.app_id, service_id)
        # The app's rate limit and daily quota for the service, counted once a request.
        if not g.get("service_limits_counted"):
            g.service_limits_counted = True
            enforce_limits(ctx, caller.app_id, service_id)
    return caller


def bearer_token() -> str | None:
    """The request's `Authorization: Bearer` token, or None."""
    scheme, token = credentials(request.headers.get("Authorization"))
    return token if scheme == "bearer" and token else None


def require_admin(*, department_ok: bool = False) -> Admin:
    """The admin behind the request's `Authorization: Bearer pfa_...` header, or 401/403.

    A department administrator (a token made with `--dept`) is refused (403
    `platform_admin_required`) unless `department_ok`: the route then limits them to their
    department itself (see `require_service_admin`).
    """
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
    if admin.dept is not None and not department_ok:
        raise ProblemError(
            403,
            "platform_admin_required",
            f"{admin.name} administers the department {admin.dept!r}'s services only; this "
            "endpoint is for platform administrators (a token made without --dept)",
            title="Forbidden",
        )
    return admin


def require_service_admin(service_id: str) -> Admin:
    """An administrator who may manage `service_id`: a platform administrator, or the
    administrator of the department that publishes it (403 `not_your_department` for
    another department's; 404 for an unknown service)."""
    admin = require_admin(department_ok=True)
    if admin.dept is not None:
        require_department(admin, catalogued_service(service_id, planfuse()).dept, "service")
    return admin


def require_department(admin: Admin, dept: str | None, what: str) -> None:
    """403 `not_your_department` unless `admin` is a platform administrator or `dept`'s."""
    if admin.dept is not None and admin.dept != dept:
        raise ProblemError(
            403,
            "not_your_department",
            f"{admin.name} administers the department {admin.dept!r}; this {what} is "
            f"published by {dept!r}",
            title="Forbidden",
            errors=[{"field": "dept", "message": f"must be {admin.dept!r}"}],
        )


def require_admin_or_caller() -> Admin | Caller:
    """An administrator (`Bearer pfa_…`) or a host app's caller (its Basic credentials or
    one of its widget sessions), else 401/403."""
    token = bearer_token()
    if token is not None and token.startswith(TOKEN_PREFIX):
        return require_admin()
    return require_caller()


def widened_lock(name: str, message: str) -> ProblemError:
    """The 403 for a request that widens parameter `name` the host locked in the embed
    token (narrowing is allowed; see each area's lock rules)."""
    return ProblemError(
        403,
        "forbidden",
        f"the request widens parameter {name!r} locked by the host: {message}",
        title="Forbidden",
        errors=[{"field": name, "message": message}],
    )
