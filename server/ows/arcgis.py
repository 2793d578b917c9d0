"""ArcGIS REST FeatureServer over the published layers, as plain functions: the services
directory, each layer's FeatureServer and its layer 0, and `query` (where, objectIds,
geometry envelope, polygon, polyline or point, spatialRel, outFields, returnGeometry, outSR,
paging, returnCountOnly; f=json|pjson|geojson|pbf) as ArcGIS clients and GDAL's ESRIJSON driver
read them; the same layer as a MapServer (export, legend, identify).

Esri JSON coordinates are always x,y (easting/longitude first) whatever the wkid.
Polygon rings follow Esri's rule: exterior rings clockwise, holes counter-clockwise.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry.polygon import orient

from planfuse.context import PlanFuse
from planfuse.errors import NotFound
from planfuse.geo.crs import CRSInfo, get_transformer, resolve_crs
from planfuse.http.layer_access import layer_caller
from planfuse.ows import esri_pbf, wms
from planfuse.ows.arcgis_where import Where, parse_where
from planfuse.ows.crs import RequestCRS
from planfuse.ows.errors import invalid
from planfuse.ows.legend import DEFAULT_SYMBOL_PX, MAX_SYMBOL_PX, legend_entries, swatch_png
from planfuse.services.features.crs import COLLECTION_CRS_KEYS, to_output
from planfuse.services.features.layers import CollectionRef, current_layers, find_layer
from planfuse.services.features.output import geojson_features
from planfuse.services.features.store import BBoxQuery, FeatureRow, get_feature, query_features
from planfuse.services.layers.kinds import LAYER_KINDS

CURRENT_VERSION = 10.91
OID = "OBJECTID"
MAX_OBJECT_IDS = 1000
#: spatialRel → Esri's reading "the query geometry <relation> the feature" as a shapely
#: predicate (query geometry first), or None for the store's own exact intersects.
#: esriSpatialRelContains thus answers the features inside the query geometry and
#: esriSpatialRelWithin those the query geometry lies in, as ArcGIS Server does.
SPATIAL_RELATIONS: dict[str, Callable[[Any, Any], Any] | None] = {
    "esriSpatialRelIntersects": None,
    "esriSpatialRelEnvelopeIntersects": None,
    "esriSpatialRelIndexIntersects": None,
    "esriSpatialRelContains": shapely.contains,
    "esriSpatialRelWithin": shapely.within,
    "esriSpatialRelCrosses": shapely.crosses,
    "esriSpatialRelTouches": shapely.touches,
    "esriSpatialRelOverlaps": shapely.overlaps,
}
#: The most candidates a relation other than intersects is tested on (each in Python).
MAX_TESTED = 100_000
# Esri's well-known ids for the same CRSs (Web Mercator as 102100/3857).
WKID_ALIASES = {102100: 3857, 102113: 3857, 900913: 3857}
#: The parameters read here, by their lower-case spelling: ArcGIS REST parameter names are
#: case-insensitive, and clients differ (OpenLayers sends BBOX, BBOXSR, F, …).
PARAMETERS = {
    name.lower(): name
    for name in (
        "bbox", "bboxSR", "dpi", "f", "format", "geometry", "geometryType", "imageSR", "inSR",
        "objectIds", "outFields", "outSR", "resultOffset", "resultRecordCount",
        "returnCountOnly", "returnExtentOnly", "returnGeometry", "returnIdsOnly", "size",
        "spatialRel", "transparent", "where", "sr", "layers", "tolerance", "mapExtent",
        "imageDisplay",
    )
}  # fmt: skip
FORMATS = ("json", "pjson", "geojson", "pbf")
PBF_MEDIA_TYPE = "application/x-protobuf"
QUERY_FORMATS = "JSON, geoJSON, PBF"


@dataclass(frozen=True)
class Answer:
    """A JSON document, or the bytes of a binary answer (`f=pbf`)."""

    body: dict[str, Any] | bytes
    media_type: str = "application/json"


def layer_ref(ctx: PlanFuse, name: str) -> CollectionRef:
    ref = find_layer(ctx, name)
    if ref is None:
        raise NotFound("service", name[:64], hint="GET /arcgis/rest/services lists them")
    return ref


def check_format(args: dict[str, str]) -> str:
    fmt = (args.get("f") or "json").strip().lower()
    if fmt not in FORMATS:
        raise invalid(
            "f", f"f={fmt[:20]!r} is not offered; use f=json, f=pjson, f=geojson or f=pbf"
        )
    return fmt


def _geometry_type(ref: CollectionRef) -> str:
    kinds = {k.strip() for k in ref.geometry_type.split(",") if k.strip()}
    if kinds and kinds <= {"Polygon", "MultiPolygon"}:
        return "esriGeometryPolygon"
    if kinds and kinds <= {"LineString", "MultiLineString"}:
        return "esriGeometryPolyline"
    if kinds == {"Point"}:
        return "esriGeometryPoint"
    if kinds and kinds <= {"Point", "MultiPoint"}:
        return "esriGeometryMultipoint"
    return "esriGeometryPolygon"


def _spatial_reference(info: CRSInfo) -> dict[str, int]:
    wkid = info.epsg or 4326
    return {"wkid": 102100 if wkid == 3857 else wkid, "latestWkid": wkid}


def _extent(ref: CollectionRef) -> dict[str, Any] | None:
    if ref.bbox is None:
        return None
    west, south, east, north = ref.bbox
    return {"xmin": west, "ymin": south, "xmax": east, "ymax": north,
            "spatialReference": {"wkid": 4490, "latestWkid": 4490}}  # fmt: skip


def _fields(ref: CollectionRef) -> list[dict[str, Any]]:
    names = [*ref.fields, *(["district"] if "district" not in ref.fields else [])]
    fields = [{"name": OID, "type": "esriFieldTypeOID", "alias": OID}]
    fields += [
        {"name": name, "type": "esriFieldTypeString", "alias": name, "length": 255}
        for name in names
    ]
    return fields


def services(ctx: PlanFuse) -> Answer:
    """`/arcgis/rest/services`: every layer as a FeatureServer."""
    return Answer(
        {
            "currentVersion": CURRENT_VERSION,
            "folders": [],
            "services": [{"name": ref.id, "type": "FeatureServer"} for ref in current_layers(ctx)],
        }
    )


def feature_server(ctx: PlanFuse, name: str) -> Answer:
    ref = layer_ref(ctx, name)
    kind = LAYER_KINDS.get(ref.kind)
    description = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    extent = _extent(ref)
    return Answer(
        {
            "currentVersion": CURRENT_VERSION,
            "serviceDescription": description,
            "description": description,
            "copyrightText": ref.department or "",
            "hasVersionedData": False,
            "supportsDisconnectedEditing": False,
            "supportedQueryFormats": QUERY_FORMATS,
            "maxRecordCount": ctx.settings.ogc_limit_max,
            "capabilities": "Query",
            "spatialReference": {"wkid": 4490, "latestWkid": 4490},
            "initialExtent": extent,
            "fullExtent": extent,
            "allowGeometryUpdates": False,
            "units": "esriDecimalDegrees",
            "layers": [
                {
                    "id": 0,
                    "name": ref.name,
                    "parentLayerId": -1,
                    "defaultVisibility": True,
                    "subLayerIds": None,
                    "minScale": 0,
                    "maxScale": 0,
                    "geometryType": _geometry_type(ref),
                }
            ],
            "tables": [],
        }
    )


def feature_layer(ctx: PlanFuse, name: str) -> Answer:
    ref = layer_ref(ctx, name)
    kind = LAYER_KINDS.get(ref.kind)
    display = "name" if "name" in ref.fields else OID
    return Answer(
        {
            "currentVersion": CURRENT_VERSION,
            "id": 0,
            "name": ref.name,
            "type": "Feature Layer",
            "description": f"{kind.title_zh} {kind.title_en}" if kind else ref.kind,
            "copyrightText": ref.department or "",
            "geometryType": _geometry_type(ref),
            "sourceSpatialReference": {"wkid": 4490, "latestWkid": 4490},
            "parentLayer": None,
            "subLayers": [],
            "minScale": 0,
            "maxScale": 0,
            "defaultVisibility": True,
            "extent": _extent(ref),
            "hasAttachments": False,
            "htmlPopupType": "esriServerHTMLPopupTypeNone",
            "displayField": display,
            "typeIdField": None,
            "fields": _fields(ref),
            "relationships": [],
            "canModifyLayer": False,
            "canScaleSymbols": False,
            "hasLabels": False,
            "capabilities": "Query",
            "maxRecordCount": ctx.settings.ogc_limit_max,
            "supportsStatistics": False,
            "supportsAdvancedQueries": True,
            "supportedQueryFormats": QUERY_FORMATS,
            "useStandardizedQueries": True,
            "advancedQueryCapabilities": {
                "supportsPagination": True,
                "supportsQueryWithDistance": False,
                "supportsReturningQueryExtent": False,
                "supportsStatistics": False,
                "supportsOrderBy": False,
                "supportsDistinct": False,
            },
            "objectIdField": OID,
            "globalIdField": "",
        }
    )


# --- query ---------------------------------------------------------------------------------


def _sr(raw: str | None, parameter: str) -> CRSInfo:
    """A spatial reference parameter (a wkid or {"wkid": N}) as a CRS on offer, x,y order."""
    if raw is None or not raw.strip():
        info = resolve_crs("EPSG:4490")
    else:
        text = raw.strip()
        if text.startswith("{"):
            try:
                text = str(orjson.loads(text).get("wkid", ""))
            except (orjson.JSONDecodeError, AttributeError):
                raise invalid(parameter, f'{parameter} is a wkid or {{"wkid": N}}') from None
        if not text.isdigit():
            raise invalid(parameter, f"{parameter} is a wkid such as 4490 or 3857")
        wkid = WKID_ALIASES.get(int(text), int(text))
        key = f"EPSG:{wkid}"
        if key not in COLLECTION_CRS_KEYS:
            offered = ", ".join(k[5:] for k in COLLECTION_CRS_KEYS if k.startswith("EPSG:"))
            raise invalid(parameter, f"{parameter} {wkid} is not offered; use one of {offered}")
        info = resolve_crs(key)
    return dataclasses.replace(info, first_axis_north=False)


def _query_geometry(args: dict[str, str]) -> shapely.Geometry | None:
    """`geometry` (+ `geometryType`, `inSR`) in storage coordinates, or None when absent."""
    raw = (args.get("geometry") or "").strip()
    if not raw:
        return None
    kind = (args.get("geometryType") or "esriGeometryEnvelope").strip()
    return _storage_geometry(raw, kind, args.get("inSR"), "inSR")


def _storage_geometry(
    raw: str, kind: str, sr_raw: str | None, sr_parameter: str, widen: float = 0.0
) -> shapely.Geometry:
    """An Esri geometry parameter (JSON, or `x,y` / `xmin,ymin,xmax,ymax`) in `sr_parameter`'s
    spatial reference (else the geometry's own `spatialReference`, else 4490) as a valid
    shapely geometry in EPSG:4490, first widened by `widen` units of that reference (a
    click's tolerance is measured on the map the client shows)."""
    try:
        if raw.startswith("{"):
            value = orjson.loads(raw)
            if sr_raw is None and isinstance(value.get("spatialReference"), dict):
                sr_raw = str(value["spatialReference"].get("wkid", ""))
        else:
            value = [float(v) for v in raw.split(",")]
    except (orjson.JSONDecodeError, ValueError, AttributeError):
        raise invalid("geometry", "geometry is xmin,ymin,xmax,ymax or Esri JSON") from None
    info = _sr(sr_raw, sr_parameter)
    geom = _shape(kind, value)
    if widen > 0:
        geom = shapely.buffer(geom, widen, quad_segs=8)
    if info.key != "EPSG:4490":
        transformer = get_transformer(info.key, "EPSG:4490")
        geom = shapely.transform(geom, lambda c: _pairs(transformer(c[:, 0], c[:, 1])))
    if geom.is_empty or not shapely.is_valid(geom):
        raise invalid("geometry", "the geometry is empty or cannot be used after reprojection")
    return geom


GEOMETRY_TYPES = ("esriGeometryEnvelope", "esriGeometryPolygon", "esriGeometryPolyline",
                  "esriGeometryPoint")  # fmt: skip


def _shape(kind: str, value: Any) -> shapely.Geometry:
    """The shape an Esri geometry of `kind` describes, in its own coordinates."""
    if kind == "esriGeometryEnvelope":
        return _envelope(value)
    if kind == "esriGeometryPolygon":
        rings = value.get("rings") if isinstance(value, dict) else None
        if not rings:
            raise invalid("geometry", 'a polygon is {"rings": [[[x, y], …]]}')
        try:
            return shapely.make_valid(shapely.Polygon(rings[0], rings[1:]))
        except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError):
            raise invalid("geometry", "the polygon's rings are not coordinate lists") from None
    if kind == "esriGeometryPolyline":
        paths = value.get("paths") if isinstance(value, dict) else None
        if not paths or not isinstance(paths, list):
            raise invalid("geometry", 'a polyline is {"paths": [[[x, y], …]]}')
        try:
            return (
                shapely.MultiLineString(paths) if len(paths) > 1 else shapely.LineString(paths[0])
            )
        except (ValueError, TypeError, IndexError, shapely.errors.ShapelyError):
            raise invalid("geometry", "the polyline's paths are not coordinate lists") from None
    if kind == "esriGeometryPoint":
        if isinstance(value, list) and len(value) == 2:
            value = {"x": value[0], "y": value[1]}
        if not isinstance(value, dict) or not {"x", "y"} <= set(value):
            raise invalid("geometry", 'a point is x,y or {"x": …, "y": …}')
        try:
            x, y = float(value["x"]), float(value["y"])
        except (TypeError, ValueError):
            raise invalid("geometry", "a point's x and y are numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise invalid("geometry", "a point's x and y are finite numbers")
        return shapely.Point(x, y)
    raise invalid("geometryType", f"geometryType is one of {', '.join(GEOMETRY_TYPES)}")


def _envelope(value: Any) -> shapely.Geometry:
    if isinstance(value, dict):
        value = [value.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
    if len(value) != 4 or not all(isinstance(v, int | float) for v in value):
        raise invalid("geometry", "an envelope is xmin,ymin,xmax,ymax")
    x0, y0, x1, y1 = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 > x1 or y0 > y1:
        raise invalid("geometry", "an envelope has finite xmin <= xmax and ymin <= ymax")
    # Densified so that the box stays the area it covers once reprojected.
    return shapely.segmentize(shapely.box(x0, y0, x1, y1), max(x1 - x0, y1 - y0) / 64 or 1)


def _pairs(xy: tuple[Any, Any]) -> Any:
    return np.column_stack(xy)


def _esri_geometry(geom: shapely.Geometry) -> dict[str, Any]:
    kind = geom.geom_type
    if kind == "Point":
        return {"x": geom.x, "y": geom.y}
    if kind == "MultiPoint":
        return {"points": [[p.x, p.y] for p in geom.geoms]}
    if kind in ("LineString", "MultiLineString"):
        lines = [geom] if kind == "LineString" else list(geom.geoms)
        return {"paths": [[list(c[:2]) for c in line.coords] for line in lines]}
    polygons = [geom] if kind == "Polygon" else [g for g in shapely.get_parts(geom)
                                                  if g.geom_type == "Polygon"]  # fmt: skip
    rings = []
    for polygon in polygons:
        esri = orient(polygon, -1.0)  # exterior clockwise, holes counter-clockwise
        rings.append([list(c[:2]) for c in esri.exterior.coords])
        rings += [[list(c[:2]) for c in hole.coords] for hole in esri.interiors]
    return {"rings": rings}


def _bool(args: dict[str, str], name: str, default: bool) -> bool:
    raw = args.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise invalid(name, f"{name} is true or false")
    return value == "true"


def _int(args: dict[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not text.isdigit() or len(text) > 12:
        raise invalid(name, f"{name} is a whole number of at least 0")
    return int(text)


def _object_ids(raw: str) -> set[int]:
    try:
        ids = {int(v) for v in raw.split(",") if v.strip()}
    except ValueError:
        raise invalid("objectIds", "objectIds is a comma-separated list of numbers") from None
    if len(ids) > MAX_OBJECT_IDS:
        raise invalid("objectIds", f"at most {MAX_OBJECT_IDS} objectIds per query")
    return ids


def _out_fields(args: dict[str, str], fields: dict[str, str]) -> list[str] | None:
    """`outFields` as the layer's field names (OBJECTID always comes), None for all."""
    raw = (args.get("outFields") or "*").strip()
    if raw in ("", "*"):
        return None
    out_fields = []
    for item in (f.strip() for f in raw.split(",") if f.strip()):
        if item.upper() == OID or item == "*":
            continue
        if item.upper() not in fields:
            raise invalid("outFields", f"outFields names {item[:40]!r}, not a field here")
        out_fields.append(fields[item.upper()])
    return out_fields


#: The query geometry (as the store's spatial filter) and the relation tested on what it reads.
Spatial = tuple[BBoxQuery | None, Callable[[Any, Any], Any] | None]


def _spatial_filter(
    args: dict[str, str],
) -> tuple[Callable[[Any, Any], Any] | None, BBoxQuery | None]:
    """`spatialRel` and `geometry`: the relation to test, and the store's spatial filter."""
    spatial_rel = (args.get("spatialRel") or "esriSpatialRelIntersects").strip()
    if spatial_rel not in SPATIAL_RELATIONS:
        raise invalid("spatialRel", f"spatialRel is one of {', '.join(SPATIAL_RELATIONS)}")
    geometry = _query_geometry(args)
    if geometry is None:
        return None, None
    if spatial_rel in ("esriSpatialRelEnvelopeIntersects", "esriSpatialRelIndexIntersects"):
        # Envelope against envelope, as ArcGIS answers them: no exact shapes compared.
        envelope = shapely.box(*geometry.bounds)
        return None, dataclasses.replace(
            BBoxQuery.from_geometry(envelope, None), envelopes_only=True
        )
    return SPATIAL_RELATIONS[spatial_rel], BBoxQuery.from_geometry(geometry, None)


def query(ctx: PlanFuse, name: str, args: dict[str, str], authorization: str | None) -> Answer:
    """`…/FeatureServer/0/query`."""
    ref = layer_ref(ctx, name)
    fmt = check_format(args)
    fields = {f.upper(): f for f in ref.fields}
    fields.setdefault("DISTRICT", "district")
    where = parse_where(args.get("where") or "1=1", fields, OID)
    if args.get("objectIds"):
        ids = _object_ids(args["objectIds"])
        where.oids = ids if where.oids is None else where.oids & ids
    relation, bbox = _spatial_filter(args)
    out_info = _sr(args.get("outSR"), "outSR")
    out_fields = _out_fields(args, fields)
    return_geometry = _bool(args, "returnGeometry", True)
    count_only = _bool(args, "returnCountOnly", False)
    if _bool(args, "returnIdsOnly", False):
        raise invalid("returnIdsOnly", "returnIdsOnly is not supported; page with resultOffset")
    limit_max = ctx.settings.ogc_limit_max
    offset = _int(args, "resultOffset") or 0
    count = _int(args, "resultRecordCount")
    count = limit_max if count is None else min(count, limit_max)  # capped, not refused
    extent_only = _bool(args, "returnExtentOnly", False)
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    if extent_only:
        return _extent_answer(ctx, ref, where, (bbox, relation), out_info, count_only)
    matched, rows = _read(ctx, ref, where, (bbox, relation), offset, 0 if count_only else count)
    if count_only:
        if fmt == "pbf":
            return Answer(esri_pbf.count(matched), PBF_MEDIA_TYPE)
        return Answer({"count": matched})
    exceeded = offset + len(rows) < matched
    if fmt == "geojson":
        features = geojson_features(rows, out_info) if return_geometry else [
            {"type": "Feature", "id": r.fid, "geometry": None, "properties": {}} for r in rows
        ]  # fmt: skip
        for feature, row in zip(features, rows, strict=True):
            feature["properties"] = {OID: row.fid, **_attributes(row, out_fields)}
        body: dict[str, Any] = {"type": "FeatureCollection", "features": features}
        if exceeded:
            body["properties"] = {"exceededTransferLimit": True}
        return Answer(body, "application/geo+json")
    geoms = to_output(shapely.from_wkb([r.geom for r in rows]), out_info) if rows else []
    features = []
    for row, geom in zip(rows, geoms, strict=True):
        feature: dict[str, Any] = {"attributes": {OID: row.fid, **_attributes(row, out_fields)}}
        if return_geometry:
            feature["geometry"] = _esri_geometry(geom)
        features.append(feature)
    listed = [f for f in _fields(ref) if out_fields is None or f["name"] in (OID, *out_fields)]
    if fmt == "pbf":
        content = esri_pbf.feature_collection(
            object_id_field=OID,
            geometry_type=_geometry_type(ref),
            spatial_reference=_spatial_reference(out_info),
            fields=listed,
            attributes=[f["attributes"] for f in features],
            geometries=list(geoms) if return_geometry else None,
            exceeded=exceeded,
            geographic=out_info.kind != "projected",
        )
        return Answer(content, PBF_MEDIA_TYPE)
    body = {
        "objectIdFieldName": OID,
        "globalIdFieldName": "",
        "geometryType": _geometry_type(ref),
        "spatialReference": _spatial_reference(out_info),
        "fields": listed,
        "features": features,
        "exceededTransferLimit": exceeded,
    }
    return Answer(body)


def _extent_answer(
    ctx: PlanFuse,
    ref: CollectionRef,
    where,
    spatial: Spatial,
    out_info: CRSInfo,
    with_count: bool,
) -> Answer:
    """`returnExtentOnly`: the bounds of the matching features in `outSR`."""
    limit = ctx.settings.ogc_limit_max
    matched, rows = _read(ctx, ref, where, spatial, 0, limit)
    if matched > len(rows):
        raise invalid(
            "returnExtentOnly",
            f"{matched} features match, more than the {limit} an extent is computed from; "
            "narrow the query",
        )
    body: dict[str, Any] = {"extent": None}
    if rows:
        geoms = to_output(shapely.from_wkb([r.geom for r in rows]), out_info)
        x0, y0, x1, y1 = (float(v) for v in shapely.total_bounds(geoms))
        body["extent"] = {"xmin": x0, "ymin": y0, "xmax": x1, "ymax": y1,
                          "spatialReference": _spatial_reference(out_info)}  # fmt: skip
    if with_count:
        body["count"] = matched
    return Answer(body)


def _attributes(row: FeatureRow, out_fields: list[str] | None) -> dict[str, Any]:
    props = dict(row.properties)
    if row.district is not None:
        props.setdefault("district", row.district)
    if out_fields is None:
        return {k: (v if isinstance(v, str | int | float | bool) or v is None else str(v))
                for k, v in props.items()}  # fmt: skip
    return {k: props.get(k) for k in out_fields}


def _read(
    ctx: PlanFuse,
    ref: CollectionRef,
    where,
    spatial: Spatial,
    offset: int,
    limit: int,
) -> tuple[int, list[FeatureRow]]:
    """(matched, the page) of the features the where clause and the spatial filter keep."""
    bbox, relation = spatial
    if relation is None or bbox is None:
        return _read_intersecting(ctx, ref, where, bbox, offset, limit)
    # Every relation other than disjoint implies intersects: the store's exact intersects
    # gives the candidates, each then tested with the relation itself.
    matched, rows = _read_intersecting(ctx, ref, where, bbox, 0, MAX_TESTED + 1)
    if matched > MAX_TESTED:
        raise invalid(
            "spatialRel",
            f"{matched} features meet the geometry, more than the {MAX_TESTED} a spatialRel "
            "is tested on; use a smaller geometry or a where clause",
        )
    if rows:
        shapely.prepare(bbox.polygon)
        keep = relation(bbox.polygon, shapely.from_wkb([r.geom for r in rows]))
        rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
    return len(rows), rows[offset : offset + limit]


def _read_intersecting(
    ctx: PlanFuse,
    ref: CollectionRef,
    where,
    bbox: BBoxQuery | None,
    offset: int,
    limit: int,
) -> tuple[int, list[FeatureRow]]:
    if where.oids is not None:
        rows = []
        for fid in sorted(where.oids):
            if not where.oid_min <= fid <= where.oid_max or fid > ref.feature_count:
                continue
            row = get_feature(ctx, ref.id, ref.version, fid)
            if row is None or not _matches(row, where.equals, bbox):
                continue
            rows.append(row)
        return len(rows), rows[offset : offset + limit]
    return query_features(
        ctx,
        ref.id,
        ref.version,
        ref.feature_count,
        filters=where.equals,
        bbox=bbox,
        offset=offset,
        limit=limit,
        fid_min=where.oid_min,
        fid_max=where.oid_max,
    )


def _matches(row: FeatureRow, equals: dict[str, tuple[str, ...]], bbox: BBoxQuery | None) -> bool:
    props = dict(row.properties)
    if row.district is not None:
        props.setdefault("district", row.district)
    for name, values in equals.items():
        value = props.get(name)
        if value is None or str(value) not in values:
            return False
    return bbox is None or bbox.meets(shapely.from_wkb(row.geom))


# --- MapServer -----------------------------------------------------------------------------

IMAGE_FORMATS = {"png": "image/png", "png32": "image/png", "png24": "image/png",
                 "jpg": "image/jpeg", "jpeg": "image/jpeg"}  # fmt: skip


def map_server(ctx: PlanFuse, name: str) -> Answer:
    """`…/MapServer`: the layer as a dynamic map service (export, identify, legend and layer
    0's query; no cache)."""
    ref = layer_ref(ctx, name)
    body = feature_server(ctx, name).body
    extent = _extent(ref)
    body.update(
        {
            "mapName": ref.name,
            # Query: identify, and layer 0's description and query as the FeatureServer's.
            "capabilities": "Map,Query",
            "supportedImageFormatTypes": "PNG32,PNG24,PNG,JPG",
            "singleFusedMapCache": False,
            "initialExtent": extent,
            "fullExtent": extent,
            "maxImageHeight": ctx.settings.wms_max_size,
            "maxImageWidth": ctx.settings.wms_max_size,
        }
    )
    for key in ("supportedQueryFormats", "maxRecordCount", "allowGeometryUpdates",
                "hasVersionedData", "supportsDisconnectedEditing"):  # fmt: skip
        body.pop(key, None)
    return Answer(body)


def export(
    ctx: PlanFuse, name: str, args: dict[str, str], authorization: str | None
) -> tuple[bytes, str]:
    """`…/MapServer/export?f=image`: the layer drawn as WMS GetMap draws it."""
    ref = layer_ref(ctx, name)
    f = (args.get("f") or "image").strip().lower()
    if f != "image":
        raise invalid("f", "export answers f=image (the picture itself)")
    fmt = IMAGE_FORMATS.get((args.get("format") or "png").strip().lower())
    if fmt is None:
        raise invalid("format", "format is png, png32, png24 or jpg")
    raw_box = (args.get("bbox") or "").strip()
    if not raw_box:
        raise invalid("bbox", "bbox is required: xmin,ymin,xmax,ymax")
    try:
        x0, y0, x1, y1 = (float(v) for v in raw_box.split(","))
    except ValueError:
        raise invalid("bbox", "bbox is four numbers: xmin,ymin,xmax,ymax") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 >= x1 or y0 >= y1:
        raise invalid("bbox", "bbox needs finite xmin < xmax and ymin < ymax")
    box_info = _sr(args.get("bboxSR") or args.get("imageSR"), "bboxSR")
    image_info = _sr(args.get("imageSR") or args.get("bboxSR"), "imageSR")
    if image_info.key != box_info.key:
        raise invalid("imageSR", "imageSR must be the bboxSR here (the map is drawn in bboxSR)")
    size = (args.get("size") or "400,400").split(",")
    limit = ctx.settings.wms_max_size
    if len(size) != 2 or not all(v.strip().isdigit() for v in size):
        raise invalid("size", "size is width,height in pixels")
    width, height = (int(v) for v in size)
    if not (0 < width <= limit and 0 < height <= limit):
        raise invalid("size", f"the image may be at most {limit}×{limit} pixels")
    if box_info.degrees and not (x0 >= -180 and x1 <= 180 and y0 >= -90 and y1 <= 90):
        raise invalid("bbox", "bbox lies outside the world (x is the longitude)")
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    frame = wms.Frame(RequestCRS(box_info, box_info.key), (x0, y0, x1, y1), width, height)
    transparent = _bool(args, "transparent", False)
    body = wms.draw(ctx, [ref], frame, fmt, transparent, (255, 255, 255, 255))
    return body, fmt


def legend(ctx: PlanFuse, name: str, args: dict[str, str], authorization: str | None) -> Answer:
    """`…/MapServer/legend?f=json`: layer 0's legend as ArcGIS clients read it — one entry per
    style class with its label and its swatch as base64 PNG (`imageData`), drawn by the same
    code as the map (`planfuse.ows.legend`). `size=w,h` sets the swatch size (default 20,20)."""
    check_format(args)
    ref = layer_ref(ctx, name)
    raw = (args.get("size") or f"{DEFAULT_SYMBOL_PX},{DEFAULT_SYMBOL_PX}").split(",")
    if len(raw) != 2 or not all(v.strip().isdigit() for v in raw):
        raise invalid("size", "size is width,height in pixels")
    width, height = (int(v) for v in raw)
    if not (4 <= width <= MAX_SYMBOL_PX and 4 <= height <= MAX_SYMBOL_PX):
        raise invalid("size", f"each side of a swatch is 4 to {MAX_SYMBOL_PX} pixels")
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    items = [
        {
            "label": entry.label,
            "url": f"{ref.id}-{i}",
            "imageData": base64.b64encode(swatch_png(entry.style, width, height)).decode(),
            "contentType": "image/png",
            "height": height,
            "width": width,
            "values": [entry.code] if entry.code else [],
        }
        for i, entry in enumerate(legend_entries(ref.kind, ref.name))
    ]
    layer = {"layerId": 0, "layerName": ref.name, "layerType": "Feature Layer",
             "minScale": 0, "maxScale": 0, "legend": items}  # fmt: skip
    return Answer({"layers": [layer]})


# --- identify ------------------------------------------------------------------------------

#: What `layers` may ask for; with one layer per service each answers layer 0.
IDENTIFY_OPTIONS = ("all", "top", "visible")
MAX_TOLERANCE_PX = 100


def identify(ctx: PlanFuse, name: str, args: dict[str, str], authorization: str | None) -> Answer:
    """`…/MapServer/identify`: the features at a click (a point) or in a dragged box (an
    envelope), `tolerance` pixels around it on the map the client shows (`mapExtent` drawn
    at `imageDisplay`), as ArcGIS clients and the Leaflet/OpenLayers Esri plugins read it."""
    ref = layer_ref(ctx, name)
    fmt = (args.get("f") or "json").strip().lower()
    if fmt not in ("json", "pjson"):
        raise invalid("f", f"f={fmt[:20]!r} is not offered; identify answers f=json or f=pjson")
    raw = (args.get("geometry") or "").strip()
    if not raw:
        raise invalid("geometry", "geometry is required: a point x,y or an envelope")
    kind = (args.get("geometryType") or "esriGeometryPoint").strip()
    if kind not in ("esriGeometryPoint", "esriGeometryEnvelope"):
        raise invalid("geometryType", "geometryType is esriGeometryPoint or esriGeometryEnvelope")
    asked = _identify_layers(args.get("layers"))
    widen = _tolerance_units(args)
    geometry = _storage_geometry(raw, kind, args.get("sr"), "sr", widen)
    out_info = _sr(args.get("sr") or _geometry_wkid(raw), "sr")
    return_geometry = _bool(args, "returnGeometry", True)
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    if not asked:
        return Answer({"results": []})
    bbox = BBoxQuery.from_geometry(geometry, None)
    where = Where()
    _, rows = _read(ctx, ref, where, (bbox, None), 0, ctx.settings.ogc_limit_max)
    return Answer({"results": _identify_results(ref, rows, out_info, return_geometry)})


def _identify_layers(raw: str | None) -> bool:
    """`layers` (`all`, `top` or `visible`, optionally `:0,…`): whether layer 0 is asked."""
    text = (raw or "all").strip()
    option, _, ids = text.partition(":")
    if option.strip().lower() not in IDENTIFY_OPTIONS:
        raise invalid("layers", "layers is all, top or visible, optionally with :0")
    if not ids.strip():
        return True
    try:
        numbers = {int(v) for v in ids.split(",") if v.strip()}
    except ValueError:
        raise invalid("layers", "the layer ids after ':' are numbers, e.g. all:0") from None
    return 0 in numbers


def _tolerance_units(args: dict[str, str]) -> float:
    """`tolerance` pixels as units of `sr` on the map the client shows: the larger of the
    extent's units per pixel across and down (a stretched map still widens both ways)."""
    tolerance = _int(args, "tolerance") or 0
    if tolerance > MAX_TOLERANCE_PX:
        raise invalid("tolerance", f"tolerance is at most {MAX_TOLERANCE_PX} pixels")
    if tolerance == 0:
        return 0.0
    extent_raw = (args.get("mapExtent") or "").strip()
    display_raw = (args.get("imageDisplay") or "").strip()
    if not extent_raw or not display_raw:
        raise invalid(
            "mapExtent", "a tolerance needs mapExtent and imageDisplay (width,height,dpi)"
        )
    try:
        extent = orjson.loads(extent_raw) if extent_raw.startswith("{") else extent_raw.split(",")
        if isinstance(extent, dict):
            extent = [extent.get(k) for k in ("xmin", "ymin", "xmax", "ymax")]
        x0, y0, x1, y1 = (float(v) for v in extent)
    except (orjson.JSONDecodeError, TypeError, ValueError):
        raise invalid("mapExtent", "mapExtent is xmin,ymin,xmax,ymax in sr") from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 >= x1 or y0 >= y1:
        raise invalid("mapExtent", "mapExtent needs finite xmin < xmax and ymin < ymax")
    display = display_raw.split(",")
    if len(display) not in (2, 3) or not all(v.strip().isdigit() for v in display):
        raise invalid("imageDisplay", "imageDisplay is width,height,dpi in pixels")
    width, height = int(display[0]), int(display[1])
    if not (0 < width <= 100_000 and 0 < height <= 100_000):
        raise invalid("imageDisplay", "imageDisplay's width and height are 1 to 100000 pixels")
    return tolerance * max((x1 - x0) / width, (y1 - y0) / height)


def _geometry_wkid(raw: str) -> str | None:
    """The wkid of an Esri JSON geometry's own `spatialReference`, if it has one."""
    if not raw.startswith("{"):
        return None
    try:
        value = orjson.loads(raw)
        return str(value["spatialReference"]["wkid"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


def _identify_results(
    ref: CollectionRef, rows: list[FeatureRow], out_info: CRSInfo, return_geometry: bool
) -> list[dict[str, Any]]:
    display = "name" if "name" in ref.fields else OID
    geometry_type = _geometry_type(ref)
    geoms = to_output(shapely.from_wkb([r.geom for r in rows]), out_info) if rows else []
    results = []
    for row, geom in zip(rows, geoms, strict=True):
        attributes = {OID: row.fid, **_attributes(row, None)}
        value = attributes.get(display)
        result: dict[str, Any] = {
            "layerId": 0,
            "layerName": ref.name,
            "value": "" if value is None else str(value),
            "displayFieldName": display,
            "attributes": attributes,
            "geometryType": geometry_type,
        }
        if return_geometry:
            result["geometry"] = {**_esri_geometry(geom),
                                  "spatialReference": _spatial_reference(out_info)}  # fmt: skip
        results.append(result)
    return results


def request_args(pairs: Any) -> dict[str, str]:
    """A request's parameters under the names this module reads, whatever their case (the
    first of a name given twice); unknown names are kept as given."""
    args: dict[str, str] = {}
    for name, value in pairs:
        args.setdefault(PARAMETERS.get(name.lower(), name), value)
    return args
