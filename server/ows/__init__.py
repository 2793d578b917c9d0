"""The interfaces desktop GIS and departments' systems read: WFS 2.0 and WMS 1.3.0 at
`/ows`, WMTS 1.0.0 at `/wmts`, the ArcGIS REST services at `/arcgis/rest/services`.

The logic is plain functions (`wfs`, `fes`, `gml`, `crs`) over the data services' shared
layer access (`planfuse.services.features`, `planfuse.http.layer_access`); `views` adapts
them to HTTP and `register` puts the routes on the area's blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Flask

from planfuse.ows import views


def register(app: Flask) -> None:
    """Serve the OWS interfaces from `app`: the `ows`, `wmts` and `arcgis` blueprints."""
    ows = Blueprint("ows", __name__, url_prefix="/ows")
    views.ows_routes.add_to(ows)
    app.register_blueprint(ows)
    wmts = Blueprint("wmts", __name__, url_prefix="/wmts")
    views.wmts_routes.add_to(wmts)
    app.register_blueprint(wmts)
    arcgis = Blueprint("arcgis", __name__, url_prefix="/arcgis/rest/services")
    views.arcgis_routes.add_to(arcgis)
    app.register_blueprint(arcgis)
