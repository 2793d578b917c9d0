"""The data services (数据服务): OGC API – Features under /ogc, vector tiles under /tiles.

The API logic lives in plain functions (`features`, `tiles`), tested without Flask;
`views` adapts them to HTTP; `register` puts its routes on the area's two blueprints.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from planfuse.ogc import views


def register(app: Flask) -> None:
    """Serve the data services from `app`: the `ogc` and `tiles` blueprints."""
    ogc = Blueprint("ogc", __name__, url_prefix="/ogc")
    views.feature_routes.add_to(ogc)
    app.register_blueprint(ogc)
    tiles = Blueprint("tiles", __name__, url_prefix="/tiles")
    views.tile_routes.add_to(tiles)
    app.register_blueprint(tiles)
