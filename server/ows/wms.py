"""WMS 1.3.0 (and 1.1.1 for old clients) over the published layers, as plain functions:
GetCapabilities, GetMap (PNG, JPEG, WebP; transparent or on a background colour) drawn with
the map widget's styles (`planfuse.services.maps.draw`), GetFeatureInfo (JSON, HTML, GML)
and SLD's GetLegendGraphic (`planfuse.ows.legend`).

Layers are the layers (their ids as WMS names), each drawing its current version, with the
same restricted-layer rule as the other data services. In 1.3.0 `CRS=EPSG:4490` and the
Gauss–Krüger CRSs take the EPSG axis order (latitude or northing first) for `BBOX`, as the
standard requires; CRS:84 and EPSG:3857 are easting first; 1.1.1's `SRS` is always x,y.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as html_escape
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import orjson
import shapely

from planfuse.context import PlanFuse
from planfuse.geo.crs import CRSInfo
from planfuse.http.layer_access import layer_caller
from planfuse.ows import gml
from planfuse.ows.crs import RequestCRS, offered_short_names, parse_crs
from planfuse.ows.errors import OWSError, invalid, missing
from planfuse.ows.kvp import KVP, numbers, version_check
from planfuse.ows.legend import (
    DEFAULT_SYMBOL_PX,
    LOCALES,
    MAX_SYMBOL_PX,
    legend_entries,
    legend_png,
    legend_size,
    swatch_png,
)
from planfuse.services.features.crs import collection_crs, storage_box, to_output
from planfuse.services.features.layers import CollectionRef, current_layers, find_layer
from planfuse.services.features.output import geojson_features
from planfuse.services.features.store import BBoxQuery, FeatureRow, query_features
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.maps.draw import IMAGE_FORMATS, MapFrame, draw_map

VERSIONS = ("1.3.0", "1.1.1")
INFO_FORMATS = ("application/json", "text/html", "application/vnd.ogc.gml", "text/xml")
FEATURE_INFO_TOLERANCE_PX = 4
FEATURE_INFO_MAX = 50


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str


def _refs_by_name(ctx: PlanFuse, names: str, parameter: str) -> list[CollectionRef]:
    refs = []
    for name in (n.strip() for n in names.split(",")):
        if not name:
            continue
        ref = find_layer(ctx, name)
        if ref is None:
            raise OWSError(
                "LayerNotDefined",
                f"layer {name[:64]!r} does not exist; GetCapabilities lists the layers",
                parameter,
            )
        refs.append(ref)
    if not refs:
        raise missing(parameter)
    return refs


# --- GetCapabilities -----------------------------------------------------------------------


def _bounding_boxes(bbox: tuple[float, float, float, float], version: str) -> str:
    west, south, east, north = bbox
    out = (
        f"<EX_GeographicBoundingBox><westBoundLongitude>{west!r}</westBoundLongitude>"
        f"<eastBoundLongitude>{east!r}</eastBoundLongitude>"
        f"<southBoundLatitude>{south!r}</southBoundLatitude>"
        f"<northBoundLatitude>{north!r}</northBoundLatitude></EX_GeographicBoundingBox>"
        if version == "1.3.0"
        else f'<LatLonBoundingBox minx="{west!r}" miny="{south!r}" maxx="{east!r}" '
        f'maxy="{north!r}"/>'
    )
    attr = "CRS" if version == "1.3.0" else "SRS"
    for info in collection_crs():
        name = "CRS:84" if info.key == "OGC:CRS84" else info.key
        if name == "CRS:84" and version != "1.3.0":
            continue
        corners = _box_in(info, bbox, north_first=version == "1.3.0" and info.first_axis_north)
        if corners is None:
            continue
        a0, b0, a1, b1 = corners
        out += f'<BoundingBox {attr}="{name}" minx="{a0}" miny="{b0}" maxx="{a1}" maxy="{b1}"/>'
    return out


def _box_in(
    info: CRSInfo, bbox: tuple[float, float, float, float], north_first: bool
) -> tuple[str, str, str, str] | None:
    west, south, east, north = bbox
    ring = shapely.segmentize(shapely.box(west, south, east, north), 0.01)
    easting = dataclasses.replace(info, first_axis_north=False)
    out = to_output(ring, easting)
    if out is None or out.is_empty:
        return None
    x0, y0, x1, y1 = out.bounds
    if not all(map(_finite, (x0, y0, x1, y1))):
        return None
    digits = 9 if info.degrees else 3
    values = [f"{v:.{digits}f}" for v in ((y0, x0, y1, x1) if north_first else (x0, y0, x1, y1))]
    return values[0], values[1], values[2], values[3]


def _finite(v: float) -> bool:
    return v == v and abs(v) != float("inf")


def capabilities(ctx: PlanFuse, base_url: str, version: str) -> Answer:
    href = quoteattr(base_url.rstrip("/") + "/ows?")
    size = ctx.settings.wms_max_size
    attr = "CRS" if version == "1.3.0" else "SRS"
    crs_names = [n for n in offered_short_names() if version == "1.3.0" or n != "CRS:84"]
    online = f'<OnlineResource xlink:type="simple" xlink:href={href}/>'
    dcp = f"<DCPType><HTTP><Get>{online}</Get></HTTP></DCPType>"
    layers = []
    refs = current_layers(ctx)
    world = None
    for ref in refs:
        kind = LAYER_KINDS.get(ref.kind)
        abstract = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
        if ref.department:
            abstract += f" — {ref.department}"
        if ref.restricted:
            abstract += " (restricted: send credentials)"
        boxes = _bounding_boxes(ref.bbox, version) if ref.bbox is not None else ""
        if ref.bbox is not None:
            world = (
                ref.bbox
                if world is None
                else (
                    min(world[0], ref.bbox[0]),
                    min(world[1], ref.bbox[1]),
                    max(world[2], ref.bbox[2]),
                    max(world[3], ref.bbox[3]),
                )
            )
        layers.append(
            f'<Layer queryable="1" opaque="0"><Name>{escape(ref.id)}</Name>'
            f"<Title>{escape(ref.name)}</Title><Abstract>{escape(abstract)}</Abstract>"
            f"{boxes}<Style><Name>default</Name><Title>{escape(ref.name)}</Title>"
            f"{_legend_url(base_url, ref, version)}</Style></Layer>"
        )
    root_boxes = _bounding_boxes(world, version) if world is not None else ""
    # 1.1.1 lists GetLegendGraphic among its requests (SLD); 1.3.0 names it only in each
    # style's LegendURL (an extension element would need the SLD schema).
    legend_request = (
        f"<GetLegendGraphic><Format>image/png</Format>{dcp}</GetLegendGraphic>"
        if version == "1.1.1"
        else ""
    )
    formats = "".join(f"<Format>{f}</Format>" for f in IMAGE_FORMATS)
    info_formats = "".join(f"<Format>{f}</Format>" for f in INFO_FORMATS)
    if version == "1.3.0":
        head = (
            '<WMS_Capabilities version="1.3.0" xmlns="http://www.opengis.net/wms" '
            'xmlns:xlink="http://www.w3.org/1999/xlink">'
        )
        tail = "</WMS_Capabilities>"
        exceptions = "<Exception><Format>XML</Format></Exception>"
        limits = (
            f"<LayerLimit>32</LayerLimit><MaxWidth>{size}</MaxWidth><MaxHeight>{size}</MaxHeight>"
        )
        capabilities_format = "<Format>text/xml</Format>"
    else:
        head = '<WMT_MS_Capabilities version="1.1.1" xmlns:xlink="http://www.w3.org/1999/xlink">'
        tail = "</WMT_MS_Capabilities>"
        exceptions = "<Exception><Format>application/vnd.ogc.se_xml</Format></Exception>"
        limits = ""
        capabilities_format = "<Format>application/vnd.ogc.wms_xml</Format>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + head
        + "<Service><Name>WMS</Name><Title>PlanFuse 多规合一 planning maps (WMS)</Title>"
        "<Abstract>The unified planning database's layers drawn with the map widget's "
        f"styles.</Abstract>{online}<Fees>none</Fees><AccessConstraints>none"
        f"</AccessConstraints>{limits}</Service>"
        "<Capability><Request>"
        f"<GetCapabilities>{capabilities_format}{dcp}</GetCapabilities>"
        f"<GetMap>{formats}{dcp}</GetMap>"
        f"<GetFeatureInfo>{info_formats}{dcp}</GetFeatureInfo>"
        f"{legend_request}"
        f"</Request>{exceptions}"
        "<Layer><Title>PlanFuse planning layers</Title>"
        + "".join(f"<{attr}>{name}</{attr}>" for name in crs_names)
        + root_boxes
        + "".join(layers)
        + "</Layer></Capability>"
        + tail
    )
    media = "text/xml" if version == "1.3.0" else "application/vnd.ogc.wms_xml"
    return Answer(body.encode(), media)


def _legend_url(base_url: str, ref: CollectionRef, version: str) -> str:
    width, height = legend_size(
        legend_entries(ref.kind, ref.name), legend_entries(ref.kind, ref.name, "en")
    )
    href = (
        f"{base_url.rstrip('/')}/ows?service=WMS&request=GetLegendGraphic&version={version}"
        f"&format=image/png&layer={quote(ref.id)}"
    )
    return (
        f'<LegendURL width="{width}" height="{height}"><Format>image/png</Format>'
        f'<OnlineResource xlink:type="simple" xlink:href={quoteattr(href)}/></LegendURL>'
    )


# --- GetLegendGraphic ----------------------------------------------------------------------


def get_legend_graphic(ctx: PlanFuse, kvp: KVP, authorization: str | None) -> Answer:
    """SLD GetLegendGraphic: LAYER, FORMAT (image/png), STYLE (default), WIDTH and HEIGHT of
    each symbol (20 px), RULE (one class code: that swatch alone), LANGUAGE (zh-CN or en)."""
    (ref,) = _refs_by_name(ctx, kvp.require("LAYER").split(",")[0], "LAYER")
    style = (kvp.get("STYLE") or "").strip()
    if style not in ("", "default"):
        raise OWSError(
            "StyleNotDefined", f"style {style[:40]!r} is not defined; use default", "STYLE"
        )
    fmt = (kvp.get("FORMAT") or "image/png").strip().lower()
    if fmt != "image/png":
        raise OWSError("InvalidFormat", "legends are offered as FORMAT=image/png", "FORMAT")
    locale = (kvp.get("LANGUAGE") or "zh-CN").strip()
    locale = {"zh": "zh-CN", "chi": "zh-CN", "zho": "zh-CN", "eng": "en"}.get(locale, locale)
    if locale not in LOCALES:
        raise invalid("LANGUAGE", "LANGUAGE is zh-CN or en")
    width = kvp.integer("WIDTH", 4, MAX_SYMBOL_PX) or DEFAULT_SYMBOL_PX
    height = kvp.integer("HEIGHT", 4, MAX_SYMBOL_PX) or DEFAULT_SYMBOL_PX
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    entries = legend_entries(ref.kind, ref.name, locale)
    rule = kvp.get("RULE")
    if rule is not None:
        found = [e for e in entries if (e.code or "") == rule.strip()]
        if not found:
            codes = ", ".join(e.code for e in entries if e.code) or "(none)"
            raise invalid(
                "RULE", f"RULE {rule[:40]!r} is not a class of this layer; its classes: {codes}"
            )
        return Answer(swatch_png(found[0].style, width, height), "image/png")
    english = legend_entries(ref.kind, ref.name, "en")
    return Answer(legend_png(entries, english, (width, height)), "image/png")


# --- the map frame shared by GetMap and GetFeatureInfo -------------------------------------


@dataclass(frozen=True)
class Frame:
    """The requested map: its CRS, its box easting first (x0, y0, x1, y1) and pixel size."""

    crs: RequestCRS
    box: tuple[float, float, float, float]
    width: int
    height: int

    def to_pixels(self, geoms: Sequence[shapely.Geometry]) -> Any:
        x0, y0, x1, y1 = self.box
        sx, sy = self.width / (x1 - x0), self.height / (y1 - y0)
        return shapely.transform(list(geoms), lambda c: (c - [x0, y1]) * [sx, -sy], include_z=False)

    def easting_first(self) -> CRSInfo:
        return dataclasses.replace(self.crs.info, first_axis_north=False)

    def query_box(self, box: tuple[float, float, float, float] | None = None) -> BBoxQuery:
        x0, y0, x1, y1 = box or self.box
        east_info = self.easting_first()
        return BBoxQuery.from_geometry(*storage_box((x0, y0, x1, y1), east_info))


def _frame(ctx: PlanFuse, kvp: KVP, version: str) -> Frame:
    crs_param = "CRS" if version == "1.3.0" else "SRS"
    raw_crs = kvp.get(crs_param) or kvp.get("SRS" if crs_param == "CRS" else "CRS")
    if not raw_crs or not raw_crs.strip():
        raise missing(crs_param)
    crs = parse_crs(raw_crs, crs_param, short_is_xy=version != "1.3.0", code="InvalidCRS")
    if version == "1.3.0" and raw_crs.strip().upper().startswith("EPSG:"):
        crs = RequestCRS(crs.info, raw_crs.strip().upper())
    size = ctx.settings.wms_max_size
    width = kvp.integer("WIDTH", 1)
    height = kvp.integer("HEIGHT", 1)
    if width is None:
        raise missing("WIDTH")
    if height is None:
        raise missing("HEIGHT")
    if width > size or height > size:
        raise invalid(
            "WIDTH" if width > size else "HEIGHT",
            f"the image may be at most {size}×{size} pixels; {width}×{height} was asked",
        )
    raw_box = kvp.get("BBOX")
    if not raw_box:
        raise missing("BBOX")
    a0, b0, a1, b1 = numbers("BBOX", raw_box, 4)
    if a0 >= a1 or b0 >= b1:
        raise invalid("BBOX", "BBOX needs minimum < maximum on both axes (lower corner first)")
    info = crs.info
    x0, y0, x1, y1 = (b0, a0, b1, a1) if info.first_axis_north else (a0, b0, a1, b1)
    if info.degrees and not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
        order = "lat,lon" if info.first_axis_north else "lon,lat"
        raise invalid(
            "BBOX",
            f"BBOX lies outside the world for {crs.name} (axis order {order} in WMS "
            f"{version}); check the axis order",
        )
    return Frame(crs, (x0, y0, x1, y1), width, height)


def _read_layer(
    ctx: PlanFuse, ref: CollectionRef, query: BBoxQuery, limit: int
) -> tuple[int, list[FeatureRow]]:
    return query_features(
        ctx,
        ref.id,
        ref.version,
        ref.feature_count,
        filters={},
        bbox=query,
        offset=0,
        limit=limit,
    )


# --- GetMap --------------------------------------------------------------------------------


def _colour_param(raw: str | None) -> tuple[int, int, int, int]:
    if raw is None or not raw.strip():
        return (255, 255, 255, 255)
    text = raw.strip()
    hexa = text[2:] if text.lower().startswith("0x") else text.lstrip("#")
    if len(hexa) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in hexa):
        raise invalid("BGCOLOR", "BGCOLOR is a hexadecimal RGB colour, e.g. 0xFFFFFF")
    return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16), 255


def get_map(ctx: PlanFuse, kvp: KVP, version: str, authorization: str | None) -> Answer:
    refs = _refs_by_name(ctx, kvp.require("LAYERS"), "LAYERS")
    styles = [s.strip() for s in (kvp.get("STYLES") or "").split(",")]
    for style in styles:
        if style not in ("", "default"):
            raise OWSError(
                "StyleNotDefined", f"style {style[:40]!r} is not defined; use default", "STYLES"
            )
    if len(styles) > 1 and len(styles) != len(refs):
        raise invalid("STYLES", "STYLES lists one style per layer (or is empty)")
    fmt = (kvp.get("FORMAT") or "").strip().lower()
    if not fmt:
        raise missing("FORMAT")
    if fmt not in IMAGE_FORMATS:
        raise OWSError(
            "InvalidFormat", f"FORMAT {fmt[:40]!r} is not offered; use image/png, image/jpeg or "
            "image/webp", "FORMAT"
        )  # fmt: skip
    transparent = (kvp.get("TRANSPARENT") or "FALSE").strip().upper() == "TRUE"
    background = _colour_param(kvp.get("BGCOLOR"))
    frame = _frame(ctx, kvp, version)
    for ref in refs:
        layer_caller(ctx, ref.id, ref.restricted, authorization)
    return Answer(draw(ctx, refs, frame, fmt, transparent, background), fmt)


def draw(
    ctx: PlanFuse,
    refs: Sequence[CollectionRef],
    frame: Frame,
    fmt: str,
    transparent: bool,
    background: tuple[int, int, int, int],
) -> bytes:
    """The map of `refs` (the first at the bottom) in `frame`, encoded as `fmt` (access
    already checked). Shared by WMS GetMap and the ArcGIS MapServer's export."""
    map_frame = MapFrame(frame.crs.info, frame.box, frame.width, frame.height)
    return draw_map(ctx, refs, map_frame, fmt, transparent, background)


