"""The admin console: sign-in with an admin token from the CLI, and the embed page.

The console is the only cookie-using part of PlanFuse: a signed, HttpOnly, SameSite=Strict
cookie scoped to /admin, plus a CSRF token on every form and state-changing request. Admin
pages may not be framed by anyone (`frame-ancestors 'none'`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from planfuse.app import planfuse
from planfuse.auth.apps import current_secret, list_host_apps
from planfuse.auth.sessions import derived_key
from planfuse.embed.registry import protocol, widget_registry
from planfuse.errors import ProblemError
from planfuse.services.admin_tokens import Admin, verify_admin_token
from planfuse.storage.models import AdminToken

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

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


def _key() -> bytes:
    return derived_key(planfuse(), ADMIN_KEY_LABEL)


def _sign(value: str) -> str:
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()


def _cookie_value(admin: Admin) -> str:
    payload = f"{admin.id}.{int(time.time()) + ADMIN_SESSION_S}"
    return f"{payload}.{_sign(payload)}"


def signed_in_admin() -> Admin | None:
    """The admin this request's console cookie names, or None."""
    value = request.cookies.get(COOKIE, "")
    payload, _, signature = value.rpartition(".")
    if not payload or not hmac.compare_digest(_sign(payload), signature):
        return None
    token_id, _, expires = payload.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    with planfuse().db.session() as session:
        row = session.scalars(select(AdminToken).where(AdminToken.id == token_id)).first()
        if row is None or row.revoked:
            return None
        return Admin(id=row.id, name=row.name)


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


def require_signed_in() -> Admin:
    """The signed-in admin (also in `g.admin`), or a 401 problem."""
    admin = signed_in_admin()
    if admin is None:
        raise ProblemError(401, "authentication_required", "sign in at /admin/login")
    g.admin = admin
    return admin


def console_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """A console page: signed-in admins only (in `g.admin`); others go to the sign-in."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        admin = signed_in_admin()
        if admin is None:
            return redirect(url_for("admin.login"))
        g.admin = admin
        return view(*args, **kwargs)

    return wrapper


def console_change(view: Callable[..., Any]) -> Callable[..., Any]:
    """A console route that changes something: signed in (401) and the CSRF token (403)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_signed_in()
        check_csrf()
        return view(*args, **kwargs)

    return wrapper


@admin_bp.after_request
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


@admin_bp.get("/")
def index():
    return redirect(url_for("admin.embed_page" if signed_in_admin() else "admin.login"))


@admin_bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        check_csrf()
        admin = verify_admin_token(planfuse(), request.form.get("token", "").strip())
        if admin is not None:
            response = redirect(url_for("admin.embed_page"))
            _set_cookie(response, COOKIE, _cookie_value(admin), ADMIN_SESSION_S)
            response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
            return response
        error = "管理令牌无效或已吊销 · The admin token is unknown or revoked."
    fresh = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    g.login_csrf = fresh
    html = render_template("admin/login.html", csrf_token=csrf_token(), error=error)
    response = Response(html, status=401 if error else 200, mimetype="text/html")
    _set_cookie(response, LOGIN_CSRF_COOKIE, fresh, 3600)
    return response


@admin_bp.post("/logout")
def logout():
    check_csrf()
    response = redirect(url_for("admin.login"))
    response.delete_cookie(COOKIE, path="/admin")
    return response


@admin_bp.get("/embed")
@console_page
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
        "manifest": widget_registry(ctx).manifest(),
        "audience": ctx.settings.token_audience,
        "max_ttl_s": ctx.settings.token_max_lifetime_s,
        "locales": protocol()["locales"],
    }
    return render_template("admin/embed.html", admin=g.admin, config=config)


@admin_bp.post("/embed/preview-token")
@console_change
def preview_token():
    """A short-lived token for the live preview, minted with the chosen app's secret."""
    admin = g.admin
    from planfuse.embed.api import mint_for_request

    body = request.get_json(silent=True) or {}
    app_id = body.get("app_id")
    if not isinstance(app_id, str):
        raise ProblemError(400, "invalid_request", "choose a host app for the preview")
    minted = mint_for_request(
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


# Other pages of the console register themselves on `admin_bp` when imported.
from planfuse.admin import apps as _apps_page  # noqa: E402, F401
from planfuse.admin import layers, service_monitor  # noqa: E402, F401
