"""Who may read a layer's data through the data services.

Public layers are open. A restricted layer (``Layer.restricted``) is served only to a caller
that authenticates; this module holds the one check every data endpoint (OGC items, single
features, vector tiles, TileJSON) calls, so the rule lives in one place.
"""

from __future__ import annotations

from planfuse.auth.caller import authenticate, credentials, unauthorized
from planfuse.context import PlanFuse
from planfuse.http.problems import ProblemError


def _admin(ctx: PlanFuse, authorization: str) -> str | None:
    from planfuse.services.admin_tokens import TOKEN_PREFIX, require_admin_token

    scheme, token = credentials(authorization)
    if scheme != "bearer" or not token.startswith(TOKEN_PREFIX):
        return None
    return f"admin:{require_admin_token(ctx, token).name}"


def _embed_caller(ctx: PlanFuse, authorization: str, layer_id: str) -> str:
    """A widget session token or a host app's HTTP Basic credentials (planfuse.auth), or a
    401/403 problem from there.

    A session whose embed token locked a `layers` list (the map widget's parameter) reads
    only those layers: the host's backend signed that set, the browser cannot widen it.
    """
    caller = authenticate(ctx, authorization)
    locked = caller.params.get("layers")
    if isinstance(locked, list) and layer_id not in locked:
        raise ProblemError(
            403,
            "forbidden",
            f"layer {layer_id!r} is not among the layers locked by the embed token",
            title="Forbidden",
            errors=[{"field": "layers", "message": "locked by the embed token"}],
        )
    return f"app:{caller.app_id}"


def layer_caller(ctx: PlanFuse, layer_id: str, restricted: bool, authorization: str | None) -> str:
    """Check that the caller may read layer `layer_id`; returns who it is ("public" for an
    open layer, "admin:NAME" or "app:APP_ID" otherwise).

    Restricted layers accept an admin token (`Authorization: Bearer pfa_…`), a widget
    session token (`Bearer …`) or a host app's HTTP Basic `app_id:secret`. Without
    credentials: 401; with bad ones: 401 or 403 (never the layer's data).
    """
    if not restricted:
        return "public"
    header = (authorization or "").strip()
    if not header:
        raise unauthorized(
            f"layer {layer_id!r} is restricted: send an admin token or a widget session token "
            "(Authorization: Bearer …) or the host app's credentials (HTTP Basic "
            "app_id:secret)"
        )
    return _admin(ctx, header) or _embed_caller(ctx, header, layer_id)