# --- GetFeatureInfo ------------------------------------------------------------------------


def get_feature_info(ctx: PlanFuse, kvp: KVP, version: str, authorization: str | None) -> Answer:
    refs = _refs_by_name(ctx, kvp.require("QUERY_LAYERS"), "QUERY_LAYERS")
    map_layers = {r.id for r in _refs_by_name(ctx, kvp.require("LAYERS"), "LAYERS")}
    for ref in refs:
        if ref.id not in map_layers:
            raise OWSError("LayerNotQueryable", f"{ref.id} is not among LAYERS", "QUERY_LAYERS")
    frame = _frame(ctx, kvp, version)
    i_name, j_name = ("I", "J") if version == "1.3.0" else ("X", "Y")
    i = kvp.integer(i_name, 0)
    j = kvp.integer(j_name, 0)
    if i is None:
        raise missing(i_name)
    if j is None:
        raise missing(j_name)
    if i >= frame.width or j >= frame.height:
        raise OWSError(
            "InvalidPoint",
            f"{i_name},{j_name} = {i},{j} lies outside the {frame.width}×{frame.height} map",
            i_name if i >= frame.width else j_name,
        )
    info_format = (kvp.get("INFO_FORMAT") or "application/json").strip().lower()
    if info_format not in INFO_FORMATS:
        raise OWSError(
            "InvalidFormat",
            f"INFO_FORMAT {info_format[:40]!r} is not offered; use " + ", ".join(INFO_FORMATS),
            "INFO_FORMAT",
        )
    count = min(kvp.integer("FEATURE_COUNT", 1) or 1, FEATURE_INFO_MAX)
    for ref in refs:
        layer_caller(ctx, ref.id, ref.restricted, authorization)
    x0, y0, x1, y1 = frame.box
    px, py = (x1 - x0) / frame.width, (y1 - y0) / frame.height
    cx, cy = x0 + (i + 0.5) * px, y1 - (j + 0.5) * py
    t = FEATURE_INFO_TOLERANCE_PX
    query = frame.query_box((cx - t * px, cy - t * py, cx + t * px, cy + t * py))
    found: list[tuple[CollectionRef, FeatureRow]] = []
    for ref in reversed(refs):  # the top layer first
        _, rows = _read_layer(ctx, ref, query, count)
        found += [(ref, row) for row in rows]
    found = found[:count]
    if info_format == "application/json":
        features = []
        for ref, row in found:
            feature = geojson_features([row], frame.crs.info, id_prefix=ref.id)[0]
            feature["layer"] = ref.id
            features.append(feature)
        body = {"type": "FeatureCollection", "features": features}
        if frame.crs.info.key != "OGC:CRS84":
            body["crs"] = {"type": "name", "properties": {"name": frame.crs.name}}
        return Answer(orjson.dumps(body), "application/json")
    if info_format == "text/html":
        return Answer(feature_info_html(found).encode(), "text/html")
    return Answer(_gml(found, frame), "application/vnd.ogc.gml")


