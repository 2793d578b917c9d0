"""The admin console: sign-in with an admin token from the CLI, and the embed page.

The console is the only cookie-using part of PlanFuse: an HttpOnly, SameSite=Strict cookie
scoped to /admin holding a random value that names a sign-in kept on the server
(`planfuse.services.admin_sessions`: signing out or revoking the token ends it at once),
plus a CSRF token on every form and state-changing request. Admin pages may not be framed
by anyone (`frame-ancestors 'none'`).

A department administrator (an admin token made with `--dept`) signs in with the `admin`
role and their department, kept in the sign-in on the server and checked against the token
on every request. The console limits them as the admin API does, with the same checks
(`planfuse.http.caller`): pages and changes are a platform administrator's unless a route
lets department administrators in (`department_ok`) and applies the department rule itself.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from flask import (
    Response,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from planfuse.auth.apps import current_secret, list_host_apps
from planfuse.http.audit import audit_event
from planfuse.http.caller import require_platform_admin
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError
from planfuse.http.routes import RouteTable
from planfuse.services.admin_sessions import (
    end_admin_session,
    session_admin,
    start_admin_session,
)
from planfuse.services.admin_tokens import Admin, verify_admin_token
from planfuse.services.embed_tokens import mint_embed_token_for
from planfuse.services.monitoring.departments import list_departments
from planfuse.services.monitoring.listing import widget_manifest
from planfuse.signing.secret import derived_key
from planfuse.widgets.registry import protocol

COOKIE = "pf_admin"
LOGIN_CSRF_COOKIE = "pf_admin_csrf"
#: An admin console sign-in lasts this long.
ADMIN_SESSION_S = 8 * 3600
ADMIN_KEY_LABEL = b"planfuse/admin-console/v1"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

routes = RouteTable()


def _key() -> bytes:
    return derived_key(planfuse(), ADMIN_KEY_LABEL)


def _sign(value: str) -> str:
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()


def signed_in_admin() -> Admin | None:
    """The admin this request's console cookie names, or None (no sign-in, signed out,
    expired, or its admin token revoked)."""
    return session_admin(planfuse(), request.cookies.get(COOKIE, ""))


def sign_in_response(admin: Admin, method: str) -> Response:
    """Start a console sign-in for `admin` and go to the console (the audit log records
    it); used by the token form and by single sign-on.

    Single sign-on comes back from the issuer's site, and a browser does not send a
    SameSite=Strict cookie on a redirect chain another site started: its answer is a page
    that moves on from our own origin instead of a redirect."""
    value = start_admin_session(planfuse(), admin, method=method, lifetime_s=ADMIN_SESSION_S)
    g.admin = admin
    detail = {"method": method, "role": admin.role}
    if admin.dept is not None:
        detail["dept"] = admin.dept
    audit_event("admin.sign_in", f"admin:{admin.id}", detail)
    target = url_for(home_endpoint(admin))
    if method == "oidc":
        response = Response(
            render_template("admin/signed_in.html", admin=None, target=target, name=admin.name),
            mimetype="text/html",
        )
    else:
        response = redirect(target)
    _set_cookie(response, COOKIE, value, ADMIN_SESSION_S)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response


def csrf_token() -> str:
    """The CSRF token bound to this admin sign-in (or to the pre-login cookie)."""
    basis = (
        request.cookies.get(COOKIE)
        or g.get("login_csrf")
        or request.cookies.get(LOGIN_CSRF_COOKIE, "")
    )
    return _sign("csrf." + basis)[:40]


def check_csrf() -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
    if not sent or not hmac.compare_digest(sent, csrf_token()):
        raise ProblemError(
            403, "csrf_failed", "the form's CSRF token is missing or stale; reload the page"
        )


def require_signed_in(*, department_ok: bool = False) -> Admin:
    """The signed-in admin (also in `g.admin`), or a 401 problem; a department
    administrator gets 403 `platform_admin_required` unless `department_ok`."""
    admin = signed_in_admin()
    if admin is None:
        raise ProblemError(401, "authentication_required", "sign in at /admin/login")
    g.admin = admin
    if not department_ok:
        require_platform_admin(admin)
    return admin


View = Callable[..., Any]


def console_page(view: View | None = None, *, department_ok: bool = False) -> Any:
    """A console page: signed-in admins only (in `g.admin`); others go to the sign-in. A
    department administrator may open it only with `department_ok`; otherwise the answer
    is a 403 page saying it is a platform administrator's."""
    if view is None:
        return functools.partial(console_page, department_ok=department_ok)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        admin = signed_in_admin()
        if admin is None:
            return redirect(url_for("admin.login"))
        g.admin = admin
        reason = None if department_ok else refusal(lambda: require_platform_admin(admin))
        if reason is not None:
            return _platform_only_page(reason)
        return view(*args, **kwargs)

    return wrapper


