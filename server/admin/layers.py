"""The admin console's layer page (图层管理): the catalogue with every layer's versions, and
an upload form that imports a file as a new layer version.

The form posts to `POST /admin/layers/import`, the cookie-and-CSRF twin of the API's
`POST /api/v1/layers/<id>/versions`: both read the upload with `import_upload`, which calls
`planfuse.services.layers.importer.import_layer` (all-or-nothing).
"""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request, url_for

from planfuse.admin.views import (
    console_change,
    console_page,
    csrf_token,
    require_signed_in,
)
from planfuse.geo.crs import GCJ02_KEY, CRSInfo, supported_crs
from planfuse.http.audit import audit_event
from planfuse.http.context import planfuse
from planfuse.http.problems import not_found
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.http.uploads import import_upload
from planfuse.services.layers.catalogue import layer_detail, list_layers
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.layers.versions import make_version_current

routes = RouteTable()

# Chongqing spans 105.3–110.2°E: CGCS2000 3-degree zones 35–37 (central meridians 105°E,
# 108°E, 111°E), written with the zone number in front of the easting or without it. Its
# departments publish in these, in CGCS2000 lon/lat, or in GCJ-02 from web-map tools.
CHONGQING_CRS = ("EPSG:4490", "EPSG:4523", "EPSG:4524", "EPSG:4525")
CHONGQING_CRS += ("EPSG:4544", "EPSG:4545", "EPSG:4546")
WEB_MAP_CRS = (GCJ02_KEY, "BD-09", "EPSG:4326", "EPSG:3857")
_DATUM_ZH = {"CGCS2000": "CGCS2000", "Xian1980": "西安 80", "Beijing1954": "北京 54"}
_NAMED_ZH = {
    "EPSG:4490": "CGCS2000 经纬度",
    "EPSG:4326": "WGS 84 经纬度",
    "OGC:CRS84": "WGS 84 经纬度（经度在前）",
    "EPSG:3857": "Web 墨卡托",
    "EPSG:4610": "西安 80 经纬度",
    "EPSG:4214": "北京 54 经纬度",
    GCJ02_KEY: "GCJ-02 火星坐标（高德、腾讯）",
    "BD-09": "BD-09 百度坐标",
}


def crs_label(info: CRSInfo) -> str:
    """ "EPSG:4523 · CGCS2000 3° 带第 35 带（含带号）· CGCS2000 / 3-degree Gauss-Kruger zone 35"."""
    if info.gk_zone is not None:
        datum = _DATUM_ZH.get(info.datum, info.datum)
        where = "含带号" if info.zone_prefixed else f"中央经线 {info.central_meridian:g}°E"
        zh = f"{datum} 3° 带第 {info.gk_zone} 带（{where}）"
    else:
        zh = _NAMED_ZH.get(info.key, info.name)
    if info.key == GCJ02_KEY:
        return f"{zh} · GCJ-02 (AMap, Tencent)"
    return f"{info.key} · {zh} · {info.name}"


def crs_groups() -> list[dict[str, Any]]:
    """The CRS select's option groups: Chongqing's first, then web maps, then "from the
    shapefile's .prj" (value ""), then every other supported CRS."""
    infos = {info.key: info for info in supported_crs()}

    def options(keys) -> list[dict[str, str]]:
        return [{"value": k, "label": crs_label(infos[k])} for k in keys]

    shown = set(CHONGQING_CRS) | set(WEB_MAP_CRS)
    return [
        {"label": "重庆常用 · Chongqing", "options": options(CHONGQING_CRS)},
        {"label": "互联网地图 · Web maps", "options": options(WEB_MAP_CRS)},
        {
            "label": "文件自带 · From the file",
            "options": [{"value": "", "label": "从 .prj 读取（shapefile）· From the .prj"}],
        },
        {"label": "其他 · Other", "options": options(k for k in infos if k not in shown)},
    ]


def kinds() -> list[dict[str, Any]]:
    return [
        {
            "name": k.name,
            "title_zh": k.title_zh,
            "title_en": k.title_en,
            "geometry": k.geometry,
            "attributes": list(k.attributes),
            "required": list(k.required),
        }
        for k in LAYER_KINDS.values()
    ]


@routes.get("/layers")
@console_page
def layers_page():
    """The layer table and the upload form."""
    settings = planfuse().settings
    config = {
        "csrf_token": csrf_token(),
        "layers": list_layers(planfuse()),
        "kinds": kinds(),
        "crs_groups": crs_groups(),
        "max_upload_bytes": min(settings.import_max_bytes, settings.max_body_bytes),
        "import_url": url_for("admin.import_layer_file"),
        "list_url": url_for("admin.layers_json"),
        "versions_url": url_for("admin.layer_versions", layer_id="LAYER_ID"),
    }
    return render_template("admin/layers.html", admin=g.admin, config=config)


@routes.get("/layers.json")
def layers_json():
    """The layer table's rows (the page reloads them after an import)."""
    require_signed_in()
    return json_response({"layers": list_layers(planfuse())})


@routes.get("/layers/<layer_id>/versions")
@console_page
def layer_versions(layer_id: str):
    """One layer and every version it has had, newest first."""
    layer = layer_detail(planfuse(), layer_id)
    if layer is None:
        raise not_found("layer", layer_id)
    kind = LAYER_KINDS.get(layer["kind"])
    config = {
        "csrf_token": csrf_token(),
        "layer": layer_id,
        "current_version": layer["version"],
        "current_url": url_for("admin.set_current_version", layer_id=layer_id),
    }
    return render_template(
        "admin/layer_versions.html", admin=g.admin, config=config, layer=layer, kind=kind
    )


@routes.post("/layers/import")
@console_change
def import_layer_file():
    """Import the form's file as a new version of layer `layer` (multipart, CSRF-checked);
    the other fields are those of `POST /api/v1/layers/<id>/versions`."""
    layer_id = request.form.get("layer", "").strip()
    summary = import_upload(layer_id, created_by=f"admin:{g.admin.name}")
    return json_response(summary.to_dict(), 201)


@routes.post("/layers/<layer_id>/current")
@console_change
def set_current_version(layer_id: str):
    """Make a stored version current again (`version` in the form or a JSON body): the
    console's twin of `PUT /api/v1/layers/<id>/current`."""
    body = request.get_json(silent=True) if request.is_json else None
    version = (body or {}).get("version") if body is not None else request.form.get("version")
    change = make_version_current(planfuse(), layer_id, version)
    if change.changed:
        audit_event("layer.rollback", f"layer:{layer_id}", change.audit_detail())
    return json_response(change.to_dict())
