"""`POST /api/v1/embed-tokens`: the server mints an embed token for a host that would
rather not sign one itself (HTTP Basic `app_id:secret`; same claims, same limits)."""

from __future__ import annotations

from typing import Any

from flask import request

from planfuse.api import api_bp
from planfuse.api.common import NO_STORE, json_response
from planfuse.app import planfuse
from planfuse.auth.apps import get_host_app
from planfuse.auth.caller import authenticate_basic, credentials
from planfuse.auth.tokens import mint_embed_token
from planfuse.embed.registry import ParamError, check_locked_params, widget_registry
from planfuse.errors import ProblemError, bad_request


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{name} must be a string", field=name)
    return value


def mint_for_request(body: Any, app_id: str) -> dict[str, Any]:
    """Validate a mint request body and sign the token (plain function; tested directly)."""
    ctx = planfuse()
    if not isinstance(body, dict):
        raise bad_request('send a JSON object: {"widget": ..., "sub": ...}')
    widget_name = body.get("widget")
    widget = widget_registry(ctx).get(widget_name) if isinstance(widget_name, str) else None
    if widget is None:
        known = ", ".join(widget_registry(ctx).names())
        raise bad_request(f"widget must be one of: {known}", field="widget")
    app = get_host_app(ctx, app_id)
    if not app.allows_widget(widget.name):
        raise ProblemError(403, "forbidden", f"app {app.id} may not embed {widget.name!r}")
    sub = body.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 200:
        raise bad_request(
            "sub (the host's user id) must be a string of 1–200 characters", field="sub"
        )
    try:
        params = check_locked_params(widget, body.get("params"))
    except ParamError as exc:
        raise bad_request(exc.message, field=f"params.{exc.name}") from None
    roles = body.get("roles")
    if roles is not None and (
        not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)
    ):
        raise bad_request("roles must be a list of strings", field="roles")
    ttl = body.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
        raise bad_request("ttl must be a whole number of seconds", field="ttl")
    token, exp = mint_embed_token(
        ctx,
        app,
        widget=widget.name,
        sub=sub,
        params=params,
        ttl_s=ttl,
        name=_optional_str(body, "name"),
        dept=_optional_str(body, "dept"),
        roles=roles,
        locale=_optional_str(body, "locale"),
    )
    return {"token": token, "expires_at": exp, "widget": widget.name, "app_id": app.id}


@api_bp.post("/embed-tokens")
def create_embed_token():
    """Mint an embed token for the calling host app (HTTP Basic app_id:secret)."""
    scheme, value = credentials(request.headers.get("Authorization"))
    if scheme != "basic":
        raise ProblemError(
            401,
            "authentication_required",
            "send the host app's credentials as HTTP Basic app_id:secret",
            headers={"WWW-Authenticate": 'Basic realm="planfuse"'},
        )
    caller = authenticate_basic(planfuse(), value)
    return json_response(
        mint_for_request(request.get_json(silent=True), caller.app_id), 201, NO_STORE
    )
