"""OGC API – Features (Part 1 Core, GeoJSON, Part 2 CRS by reference) as plain functions.

Each function takes the context, the parsed path and query values and the base URL, and
returns the response document (or raises `ProblemError`); `planfuse.ogc.views` only adapts
them to Flask. Collections are the layers; a collection serves its current version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from planfuse.context import PlanFuse
from planfuse.geo.crs import resolve_crs
from planfuse.http.layer_access import layer_caller
from planfuse.http.parsing import MAX_INT
from planfuse.http.problems import ProblemError
from planfuse.ogc import cql
from planfuse.ogc.crs import (
    CRS84_URI,
    STORAGE_CRS_URI,
    collection_crs_uris,
    offered_crs,
    storage_box,
)
from planfuse.ogc.params import (
    MAX_ZOOM_LEVEL,
    ItemsQuery,
    parse_format,
    parse_integer,
    parse_items_query,
)
from planfuse.services.features.layers import CollectionRef, find_layer
from planfuse.services.features.layers import current_layers as _current
from planfuse.services.features.output import geojson_features as _features
from planfuse.services.features.output import simplified_rows
from planfuse.services.features.store import (
    BBoxQuery,
    FeatureRow,
    get_feature,
    query_features,
)
from planfuse.services.layers.kinds import LAYER_KINDS

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI_TYPE = "application/vnd.oai.openapi+json;version=3.0"

_FID = re.compile(r"^[1-9][0-9]{0,9}$")

# The conformance classes this server implements, and no others.
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
)
#: OGC API – Tiles (planfuse.ogc.tilesets keeps the list beside its code).
TILES_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


@dataclass(frozen=True)
class FeaturesResponse:
    """A GeoJSON document and how to serve it: media type and the `Content-Crs` URI."""

    body: dict[str, Any]
    media_type: str
    content_crs: str


def collection_ref(
    ctx: PlanFuse, collection_id: str, session: Session | None = None
) -> CollectionRef:
    """The collection `collection_id` (its current layer version), or a 404 problem."""
    ref = find_layer(ctx, collection_id, session)
    if ref is None:
        raise ProblemError(
            404,
            "not_found",
            f"collection {collection_id[:64]!r} does not exist; GET /ogc/collections lists them",
            title="Not found",
        )
    return ref


def _shown(text: str, limit: int = 64) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text[:limit])


def readable_collection(
    ctx: PlanFuse, collection_id: str, authorization: str | None, session: Session | None = None
) -> CollectionRef:
    """The collection, after the access check (401 without a token on restricted layers)."""
    ref = collection_ref(ctx, collection_id, session)
    layer_caller(ctx, ref.id, ref.restricted, authorization)
    return ref


# --- landing page, conformance, collections ------------------------------------------------


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def landing_page(base_url: str) -> dict[str, Any]:
    """The landing page: links to the API definition, conformance and the collections."""
    root = base_url.rstrip("/") + "/ogc"
    return {
        "title": "PlanFuse planning data (多规合一 数据服务)",
        "description": "The unified planning database as OGC API – Features (GeoJSON, "
        "CRS by reference) and OGC API – Tiles (Mapbox vector tiles and PNG map tiles).",
        "links": [
            _link(root, "self", JSON, "This document"),
            _link(root + "/api", "service-desc", OPENAPI_TYPE, "The API definition (OpenAPI 3.0)"),
            _link(root + "/conformance", "conformance", JSON, "Conformance classes"),
            _link(root + "/collections", "data", JSON, "The planning layers"),
            _link(
                root + "/tileMatrixSets",
                TILES_REL + "tiling-schemes",
                JSON,
                "The tile matrix sets (OGC API – Tiles)",
            ),
        ],
    }


def conformance(extra: Sequence[str] = ()) -> dict[str, Any]:
    """The conformance classes: Features' own and `extra` (Tiles', from `tilesets`)."""
    return {"conformsTo": [*CONFORMANCE, *extra]}


def _storage_bbox(bbox: Sequence[float]) -> list[float]:
    # EPSG:4490 lists latitude first (OGC API Part 2 axis order).
    return [bbox[1], bbox[0], bbox[3], bbox[2]]


def collection_document(ref: CollectionRef, base_url: str) -> dict[str, Any]:
    """One collection's description (Part 1 and Part 2 members)."""
    root = base_url.rstrip("/")
    href = f"{root}/ogc/collections/{ref.id}"
    kind = LAYER_KINDS.get(ref.kind)
    description = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    if ref.department:
        description += f" — {ref.department}"
    document: dict[str, Any] = {
        "id": ref.id,
        "title": ref.name,
        "description": description,
        "itemType": "feature",
        "kind": ref.kind,
        "version": ref.version,
        "restricted": ref.restricted,
        "links": [
            _link(href, "self", JSON, "This collection"),
            _link(f"{href}/items", "items", GEOJSON, "The features (GeoJSON)"),
            _link(f"{href}/items?f=json", "items", JSON, "The features (JSON)"),
            _link(
                f"{href}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "What a filter may name (JSON Schema)",
            ),
            _link(f"{root}/tiles/{ref.id}.json", "tiles", JSON, "Vector tiles (TileJSON)"),
            _link(f"{href}/tiles", TILES_REL + "tilesets-vector", JSON, "Vector tilesets"),
            _link(f"{href}/map/tiles", TILES_REL + "tilesets-map", JSON, "Map tilesets (PNG)"),
        ],
        "crs": collection_crs_uris(),
        "storageCrs": STORAGE_CRS_URI,
    }
    if ref.bbox is not None:
        document["extent"] = {
            "spatial": {
                "bbox": [list(ref.bbox)],
                "crs": CRS84_URI,
                "storageCrsBbox": [_storage_bbox(ref.bbox)],
            }
        }
    return document


