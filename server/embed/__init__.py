"""Embedding: widget pages, the token → session exchange, the SDK, the manifest and the
sample host application; `POST /api/v1/embed-tokens` for hosts that let the server mint
their embed tokens. The widget registry itself is `planfuse.widgets.registry`.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from planfuse.embed import api, views
from planfuse.http.responses import API_PREFIX


def register(app: Flask) -> None:
    """Serve the embed area from `app`: the `embed` blueprint (pages, session, SDK, assets)
    and the `embed_api` blueprint at /api/v1."""
    pages = Blueprint("embed", __name__)
    views.routes.add_to(pages)
    app.register_blueprint(pages)
    embed_api = Blueprint("embed_api", __name__, url_prefix=API_PREFIX)
    api.routes.add_to(embed_api)
    app.register_blueprint(embed_api)
