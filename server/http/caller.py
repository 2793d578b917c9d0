"""Who is calling: the caller behind the current request (a widget session or a host
backend, `planfuse.auth.caller`), an administrator's token with the department rule that
limits a department administrator (the admin API's and the console's), and the 403 for a
request that widens a parameter the host locked in the embed token."""

from __future__ import annotations

from flask import g, request

from planfuse.auth.caller import Caller, authenticate, credentials
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError
from planfuse.services.admin_tokens import TOKEN_PREFIX, Admin, require_admin_token
from planfuse.services.monitoring.access import require_granted
from planfuse.services.monitoring.control import catalogued_service
from planfuse.services.monitoring.departments import list_departments
from planfuse.services.monitoring.limits import enforce_limits
from planfuse.services.monitoring.runtime import find_service
from planfuse.services.remote import registry
from planfuse.services.remote.records import RemoteEntry


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
    if not department_ok:
        require_platform_admin(admin)
    return admin


# The department rule, one copy for the admin API and the console (planfuse.admin.views):
# a department administrator manages their own department's services, chains and remote
# services, and nothing of the platform.


def manages(admin: Admin, dept: str | None) -> bool:
    """Whether `admin` may manage what department `dept` publishes."""
    return admin.dept is None or admin.dept == dept


def require_platform_admin(admin: Admin) -> None:
    """403 `platform_admin_required` for a department administrator."""
    if admin.dept is not None:
        own = _department_name(admin.dept)
        raise ProblemError(
            403,
            "platform_admin_required",
            f"「{admin.name}」是{own}的部门管理员，只管理本部门（{admin.dept}）的服务；此操作"
            "需要平台管理员（不带 --dept 创建的管理令牌） · "
            f"{admin.name} administers the department {admin.dept!r}'s services only; this "
            "is for platform administrators (a token made without --dept)",
            title="Forbidden",
        )


def require_service_admin(service_id: str) -> Admin:
    """An administrator who may manage `service_id`: a platform administrator, or the
    administrator of the department that publishes it (403 `not_your_department` for
    another department's; 404 for an unknown service)."""
    admin = require_admin(department_ok=True)
    require_service_department(admin, service_id)
    return admin


def require_service_department(admin: Admin, service_id: str) -> None:
    """403 `not_your_department` unless `admin` may manage the catalogued `service_id`
    (404 for an unknown service)."""
    if admin.dept is not None:
        require_department(admin, catalogued_service(service_id, planfuse()).dept, "service")


def require_department(admin: Admin, dept: str | None, what: str) -> None:
    """403 `not_your_department` unless `admin` is a platform administrator or `dept`'s;
    `what` ("service" or "chain") names what is published."""
    if manages(admin, dept):
        return
    own = _department_name(admin.dept)
    what_zh = {"chain": "串联"}.get(what, "服务")
    if dept is None:
        zh = f"此{what_zh}未写明发布部门（dept）"
        en = f"this {what} names no department (dept)"
    else:
        zh = f"此{what_zh}由{_department_name(dept)}（{dept}）发布"
        en = f"this {what} is published by {dept!r}"
    raise ProblemError(
        403,
        "not_your_department",
        f"「{admin.name}」只管理{own}（{admin.dept}）的服务；{zh} · "
        f"{admin.name} administers the department {admin.dept!r}; {en}",
        title="Forbidden",
        errors=[{"field": "dept", "message": f"must be {admin.dept!r}"}],
    )


def require_body_department(admin: Admin, body: object, *, required: bool) -> None:
    """A remote service's registration (`required`: its `dept` must be the admin's) or
    change (a `dept` it sends must be the admin's); a body that is not an object is left
    to the registry to refuse."""
    if isinstance(body, dict) and (required or "dept" in body):
        require_department(admin, body.get("dept"), "service")


def require_remote_department(admin: Admin, service_id: str) -> RemoteEntry:
    """The registered remote service `service_id` (404 when none), if `admin` may manage
    it (403 `not_your_department` otherwise)."""
    entry = registry.get_entry(planfuse(), service_id)
    require_department(admin, entry.dept, "service")
    return entry


def require_chain_department(admin: Admin, body: object) -> None:
    """A chain a department administrator publishes: under their own department, and a new
    version only of a chain of theirs."""
    if admin.dept is None:
        return
    require_department(admin, body.get("dept") if isinstance(body, dict) else None, "chain")
    # `body` is an object here: anything else names no department and was refused above.
    chain_id = body.get("id")
    existing = find_service(planfuse(), chain_id) if isinstance(chain_id, str) else None
    if existing is not None:
        require_department(admin, existing.dept, "service")


def _department_name(dept: str | None) -> str:
    """A department's Chinese name for a message; its id when it is not a department."""
    found = next((d for d in list_departments(planfuse()) if d.id == dept), None)
    return found.name_zh if found else str(dept)


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