def queryables(ctx: PlanFuse, collection_id: str, base_url: str) -> dict[str, Any]:
    """`/collections/{id}/queryables` (Part 3): a JSON Schema of what a filter may name —
    the geometry, `fid`, `district` and the layer version's properties (as text)."""
    ref = collection_ref(ctx, collection_id)
    href = f"{base_url.rstrip('/')}/ogc/collections/{ref.id}/queryables"
    geometry = (ref.geometry_type or "").lower()
    fmt = f"geometry-{geometry}" if geometry in _GEOMETRY_FORMATS else "geometry-any"
    properties: dict[str, Any] = {
        "geometry": {
            "title": "Geometry 几何",
            "format": fmt,
            "x-ogc-role": "primary-geometry",
        },
        "fid": {"title": "Feature id 要素编号", "type": "integer", "minimum": 1},
        "district": {"title": "District code 行政区代码", "type": "string"},
    }
    for name in ref.fields:
        properties.setdefault(name, {"title": name, "type": "string"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href,
        "type": "object",
        "title": ref.name,
        "properties": properties,
        "additionalProperties": False,
    }


_GEOMETRY_FORMATS = frozenset(
    {"point", "multipoint", "linestring", "multilinestring", "polygon", "multipolygon"}
)


def collections(ctx: PlanFuse, base_url: str) -> dict[str, Any]:
    """Every layer with a current version, as a collection."""
    root = base_url.rstrip("/") + "/ogc"
    return {
        "links": [_link(f"{root}/collections", "self", JSON, "The collections")],
        "collections": [collection_document(ref, base_url) for ref in _current(ctx)],
        "crs": collection_crs_uris(),
    }


def collection(ctx: PlanFuse, collection_id: str, base_url: str) -> dict[str, Any]:
    return collection_document(collection_ref(ctx, collection_id), base_url)


# --- items ---------------------------------------------------------------------------------


def _query_string(args: Iterable[tuple[str, str]], **replace: Any) -> str:
    kept = [(k, v) for k, v in args if k not in replace]
    kept += [(k, str(v)) for k, v in replace.items()]
    return urlencode(kept)


def items(
    ctx: PlanFuse,
    collection_id: str,
    args: Sequence[tuple[str, str]],
    *,
    base_url: str,
    authorization: str | None = None,
) -> FeaturesResponse:
    """`/collections/{id}/items`: a page of features as a GeoJSON FeatureCollection.

    `args` are the query parameters as (name, value) pairs. Features come in fid order, so
    walking `next` links visits every matching feature exactly once.
    """
    # One transaction for the lookup and the queries: fewer round trips, one snapshot.
    with ctx.db.session() as session:
        return _items(ctx, session, collection_id, args, base_url, authorization)


def _items(
    ctx: PlanFuse,
    session: Session,
    collection_id: str,
    args: Sequence[tuple[str, str]],
    base_url: str,
    authorization: str | None,
) -> FeaturesResponse:
    ref = readable_collection(ctx, collection_id, authorization, session)
    settings = ctx.settings
    query = parse_items_query(
        args,
        fields=ref.fields,
        limit_default=min(settings.ogc_limit_default, settings.ogc_limit_max),
        limit_max=settings.ogc_limit_max,
    )
    crs = query.crs or resolve_crs("OGC:CRS84")
    bbox = None
    if query.bbox is not None:
        assert query.bbox_crs is not None
        bbox = BBoxQuery.from_geometry(*storage_box(query.bbox, query.bbox_crs))
    if query.filter is not None or query.sortby is not None:
        matched, rows = _filtered(ctx, session, ref, query, bbox)
    else:
        matched, rows = query_features(
            ctx,
            ref.id,
            ref.version,
            ref.feature_count,
            filters=query.filters,
            bbox=bbox,
            offset=query.offset,
            limit=query.limit,
            session=session,
        )
    if query.zoom_level is not None:
        rows = simplified_rows(ctx, ref.id, ref.version, rows, query.zoom_level)
    features = _features(rows, crs)
    href = f"{base_url.rstrip('/')}/ogc/collections/{ref.id}/items"
    links = [
        _link(f"{href}?{_query_string(args)}".rstrip("?"), "self", query.media_type, "This page"),
        _link(
            f"{href}?{_query_string(args, f='json' if query.media_type == GEOJSON else 'geojson')}",
            "alternate",
            JSON if query.media_type == GEOJSON else GEOJSON,
            "This page as " + ("JSON" if query.media_type == GEOJSON else "GeoJSON"),
        ),
        _link(f"{base_url.rstrip('/')}/ogc/collections/{ref.id}", "collection", JSON, ref.name),
    ]
    if query.offset + len(features) < matched:
        nxt = _query_string(args, offset=query.offset + len(features), limit=query.limit)
        links.append(_link(f"{href}?{nxt}", "next", query.media_type, "Next page"))
    if query.offset > 0:
        prev_offset = max(0, query.offset - query.limit)
        prv = _query_string(args, offset=prev_offset, limit=query.limit)
        links.append(_link(f"{href}?{prv}", "prev", query.media_type, "Previous page"))
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    return FeaturesResponse(body, query.media_type, crs.uri)


def _filtered(
    ctx: PlanFuse,
    session: Session,
    ref: CollectionRef,
    query: ItemsQuery,
    bbox: BBoxQuery | None,
) -> tuple[int, list[FeatureRow]]:
    """A page of features matching a CQL2 `filter` and/or in `sortby` order: the store
    reads the candidates its own bound query narrows to (the property filters and bbox,
    plus the filter's top-level equalities and spatial term), each is tested with the
    compiled filter in Python (`planfuse.ogc.cql`), then sorted and paged."""
    compiled = None
    filters = dict(query.filters)
    if query.filter is not None:
        compiled = cql.parse_filter(query.filter, query.filter_lang, query.filter_crs, ref.fields)
        for name, options in compiled.equalities.items():
            filters.setdefault(name, options)
        if bbox is None:
            bbox = compiled.spatial
    keys = cql.parse_sortby(query.sortby, ref.fields) if query.sortby is not None else None
    limit = cql.MAX_SCANNED
    matched, rows = query_features(
        ctx, ref.id, ref.version, ref.feature_count, filters=filters, bbox=bbox,
        offset=0, limit=limit + 1, session=session,
    )  # fmt: skip
    if matched > limit:
        raise ProblemError(
            400,
            "filter_too_broad",
            f"the filter and bbox leave {matched} features of {ref.id} to test, more than "
            f"{limit}; add a bbox or an equality on a property (code = '…') to narrow it",
            title="Invalid filter",
            errors=[{"field": "filter" if query.filter else "sortby", "message": "too broad"}],
        )
    if compiled is not None:
        rows = [row for row in rows if compiled.predicate(row)]
    if keys:
        rows = cql.sort_rows(rows, keys)
    return len(rows), rows[query.offset : query.offset + query.limit]


def item(
    ctx: PlanFuse,
    collection_id: str,
    feature_id: str,
    args: Sequence[tuple[str, str]],
    *,
    base_url: str,
    authorization: str | None = None,
) -> FeaturesResponse:
    """`/collections/{id}/items/{fid}`: one feature; `crs`, `f` and `zoom-level` are the
    only parameters."""
    ref = readable_collection(ctx, collection_id, authorization)
    crs = resolve_crs("OGC:CRS84")
    media_type = GEOJSON
    zoom_level = None
    for name, value in args:
        if name == "crs":
            crs = offered_crs(value, "crs")
        elif name == "f":
            media_type = parse_format(value)
        elif name == "zoom-level":
            zoom_level = parse_integer(name, value, 0, MAX_ZOOM_LEVEL)
        else:
            raise ProblemError(
                400,
                "invalid_parameter",
                f"parameter {name[:64]!r} is not understood here; a single feature takes only "
                "crs, f and zoom-level",
                title="Invalid request",
                errors=[{"field": name[:64], "message": "unknown parameter"}],
            )
    fid = int(feature_id) if _FID.match(feature_id) else None
    if fid is not None and fid > MAX_INT:  # no feature has it (ids are 32-bit)
        fid = None
    row = get_feature(ctx, ref.id, ref.version, fid) if fid else None
    if row is None:
        raise ProblemError(
            404,
            "not_found",
            f"feature {feature_id[:32]!r} does not exist in collection {ref.id!r} "
            f"(ids run 1..{ref.feature_count})",
            title="Not found",
        )
    if zoom_level is not None:
        row = simplified_rows(ctx, ref.id, ref.version, [row], zoom_level)[0]
    feature = _features([row], crs)[0]
    root = base_url.rstrip("/") + f"/ogc/collections/{ref.id}"
    feature["links"] = [
        _link(f"{root}/items/{row.fid}", "self", media_type, "This feature"),
        _link(root, "collection", JSON, ref.name),
    ]
    return FeaturesResponse(feature, media_type, crs.uri)


__all__ = [
    "CONFORMANCE",
    "CollectionRef",
    "FeaturesResponse",
    "ItemsQuery",
    "collection",
    "collection_ref",
    "collections",
    "conformance",
    "item",
    "items",
    "landing_page",
    "readable_collection",
]