def console_change(view: View | None = None, *, department_ok: bool = False) -> Any:
    """A console route that changes something: signed in (401), the CSRF token (403), the
    `admin` role (403 for a viewer) and a platform administrator (403
    `platform_admin_required`) unless `department_ok`: the route then applies the
    department rule to what it changes, as its admin API twin does."""
    if view is None:
        return functools.partial(console_change, department_ok=department_ok)

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        admin = require_signed_in(department_ok=True)
        check_csrf()
        if admin.role != "admin":
            raise ProblemError(
                403,
                "forbidden",
                f"{admin.name} signed in with the console role {admin.role!r}, which may "
                "read but not change; ask for the admin role",
                title="Forbidden",
            )
        if not department_ok:
            require_platform_admin(admin)
        return view(*args, **kwargs)

    return wrapper


def refusal(check: Callable[[], None]) -> str | None:
    """Why `check` (a rule of `planfuse.http.caller`) refuses the signed-in admin, or None:
    what a page says in place of a control the server would refuse."""
    try:
        check()
    except ProblemError as refused:
        return refused.detail
    return None


def _platform_only_page(reason: str) -> Response:
    html = render_template(
        "admin/platform_only.html",
        admin=g.admin,
        config={"csrf_token": csrf_token()},
        reason=reason,
        home=url_for(home_endpoint(g.admin)),
    )
    return Response(html, status=403, mimetype="text/html")


def home_endpoint(admin: Admin) -> str:
    """Where the console opens: a department administrator's services in the catalogue,
    a platform administrator's embed page."""
    return "admin.embed_page" if admin.dept is None else "admin.catalogue_page"


@routes.context_processor
def _console_scope() -> dict[str, Any]:
    """`scope` for every console template: the department a department administrator
    manages (its id and names), or None."""
    admin = g.get("admin")
    if admin is None or admin.dept is None:
        return {"scope": None}
    found = next((d for d in list_departments(planfuse()) if d.id == admin.dept), None)
    names = found.describe()["name"] if found else {"zh-CN": admin.dept, "en": admin.dept}
    return {"scope": {"dept": admin.dept, "name": names}}


@routes.after_request
def _admin_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def _set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
    )


@routes.get("/")
def index():
    admin = signed_in_admin()
    return redirect(url_for(home_endpoint(admin) if admin else "admin.login"))


@routes.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        check_csrf()
        admin = verify_admin_token(planfuse(), request.form.get("token", "").strip())
        if admin is not None:
            return sign_in_response(admin, "token")
        error = "管理令牌无效或已吊销 · The admin token is unknown or revoked."
    fresh = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    g.login_csrf = fresh
    html = render_template(
        "admin/login.html",
        csrf_token=csrf_token(),
        error=error,
        sso=bool(planfuse().settings.oidc_issuer),
    )
    response = Response(html, status=401 if error else 200, mimetype="text/html")
    _set_cookie(response, LOGIN_CSRF_COOKIE, fresh, 3600)
    return response


@routes.post("/logout")
def logout():
    check_csrf()
    admin = signed_in_admin()
    if admin is not None:
        g.admin = admin
        audit_event("admin.sign_out", f"admin:{admin.id}")
    end_admin_session(planfuse(), request.cookies.get(COOKIE, ""))
    response = redirect(url_for("admin.login"))
    response.delete_cookie(COOKIE, path="/admin")
    return response


@routes.get("/embed")
@console_page(department_ok=True)
def embed_page():
    """Choose a widget, set params, theme and locale, preview it, copy snippet and code."""
    ctx = planfuse()
    apps = [
        {
            "app_id": a.id,
            "name": a.name,
            "origins": list(a.origins),
            "widgets": list(a.widgets),
            "disabled": a.disabled,
            "can_preview": current_secret(a) is not None and not a.disabled,
        }
        for a in list_host_apps(ctx)
    ]
    config = {
        "server": (ctx.settings.public_url or request.host_url).rstrip("/"),
        "csrf_token": csrf_token(),
        "apps": apps,
        "manifest": widget_manifest(ctx),
        "audience": ctx.settings.token_audience,
        "max_ttl_s": ctx.settings.token_max_lifetime_s,
        "locales": protocol()["locales"],
        # A preview mints an embed token with a host app's secret: the platform's.
        "preview_refused": refusal(lambda: require_platform_admin(g.admin)),
    }
    return render_template("admin/embed.html", admin=g.admin, config=config)


@routes.post("/embed/preview-token")
@console_change
def preview_token():
    """A short-lived token for the live preview, minted with the chosen app's secret."""
    admin = g.admin
    body = request.get_json(silent=True) or {}
    app_id = body.get("app_id")
    if not isinstance(app_id, str):
        raise ProblemError(400, "invalid_request", "choose a host app for the preview")
    minted = mint_embed_token_for(
        planfuse(),
        {
            "widget": body.get("widget"),
            "sub": f"admin:{admin.name}",
            "name": admin.name,
            "params": body.get("params") or None,
            "locale": body.get("locale"),
            "roles": ["admin-preview"],
            "ttl": 120,
        },
        app_id,
    )
    return jsonify(token=minted["token"], expires_at=minted["expires_at"])
