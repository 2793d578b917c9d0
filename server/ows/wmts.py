"""WMTS 1.0.0 over the published layers, as plain functions: GetCapabilities, GetTile and
GetFeatureInfo in KVP (`/wmts?SERVICE=WMTS&REQUEST=…`), GetTile also RESTful
(`/wmts/1.0.0/{layer}/{style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png`).

Every layer is offered in two tile matrix sets (`planfuse.services.maps.matrix`):
WebMercatorQuad (EPSG:3857) and CGCS2000Quad (EPSG:4490 degrees, laid out like
WorldCRS84Quad), as PNG drawn with the map widget's styles and as Mapbox vector tiles
(`planfuse.services.maps.tiling`, cached per layer version). The restricted-layer rule is
the other data services' (`planfuse.http.layer_access`); refusals are OWS ExceptionReports.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import orjson

from planfuse.context import PlanFuse
from planfuse.geo.crs import resolve_crs
from planfuse.http.layer_access import layer_caller
from planfuse.ows.errors import OWSError, invalid, missing
from planfuse.ows.kvp import KVP, version_check
from planfuse.ows.wms import feature_info_html
from planfuse.services.features.crs import storage_box
from planfuse.services.features.layers import CollectionRef, current_layers, find_layer
from planfuse.services.features.output import geojson_features
from planfuse.services.features.store import BBoxQuery
from planfuse.services.layers.kinds import LAYER_KINDS
from planfuse.services.maps import tiling
from planfuse.services.maps.draw import read_layer
from planfuse.services.maps.matrix import (
    GRIDS,
    TILE_SIZE,
    TileGrid,
    TileOutOfRange,
    find_grid,
)
from planfuse.services.maps.vector import lonlat_to_mercator

VERSION = "1.0.0"
WMTS_NS = "http://www.opengis.net/wmts/1.0"
OWS_NS = "http://www.opengis.net/ows/1.1"
STYLE = "default"
#: Tile formats by media type, with the extension of the RESTful template.
FORMATS = {tiling.PNG: "png", tiling.MVT: "mvt"}
_EXTENSIONS = {"png": tiling.PNG, "mvt": tiling.MVT, "pbf": tiling.MVT}
INFO_FORMATS = ("application/json", "text/html")
#: GetFeatureInfo finds the features within this many pixels of the point, at most this many.
INFO_TOLERANCE_PX = 4
INFO_MAX_FEATURES = 10


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class TileAnswer:
    """A tile: `content` (b"" for an empty vector tile → 204; None when the client's
    `If-None-Match` already holds it → 304), its media type and caching headers."""

    content: bytes | None
    media_type: str
    etag: str
    cache_control: str


# --- GetCapabilities -----------------------------------------------------------------------


def _abstract(ref: CollectionRef) -> str:
    kind = LAYER_KINDS.get(ref.kind)
    abstract = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    if ref.department:
        abstract += f" — {ref.department}"
    if ref.restricted:
        abstract += " (restricted: send credentials)"
    return abstract


def _bounding_box(grid: TileGrid, bbox: tuple[float, float, float, float]) -> str:
    west, south, east, north = bbox
    if grid.id == "WebMercatorQuad":
        lat = np.clip([south, north], -85.05112878, 85.05112878)
        xs, ys = lonlat_to_mercator(np.array([west, east]), lat)
        lower, upper = f"{xs[0]:.3f} {ys[0]:.3f}", f"{xs[1]:.3f} {ys[1]:.3f}"
    else:  # EPSG:4490 in its own order, latitude first
        lower, upper = f"{south!r} {west!r}", f"{north!r} {east!r}"
    return (
        f"<ows:BoundingBox crs={quoteattr(grid.crs_urn)}><ows:LowerCorner>{lower}"
        f"</ows:LowerCorner><ows:UpperCorner>{upper}</ows:UpperCorner></ows:BoundingBox>"
    )


def _limits(grid: TileGrid, bbox: tuple[float, float, float, float]) -> str:
    out = []
    for z in range(grid.max_zoom + 1):
        row0, row1, col0, col1 = grid.limits(bbox, z)
        out.append(
            f"<TileMatrixLimits><TileMatrix>{z}</TileMatrix><MinTileRow>{row0}</MinTileRow>"
            f"<MaxTileRow>{row1}</MaxTileRow><MinTileCol>{col0}</MinTileCol>"
            f"<MaxTileCol>{col1}</MaxTileCol></TileMatrixLimits>"
        )
    return "<TileMatrixSetLimits>" + "".join(out) + "</TileMatrixSetLimits>"


def _layer(ref: CollectionRef, root: str) -> str:
    bbox = ref.bbox
    wgs84 = boxes = ""
    if bbox is not None:
        west, south, east, north = bbox
        wgs84 = (
            f"<ows:WGS84BoundingBox><ows:LowerCorner>{west!r} {south!r}</ows:LowerCorner>"
            f"<ows:UpperCorner>{east!r} {north!r}</ows:UpperCorner></ows:WGS84BoundingBox>"
        )
        boxes = "".join(_bounding_box(grid, bbox) for grid in GRIDS.values())
    links = "".join(
        f"<TileMatrixSetLink><TileMatrixSet>{grid.id}</TileMatrixSet>"
        + (_limits(grid, bbox) if bbox is not None else "")
        + "</TileMatrixSetLink>"
        for grid in GRIDS.values()
    )
    template = f"{root}/wmts/{VERSION}/{ref.id}/{{Style}}/{{TileMatrixSet}}/{{TileMatrix}}/"
    resources = "".join(
        f'<ResourceURL format={quoteattr(media)} resourceType="tile" '
        f"template={quoteattr(template + '{TileRow}/{TileCol}.' + ext)}/>"
        for media, ext in FORMATS.items()
    )
    return (
        f"<Layer><ows:Title>{escape(ref.name)}</ows:Title>"
        f"<ows:Abstract>{escape(_abstract(ref))}</ows:Abstract>{wgs84}"
        f"<ows:Identifier>{escape(ref.id)}</ows:Identifier>{boxes}"
        f'<Style isDefault="true"><ows:Title>{escape(ref.name)}</ows:Title>'
        f"<ows:Identifier>{STYLE}</ows:Identifier></Style>"
        + "".join(f"<Format>{media}</Format>" for media in FORMATS)
        + "".join(f"<InfoFormat>{media}</InfoFormat>" for media in INFO_FORMATS)
        + links
        + resources
        + "</Layer>"
    )


def _matrix_set(grid: TileGrid) -> str:
    document = grid.document()
    matrices = []
    for matrix in document["tileMatrices"]:
        a, b = matrix["pointOfOrigin"]  # in the CRS's axis order, as WMTS writes it
        matrices.append(
            f"<TileMatrix><ows:Identifier>{matrix['id']}</ows:Identifier>"
            f"<ScaleDenominator>{matrix['scaleDenominator']!r}</ScaleDenominator>"
            f"<TopLeftCorner>{float(a)!r} {float(b)!r}</TopLeftCorner>"
            f"<TileWidth>{matrix['tileWidth']}</TileWidth>"
            f"<TileHeight>{matrix['tileHeight']}</TileHeight>"
            f"<MatrixWidth>{matrix['matrixWidth']}</MatrixWidth>"
            f"<MatrixHeight>{matrix['matrixHeight']}</MatrixHeight></TileMatrix>"
        )
    scale_set = (
        f"<WellKnownScaleSet>{grid.well_known_scale_set}</WellKnownScaleSet>"
        if grid.well_known_scale_set
        else ""
    )
    return (
        f"<TileMatrixSet><ows:Title>{escape(grid.title)}</ows:Title>"
        f"<ows:Identifier>{grid.id}</ows:Identifier>"
        f"<ows:SupportedCRS>{grid.crs_urn}</ows:SupportedCRS>{scale_set}"
        + "".join(matrices)
        + "</TileMatrixSet>"
    )


def _operation(name: str, href: str) -> str:
    return (
        f'<ows:Operation name="{name}"><ows:DCP><ows:HTTP>'
        f'<ows:Get xlink:href={quoteattr(href)}><ows:Constraint name="GetEncoding">'
        "<ows:AllowedValues><ows:Value>KVP</ows:Value></ows:AllowedValues></ows:Constraint>"
        "</ows:Get></ows:HTTP></ows:DCP></ows:Operation>"
    )


def capabilities(ctx: PlanFuse, base_url: str) -> Answer:
    """The WMTS 1.0.0 ServiceMetadata: every layer in both tile matrix sets."""
    root = base_url.rstrip("/")
    href = f"{root}/wmts?"
    layers = "".join(_layer(ref, root) for ref in current_layers(ctx))
    metadata_url = f"{root}/wmts/{VERSION}/WMTSCapabilities.xml"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Capabilities xmlns="{WMTS_NS}" xmlns:ows="{OWS_NS}" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" version="1.0.0">'
        "<ows:ServiceIdentification><ows:Title>PlanFuse 多规合一 planning map tiles (WMTS)"
        "</ows:Title><ows:Abstract>The unified planning database's layers as map tiles "
        "drawn with the map widget's styles (PNG) and as Mapbox vector tiles, in Web "
        "Mercator and CGCS2000 (EPSG:4490).</ows:Abstract>"
        "<ows:ServiceType>OGC WMTS</ows:ServiceType>"
        f"<ows:ServiceTypeVersion>{VERSION}</ows:ServiceTypeVersion>"
        "<ows:Fees>none</ows:Fees><ows:AccessConstraints>none</ows:AccessConstraints>"
        "</ows:ServiceIdentification>"
        "<ows:OperationsMetadata>"
        + _operation("GetCapabilities", href)
        + _operation("GetTile", href)
        + _operation("GetFeatureInfo", href)
        + "</ows:OperationsMetadata><Contents>"
        + layers
        + "".join(_matrix_set(grid) for grid in GRIDS.values())
        + "</Contents>"
        + f"<ServiceMetadataURL xlink:href={quoteattr(metadata_url)}/>"
        + "</Capabilities>"
    )
    return Answer(body.encode(), "application/xml")


# --- GetTile -------------------------------------------------------------------------------


def _grid(name: str, parameter: str) -> TileGrid:
    grid = find_grid(name)
    if grid is None:
        raise invalid(
            parameter,
            f"TileMatrixSet {name[:40]!r} is not offered; use " + " or ".join(GRIDS),
        )
    return grid


def _style(style: str, parameter: str) -> None:
    if style.strip() not in ("", STYLE):
        raise invalid(parameter, f"style {style[:40]!r} is not defined; use {STYLE}")


@dataclass(frozen=True)
class _TileRequest:
    ref: CollectionRef
    grid: TileGrid
    media_type: str
    z: int
    row: int
    col: int


def _tile_request(
    ctx: PlanFuse,
    *,
    layer: str,
    style: str,
    matrix_set: str,
    matrix: str,
    row: str,
    col: str,
    media_type: str,
    rest: bool,
) -> _TileRequest:
    """Every part of a tile request checked (not yet the caller's access)."""
    names = ("TileMatrix", "TileRow", "TileCol")
    ref = find_layer(ctx, layer)
    if ref is None:
        raise OWSError(
            "InvalidParameterValue",
            f"layer {layer[:64]!r} does not exist; GetCapabilities lists the layers",
            "Layer",
            status=404 if rest else 400,
        )
    _style(style, "Style")
    if media_type not in FORMATS:
        raise invalid(
            "Format", f"Format {media_type[:40]!r} is not offered; use " + " or ".join(FORMATS)
        )
    grid = _grid(matrix_set, "TileMatrixSet")
    z_text = matrix.split(":")[-1] if matrix.startswith(f"{grid.id}:") else matrix
    try:
        z, r, c = grid.parse(z_text, row, col, names)
    except TileOutOfRange as exc:
        field = exc.errors[0].get("field") if exc.errors else None
        raise OWSError("TileOutOfRange", str(exc), field) from None
    return _TileRequest(ref, grid, media_type, z, r, c)


def get_tile(
    ctx: PlanFuse,
    cache: tiling.TileCache | None,
    *,
    layer: str,
    style: str,
    matrix_set: str,
    matrix: str,
    row: str,
    col: str,
    media_type: str,
    authorization: str | None,
    if_none_match: str | None = None,
    max_age_s: int = 60,
    rest: bool = False,
) -> TileAnswer:
    """A tile after checking every part of the request (RESTful `rest` names an unknown
    layer with a 404, KVP with InvalidParameterValue), then the caller's access."""
    checked = _tile_request(ctx, layer=layer, style=style, matrix_set=matrix_set,
                            matrix=matrix, row=row, col=col, media_type=media_type,
                            rest=rest)  # fmt: skip
    ref, grid, z, r, c = checked.ref, checked.grid, checked.z, checked.row, checked.col
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    etag = tiling.tile_etag(ref, grid, media_type, z, r, c)
    control = f"{'private' if ref.restricted else 'public'}, max-age={max_age_s}"
    if if_none_match and etag in {t.strip() for t in if_none_match.split(",")}:
        return TileAnswer(None, media_type, etag, control)
    content = tiling.layer_tile(ctx, cache, ref, grid, media_type, z, r, c)
    return TileAnswer(content, media_type, etag, control)


def rest_media_type(extension: str) -> str:
    media = _EXTENSIONS.get(extension.lower())
    if media is None:
        raise OWSError(
            "InvalidParameterValue",
            f"tile format {extension[:16]!r} is not offered; use .png or .mvt",
            "Format",
            status=404,
        )
    return media


def _kvp_tile(kvp: KVP) -> dict[str, str]:
    """The tile a KVP GetTile or GetFeatureInfo names (each parameter required but STYLE)."""
    return {
        "layer": kvp.require("LAYER"),
        "style": kvp.get("STYLE") or "",
        "matrix_set": kvp.require("TILEMATRIXSET"),
        "matrix": kvp.require("TILEMATRIX"),
        "row": kvp.require("TILEROW"),
        "col": kvp.require("TILECOL"),
        "media_type": kvp.require("FORMAT").lower(),
    }


# --- GetFeatureInfo ------------------------------------------------------------------------


def get_feature_info(ctx: PlanFuse, kvp: KVP, authorization: str | None) -> Answer:
    """The features within `INFO_TOLERANCE_PX` pixels of pixel I,J of a tile: GeoJSON
    (CRS84, as GeoJSON is) or an HTML table per feature."""
    checked = _tile_request(ctx, **_kvp_tile(kvp), rest=False)
    size = TILE_SIZE
    pixel = {}
    for name in ("I", "J"):
        value = kvp.integer(name, 0)
        if value is None:
            raise missing(name)
        if value >= size:
            raise OWSError(
                "PointIJOutOfRange", f"{name} {value} lies outside the {size}-pixel tile", name
            )
        pixel[name] = value
    info_format = kvp.require("INFOFORMAT").lower()
    if info_format not in INFO_FORMATS:
        raise invalid(
            "InfoFormat",
            f"InfoFormat {info_format[:40]!r} is not offered; use " + " or ".join(INFO_FORMATS),
        )
    ref, grid = checked.ref, checked.grid
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    x0, _, x1, y1 = grid.bounds(checked.z, checked.row, checked.col)
    step = (x1 - x0) / size
    cx, cy = x0 + (pixel["I"] + 0.5) * step, y1 - (pixel["J"] + 0.5) * step
    t = INFO_TOLERANCE_PX * step
    info = dataclasses.replace(resolve_crs(grid.crs), first_axis_north=False)
    query = BBoxQuery.from_geometry(*storage_box((cx - t, cy - t, cx + t, cy + t), info))
    _, rows = read_layer(ctx, ref, query, INFO_MAX_FEATURES)
    if info_format == "text/html":
        return Answer(feature_info_html([(ref, row) for row in rows]).encode(), "text/html")
    features = geojson_features(rows, resolve_crs("OGC:CRS84"), id_prefix=ref.id)
    for feature in features:
        feature["layer"] = ref.id
    body = {"type": "FeatureCollection", "features": features}
    return Answer(orjson.dumps(body), "application/json")


# --- KVP -----------------------------------------------------------------------------------


def handle(
    ctx: PlanFuse,
    cache: tiling.TileCache | None,
    kvp: KVP,
    base_url: str,
    authorization: str | None,
    if_none_match: str | None,
    max_age_s: int,
) -> Answer | TileAnswer:
    """`/wmts?SERVICE=WMTS&REQUEST=GetCapabilities|GetTile&…`."""
    service = (kvp.get("SERVICE") or "").strip()
    if not service:
        raise missing("service")
    if service.upper() != "WMTS":
        raise invalid("service", f"service {service[:20]!r} is not offered here; use WMTS")
    operation = kvp.require("REQUEST")
    if operation.lower() == "getcapabilities":
        if "ACCEPTVERSIONS" in kvp:
            version_check(kvp, (VERSION,), "WMTS")
        return capabilities(ctx, base_url)
    version_check(kvp, (VERSION,), "WMTS")
    if operation.lower() == "gettile":
        return get_tile(
            ctx,
            cache,
            **_kvp_tile(kvp),
            authorization=authorization,
            if_none_match=if_none_match,
            max_age_s=max_age_s,
        )
    if operation.lower() == "getfeatureinfo":
        return get_feature_info(ctx, kvp, authorization)
    raise OWSError(
        "OperationNotSupported",
        f"request {operation[:40]!r} is not supported; use GetCapabilities, GetTile or "
        "GetFeatureInfo",
        "request",
    )
