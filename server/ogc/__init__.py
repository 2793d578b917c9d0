"""The data services (数据服务): OGC API – Features under /ogc, vector tiles under /tiles.

The API logic lives in plain functions (`features`, `tiles`), tested without Flask;
`views` adapts them to HTTP and registers the routes on the two blueprints below.
"""

from __future__ import annotations

from flask import Blueprint

ogc_bp = Blueprint("ogc", __name__, url_prefix="/ogc")
tiles_bp = Blueprint("tiles", __name__, url_prefix="/tiles")

from planfuse.ogc import views  # noqa: E402, F401
