"""The server's own home page: what it serves and the layer catalogue, for people."""

from __future__ import annotations

from importlib.metadata import version

from flask import Blueprint, Flask, render_template, send_from_directory

from planfuse.http.context import planfuse
from planfuse.paths import STATIC_DIR
from planfuse.services.layers.catalogue import list_layers
from planfuse.widgets.registry import widget_registry

# A page without script: nothing may run, nothing may frame it.
HOME_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


def home():
    ctx = planfuse()
    layers = list_layers(ctx)
    response = render_template(
        "home.html",
        layers=layers,
        total_features=sum(layer["feature_count"] for layer in layers),
        widgets=list(widget_registry(ctx)),
        version=version("planfuse"),
    )
    return response, 200, {"Content-Security-Policy": HOME_CSP}


#: Browsers ask for /favicon.ico on their own (pages link the SVG); a day in their cache.
FAVICON_MAX_AGE_S = 86_400


def favicon():
    """The icon browsers show in tabs and bookmarks (32 px; pages link favicon.svg)."""
    return send_from_directory(
        STATIC_DIR, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=FAVICON_MAX_AGE_S
    )


def register(app: Flask) -> None:
    """Serve the home page at / and /favicon.ico from `app` (the `home` blueprint)."""
    bp = Blueprint("home", __name__)
    bp.get("/")(home)
    bp.get("/favicon.ico")(favicon)
    app.register_blueprint(bp)
