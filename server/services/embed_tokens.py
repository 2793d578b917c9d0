"""Embed tokens the server mints on a host's behalf: for a host backend that would rather
not sign one itself (`POST /api/v1/embed-tokens`) and for the admin console's live preview.
Same claims and limits as a token the host signs (`planfuse.auth.tokens`)."""

from __future__ import annotations

from typing import Any

from planfuse.auth.apps import get_host_app
from planfuse.auth.tokens import mint_embed_token
from planfuse.context import PlanFuse
from planfuse.errors import Forbidden, InvalidInput
from planfuse.widgets.registry import ParamError, check_locked_params, widget_registry


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string", field=name)
    return value


def mint_embed_token_for(ctx: PlanFuse, body: Any, app_id: str) -> dict[str, Any]:
    """Check a mint request `{"widget", "sub", "params"?, "roles"?, "ttl"?, "name"?,
    "dept"?, "locale"?}` for host app `app_id` and sign its embed token; returns
    `{"token", "expires_at", "widget", "app_id"}` (`expires_at` in seconds since the epoch)."""
    if not isinstance(body, dict):
        raise InvalidInput('send a JSON object: {"widget": ..., "sub": ...}')
    widget_name = body.get("widget")
    widget = widget_registry(ctx).get(widget_name) if isinstance(widget_name, str) else None
    if widget is None:
        known = ", ".join(widget_registry(ctx).names())
        raise InvalidInput(f"widget must be one of: {known}", field="widget")
    app = get_host_app(ctx, app_id)
    if not app.allows_widget(widget.name):
        raise Forbidden(f"app {app.id} may not embed {widget.name!r}")
    sub = body.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 200:
        raise InvalidInput(
            "sub (the host's user id) must be a string of 1–200 characters", field="sub"
        )
    try:
        params = check_locked_params(widget, body.get("params"))
    except ParamError as exc:
        raise InvalidInput(exc.message, field=f"params.{exc.name}") from None
    roles = body.get("roles")
    if roles is not None and (
        not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)
    ):
        raise InvalidInput("roles must be a list of strings", field="roles")
    ttl = body.get("ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int)):
        raise InvalidInput("ttl must be a whole number of seconds", field="ttl")
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
