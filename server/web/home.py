"""The server's own home page: what it serves and the layer catalogue, for people."""

from __future__ import annotations

from importlib.metadata import version

from flask import Blueprint, render_template

from planfuse.app import planfuse
from planfuse.embed.registry import widget_registry
from planfuse.services.layers import list_layers

home_bp = Blueprint("home", __name__)

# A page without script: nothing may run, nothing may frame it.
HOME_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


@home_bp.get("/")
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
