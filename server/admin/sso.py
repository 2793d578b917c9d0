"""Admin single sign-on in the console: `/admin/sso` sends the browser to the OpenID
Connect issuer, `/admin/sso/callback` signs the admin in when the issuer sends them back
(`planfuse.services.admin_sso` does the checking). The flow (state, nonce, PKCE verifier)
waits in a sealed, HttpOnly cookie scoped to the callback; it is SameSite=Lax because
the callback is a navigation from the issuer's site."""

from __future__ import annotations

from flask import redirect, request, url_for

from planfuse.admin.views import sign_in_response
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError
from planfuse.http.routes import RouteTable
from planfuse.services import admin_sso

routes = RouteTable()

FLOW_COOKIE = "pf_admin_sso"
FLOW_PATH = "/admin/sso"


def _redirect_uri() -> str:
    base = planfuse().settings.public_url.rstrip("/") or request.host_url.rstrip("/")
    return base + url_for("admin.sso_callback")


@routes.get("/sso")
def sso_start():
    """Leave for the issuer's sign-in page (404 when single sign-on is off)."""
    if admin_sso.sso_config(planfuse()) is None:
        raise ProblemError(404, "not_found", "single sign-on is not configured")
    url, flow = admin_sso.begin_sign_in(planfuse(), _redirect_uri())
    response = redirect(url)
    response.set_cookie(
        FLOW_COOKIE,
        admin_sso.seal_flow(planfuse(), flow),
        max_age=admin_sso.FLOW_LIFETIME_S,
        path=FLOW_PATH,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response


@routes.get("/sso/callback")
def sso_callback():
    """Back from the issuer: check everything, then sign in (403 problem otherwise)."""
    ctx = planfuse()
    if request.args.get("error"):
        # The issuer refused (the person cancelled, or is not allowed to use the client).
        raise ProblemError(
            403,
            "sso_refused",
            "single sign-on refused by the issuer: "
            f"{request.args.get('error')[:100]} {request.args.get('error_description', '')[:300]}",
        )
    flow = admin_sso.open_flow(ctx, request.cookies.get(FLOW_COOKIE, ""))
    admin = admin_sso.finish_sign_in(
        ctx, flow, code=request.args.get("code"), state=request.args.get("state")
    )
    response = sign_in_response(admin, "oidc")
    response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
    return response
