"""The PlanFuse context and the response cache of the app serving the current request."""

from __future__ import annotations

from flask import current_app
from flask_caching import Cache

from planfuse.context import PlanFuse

#: Where `create_app` keeps them in `app.extensions`.
CONTEXT_KEY = "planfuse"
CACHE_KEY = "planfuse_cache"


def planfuse() -> PlanFuse:
    """The current app's PlanFuse context (inside a request or app context)."""
    return current_app.extensions[CONTEXT_KEY]


def response_cache() -> Cache | None:
    """The current app's shared cache (Redis or in-process), if it has one."""
    return current_app.extensions.get(CACHE_KEY)