def _properties(row: FeatureRow) -> dict[str, Any]:
    props = dict(row.properties)
    if row.district is not None:
        props.setdefault("district", row.district)
    return props


def feature_info_html(found: list[tuple[CollectionRef, FeatureRow]]) -> str:
    """GetFeatureInfo as HTML: a table per feature (WMS and WMTS)."""
    parts = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
             "<title>GetFeatureInfo</title></head><body>"]  # fmt: skip
    if not found:
        parts.append("<p>没有要素 · No features here</p>")
    for ref, row in found:
        rows = "".join(
            f"<tr><th>{html_escape(str(k))}</th><td>{html_escape(str(v))}</td></tr>"
            for k, v in _properties(row).items()
        )
        parts.append(
            f"<table><caption>{html_escape(ref.name)} · {html_escape(ref.id)}.{row.fid}"
            f"</caption>{rows}</table>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def _gml(found: list[tuple[CollectionRef, FeatureRow]], frame: Frame) -> bytes:
    members = []
    for ref, row in found:
        name = gml.xml_name(ref.id)
        geom = to_output(shapely.from_wkb(row.geom), frame.crs.info)
        gid = f"{name}.{row.fid}"
        values = "".join(
            f"<pf:{gml.xml_name(k)}>{escape(str(v))}</pf:{gml.xml_name(k)}>"
            for k, v in _properties(row).items()
            if v is not None
        )
        members.append(
            f'<gml:featureMember><pf:{name} gml:id="{gid}"><pf:geometry>'
            f"{gml.geometry(geom, gid + '.geom', frame.crs.name)}</pf:geometry>{values}"
            f"</pf:{name}></gml:featureMember>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<wfs:FeatureCollection '
        'xmlns:wfs="http://www.opengis.net/wfs/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" '
        f'xmlns:pf="urn:planfuse:layers">{"".join(members)}</wfs:FeatureCollection>'
    ).encode()


def handle(ctx: PlanFuse, kvp: KVP, base_url: str, authorization: str | None) -> Answer:
    """One WMS KVP request (SERVICE=WMS already checked)."""
    request = kvp.require("REQUEST")
    name = request.lower()
    if name in ("getcapabilities", "capabilities"):
        # Version negotiation: the highest version not above the one asked for.
        asked = (kvp.get("VERSION") or kvp.get("WMTVER") or "").strip()
        version = "1.1.1" if asked and asked < "1.3.0" else "1.3.0"
        return capabilities(ctx, base_url, version)
    if name == "getlegendgraphic":
        # SLD's request: clients send VERSION=1.3.0, 1.1.1 or SLD's 1.1.0; none changes it.
        return get_legend_graphic(ctx, kvp, authorization)
    version = version_check(kvp, VERSIONS, "WMS")
    if name == "getmap" or name == "map":
        return get_map(ctx, kvp, version, authorization)
    if name == "getfeatureinfo":
        return get_feature_info(ctx, kvp, version, authorization)
    raise OWSError(
        "OperationNotSupported",
        f"WMS request {request[:40]!r} is not supported; use GetCapabilities, GetMap, "
        "GetFeatureInfo or GetLegendGraphic",
        "REQUEST",
    )
