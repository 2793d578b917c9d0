"""`POST /api/v1/embed-tokens`: the server mints an embed token for a host that would
rather not sign one itself (HTTP Basic `app_id:secret`; same claims, same limits)."""

from __future__ import annotations

from flask import request

from planfuse.auth.caller import authenticate_basic, credentials
from planfuse.http.context import planfuse
from planfuse.http.problems import ProblemError
from planfuse.http.responses import NO_STORE, json_response
from planfuse.http.routes import RouteTable
from planfuse.services.embed_tokens import mint_embed_token_for

routes = RouteTable()


@routes.post("/embed-tokens")
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
        mint_embed_token_for(planfuse(), request.get_json(silent=True), caller.app_id),
        201,
        NO_STORE,
    )
