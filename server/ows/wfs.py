"""WFS 2.0.0 over the published layers, as plain functions (GetCapabilities,
DescribeFeatureType, GetFeature in GML 3.2 and GeoJSON).

Feature types are the layers (`pf:<layer id>`), each serving its current version with the
same restricted-layer rule as OGC API – Features. Queries go through
`planfuse.services.features.store` (bbox, property equality, paging in fid order); a
`RESOURCEID` reads the features by id. Coordinates are written in the axis order the
`srsName` spelling implies (`planfuse.ows.crs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import orjson
import shapely

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.crs import resolve_crs
from planfuse.http.layer_access import layer_caller
from planfuse.ows import fes, gml
from planfuse.ows.crs import RequestCRS, offered_urns, parse_crs, urn
from planfuse.ows.errors import OWSError, invalid, missing
from planfuse.ows.kvp import KVP, numbers, version_check
from planfuse.services.features.crs import collection_crs, storage_box, to_output
from planfuse.services.features.filters import (
    MAX_SCANNED,
    Filter,
    compile_filter,
    parse_sortby,
    sort_rows,
)
from planfuse.services.features.layers import CollectionRef, current_layers, find_layer
from planfuse.services.features.output import geojson_features
from planfuse.services.features.store import BBoxQuery, FeatureRow, get_feature, query_features
from planfuse.services.layers.kinds import LAYER_KINDS

VERSIONS = ("2.0.0",)
#: Every version /ows answers (1.1.0 in `planfuse.ows.wfs11`), as capabilities list them.
SERVED_VERSIONS = ("2.0.0", "1.1.0")
NAMESPACE = "urn:planfuse:layers"
PREFIX = "pf"
GEOMETRY = "geometry"
GML32 = "application/gml+xml; version=3.2"
OUTPUT_FORMATS = {
    "application/gml+xml; version=3.2": GML32,
    "text/xml; subtype=gml/3.2": GML32,
    "text/xml; subtype=gml/3.2.1": GML32,
    "gml32": GML32,
    "application/json": "application/json",
    "application/geo+json": "application/geo+json",
    "geojson": "application/geo+json",
    "json": "application/json",
}
XSD = "application/gml+xml; version=3.2"  # DescribeFeatureType's answer (an XML Schema)
MAX_RESOURCE_IDS = 1_000


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str


def type_name(layer_id: str) -> str:
    return gml.xml_name(layer_id)


def _find_type(ctx: PlanFuse, name: str, parameter: str = "TYPENAMES") -> CollectionRef:
    local = name.strip()
    if local.startswith("{"):
        local = local.rsplit("}", 1)[-1]
    local = local.rsplit(":", 1)[-1]
    for candidate in (local, local[1:] if local.startswith("_") else None):
        if candidate:
            ref = find_layer(ctx, candidate)
            if ref is not None and type_name(ref.id) == local:
                return ref
    raise OWSError(
        "InvalidParameterValue",
        f"feature type {name.strip()[:64]!r} does not exist; GetCapabilities lists them",
        parameter,
    )


def type_fields(ref: CollectionRef) -> list[tuple[str, str]]:
    """(XML element name, property name) of a layer's properties, `district` included."""
    names = list(ref.fields)
    if "district" not in names:
        names.append("district")
    return [(gml.xml_name(name), name) for name in names]


# --- GetCapabilities -----------------------------------------------------------------------


def _constraint(name: str, value: str) -> str:
    return (
        f'<ows:Constraint name="{name}"><ows:NoValues/>'
        f"<ows:DefaultValue>{value}</ows:DefaultValue></ows:Constraint>"
    )


def _operation(name: str, href: str, parameters: dict[str, Sequence[str]] | None = None) -> str:
    params = "".join(
        f'<ows:Parameter name="{pname}"><ows:AllowedValues>'
        + "".join(f"<ows:Value>{escape(v)}</ows:Value>" for v in values)
        + "</ows:AllowedValues></ows:Parameter>"
        for pname, values in (parameters or {}).items()
    )
    return (
        # POST: the same request as XML in the body (planfuse.ows.wfs_post).
        f'<ows:Operation name="{name}"><ows:DCP><ows:HTTP><ows:Get xlink:href={quoteattr(href)}/>'
        f"<ows:Post xlink:href={quoteattr(href)}/></ows:HTTP></ows:DCP>{params}</ows:Operation>"
    )


def _filter_operators() -> str:
    """Scalar and spatial capabilities: the operators `fes` really reads."""
    comparisons = "".join(
        f'<fes:ComparisonOperator name="{name}"/>' for name in fes.SCALAR_OPERATORS
    )
    operands = "".join(f'<fes:GeometryOperand name="{name}"/>' for name in fes.GEOMETRY_OPERANDS)
    spatial = "".join(f'<fes:SpatialOperator name="{name}"/>' for name in fes.SPATIAL_OPERATORS)
    return (
        "<fes:Scalar_Capabilities><fes:LogicalOperators/>"
        f"<fes:ComparisonOperators>{comparisons}</fes:ComparisonOperators>"
        "</fes:Scalar_Capabilities><fes:Spatial_Capabilities>"
        f"<fes:GeometryOperands>{operands}</fes:GeometryOperands>"
        f"<fes:SpatialOperators>{spatial}</fes:SpatialOperators></fes:Spatial_Capabilities>"
    )


def type_title(ref: CollectionRef) -> tuple[str, str]:
    kind = LAYER_KINDS.get(ref.kind)
    abstract = f"{kind.title_zh} {kind.title_en}" if kind else ref.kind
    if ref.department:
        abstract += f" — {ref.department}"
    if ref.restricted:
        abstract += " (restricted: send credentials)"
    return ref.name, abstract


def capabilities(ctx: PlanFuse, base_url: str) -> Answer:
    href = base_url.rstrip("/") + "/ows?"
    count_max = ctx.settings.ogc_limit_max
    crs_urns = offered_urns()
    default_crs = urn(next(info for info in collection_crs() if info.key == "EPSG:4490"))
    other_crs = [u for u in crs_urns if u != default_crs]
    formats = ["application/gml+xml; version=3.2", "application/json", "application/geo+json"]
    types = []
    for ref in current_layers(ctx):
        title, abstract = type_title(ref)
        bbox = ""
        if ref.bbox is not None:
            west, south, east, north = ref.bbox
            bbox = (
                f"<ows:WGS84BoundingBox><ows:LowerCorner>{west!r} {south!r}</ows:LowerCorner>"
                f"<ows:UpperCorner>{east!r} {north!r}</ows:UpperCorner></ows:WGS84BoundingBox>"
            )
        types.append(
            f"<wfs:FeatureType><wfs:Name>{PREFIX}:{type_name(ref.id)}</wfs:Name>"
            f"<wfs:Title>{escape(title)}</wfs:Title><wfs:Abstract>{escape(abstract)}</wfs:Abstract>"
            f"<wfs:DefaultCRS>{default_crs}</wfs:DefaultCRS>"
            + "".join(f"<wfs:OtherCRS>{u}</wfs:OtherCRS>" for u in other_crs)
            + "<wfs:OutputFormats>"
            + "".join(f"<wfs:Format>{escape(f)}</wfs:Format>" for f in formats)
            + f"</wfs:OutputFormats>{bbox}</wfs:FeatureType>"
        )
    operations = (
        _operation("GetCapabilities", href, {"AcceptVersions": SERVED_VERSIONS})
        + _operation("DescribeFeatureType", href, {"outputFormat": [XSD]})
        + _operation(
            "GetFeature", href, {"outputFormat": formats, "resultType": ["results", "hits"]}
        )
        + '<ows:Parameter name="version"><ows:AllowedValues><ows:Value>2.0.0</ows:Value>'
        "</ows:AllowedValues></ows:Parameter>"
        + _constraint("ImplementsBasicWFS", "FALSE")
        + _constraint("ImplementsTransactionalWFS", "FALSE")
        + _constraint("ImplementsLockingWFS", "FALSE")
        + _constraint("KVPEncoding", "TRUE")
        + _constraint("XMLEncoding", "FALSE")
        + _constraint("SOAPEncoding", "FALSE")
        + _constraint("ImplementsInheritance", "FALSE")
        + _constraint("ImplementsRemoteResolve", "FALSE")
        + _constraint("ImplementsResultPaging", "TRUE")
        + _constraint("ImplementsStandardJoins", "FALSE")
        + _constraint("ImplementsSpatialJoins", "FALSE")
        + _constraint("ImplementsTemporalJoins", "FALSE")
        + _constraint("ImplementsFeatureVersioning", "FALSE")
        + _constraint("ManageStoredQueries", "FALSE")
        + _constraint("CountDefault", str(count_max))
    )
    conformance = (
        "".join(
            _constraint(name, value)
            for name, value in (
                ("ImplementsQuery", "TRUE"),
                ("ImplementsAdHocQuery", "TRUE"),
                ("ImplementsFunctions", "FALSE"),
                ("ImplementsResourceId", "TRUE"),
                ("ImplementsMinStandardFilter", "TRUE"),
                # PropertyIsNil (no property is nil here) is what Standard Filter lacks.
                ("ImplementsStandardFilter", "FALSE"),
                ("ImplementsMinSpatialFilter", "TRUE"),
                # DWithin and Beyond are not offered.
                ("ImplementsSpatialFilter", "FALSE"),
                ("ImplementsMinTemporalFilter", "FALSE"),
                ("ImplementsTemporalFilter", "FALSE"),
                ("ImplementsVersionNav", "FALSE"),
                ("ImplementsSorting", "TRUE"),
                ("ImplementsExtendedOperators", "FALSE"),
            )
        )
        .replace("ows:Constraint", "fes:Constraint")
        .replace("ows:NoValues", "ows:NoValues")
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:gml="http://www.opengis.net/gml/3.2" '
        f'xmlns:{PREFIX}="{NAMESPACE}">'
        "<ows:ServiceIdentification><ows:Title>PlanFuse 多规合一 planning data (WFS)</ows:Title>"
        "<ows:Abstract>The unified planning database's layers as WFS 2.0 feature types."
        "</ows:Abstract><ows:ServiceType>WFS</ows:ServiceType>"
        "<ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion><ows:Fees>NONE</ows:Fees>"
        "<ows:AccessConstraints>NONE</ows:AccessConstraints></ows:ServiceIdentification>"
        "<ows:ServiceProvider><ows:ProviderName>PlanFuse</ows:ProviderName>"
        "<ows:ServiceContact/></ows:ServiceProvider>"
        f"<ows:OperationsMetadata>{operations}</ows:OperationsMetadata>"
        f"<wfs:FeatureTypeList>{''.join(types)}</wfs:FeatureTypeList>"
        f"<fes:Filter_Capabilities><fes:Conformance>{conformance}</fes:Conformance>"
        '<fes:Id_Capabilities><fes:ResourceIdentifier name="fes:ResourceId"/>'
        "</fes:Id_Capabilities>"
        f"{_filter_operators()}</fes:Filter_Capabilities>"
        "</wfs:WFS_Capabilities>"
    )
    return Answer(body.encode(), "application/xml")


# --- DescribeFeatureType -------------------------------------------------------------------


def describe_feature_type(ctx: PlanFuse, kvp: KVP) -> Answer:
    fmt = kvp.get("OUTPUTFORMAT")
    if fmt and "xml" not in fmt.lower() and "gml" not in fmt.lower():
        raise invalid("outputFormat", f"DescribeFeatureType answers {XSD}")
    names = kvp.get("TYPENAMES") or kvp.get("TYPENAME")
    refs = (
        [_find_type(ctx, n) for n in names.split(",") if n.strip()]
        if names and names.strip()
        else current_layers(ctx)
    )
    types = []
    for ref in refs:
        name = type_name(ref.id)
        props = "".join(
            f'<xsd:element name="{element}" type="xsd:string" minOccurs="0" nillable="true"/>'
            for element, _ in type_fields(ref)
        )
        types.append(
            f'<xsd:complexType name="{name}Type"><xsd:complexContent>'
            '<xsd:extension base="gml:AbstractFeatureType"><xsd:sequence>'
            f'<xsd:element name="{GEOMETRY}" type="{gml.property_type(ref.geometry_type)}" '
            f'minOccurs="0"/>{props}</xsd:sequence></xsd:extension></xsd:complexContent>'
            f'</xsd:complexType><xsd:element name="{name}" type="{PREFIX}:{name}Type" '
            'substitutionGroup="gml:AbstractFeature"/>'
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:{PREFIX}="{NAMESPACE}" '
        f'targetNamespace="{NAMESPACE}" elementFormDefault="qualified" version="1.0">'
        '<xsd:import namespace="http://www.opengis.net/gml/3.2" '
        'schemaLocation="http://schemas.opengis.net/gml/3.2.1/gml.xsd"/>'
        + "".join(types)
        + "</xsd:schema>"
    )
    return Answer(body.encode(), "application/xml")


# --- GetFeature ----------------------------------------------------------------------------


@dataclass
class Query:
    ref: CollectionRef
    crs: RequestCRS
    bbox: BBoxQuery | None
    equals: dict[str, tuple[str, ...]]
    resource_ids: list[int] | None
    start: int
    count: int
    hits: bool
    media_type: str
    #: A FES condition beyond the fast path, compiled as OGC API's CQL2 filters are.
    compiled: Filter | None = None
    #: SORTBY as (property, descending) keys.
    sort_keys: list[tuple[str, bool]] | None = None


def _output_format(kvp: KVP) -> str:
    raw = kvp.get("OUTPUTFORMAT")
    if raw is None or not raw.strip():
        return GML32
    key = " ".join(raw.strip().lower().replace(";", "; ").split()).replace(";  ", "; ")
    fmt = OUTPUT_FORMATS.get(key) or OUTPUT_FORMATS.get(key.replace('"', ""))
    if fmt is None:
        raise invalid(
            "outputFormat",
            f"outputFormat {raw[:60]!r} is not offered; use application/gml+xml; version=3.2 "
            "or application/json",
        )
    return fmt


def _default_crs() -> RequestCRS:
    return parse_crs("urn:ogc:def:crs:EPSG::4490", "srsName", short_is_xy=True, code="x")


def _bbox_query(
    corners: tuple[float, float, float, float], crs: RequestCRS, parameter: str
) -> BBoxQuery:
    a0, b0, a1, b1 = corners
    if a0 > a1 or b0 > b1:
        raise invalid(
            parameter,
            f"{parameter} has a minimum above its maximum; give the lower corner first in the "
            f"axis order of {crs.name}",
        )
    info = crs.info
    if info.degrees:
        lats = (a0, a1) if info.first_axis_north else (b0, b1)
        lons = (b0, b1) if info.first_axis_north else (a0, a1)
        if not all(-90 <= v <= 90 for v in lats) or not all(-180 <= v <= 180 for v in lons):
            order = "latitude,longitude" if info.first_axis_north else "longitude,latitude"
            raise invalid(
                parameter,
                f"{parameter} lies outside the world in {crs.name} (axis order {order}); "
                "check the axis order",
            )
    return BBoxQuery.from_geometry(*storage_box((a0, b0, a1, b1), info))


def _resource_fid(rid: str) -> tuple[str, int]:
    text = rid.strip()
    layer, _, number = text.rpartition(".")
    if not layer or not number.isdigit() or not 0 < int(number) < 2**31:
        raise invalid("RESOURCEID", f"resource id {text[:64]!r} is not of the form TYPE.FID")
    return layer, int(number)


def parse_get_feature(ctx: PlanFuse, kvp: KVP) -> Query:
    names = kvp.get("TYPENAMES") or kvp.get("TYPENAME")
    rid_text = kvp.get("RESOURCEID") or kvp.get("FEATUREID")
    filter_text = kvp.get("FILTER")
    if not filter_text and (kvp.get("QUERY") or "").lstrip().startswith("<"):
        # OWSLib's WFS 2.0 GetFeature over GET sends its filter as QUERY.
        filter_text = kvp.get("QUERY")
    bbox_text = kvp.get("BBOX")
    given = [
        n for n, v in (("RESOURCEID", rid_text), ("FILTER", filter_text), ("BBOX", bbox_text)) if v
    ]
    if len(given) > 1:
        raise invalid(given[1], f"{' and '.join(given)} exclude one another; send one of them")
    parsed = fes.parse_filter(filter_text) if filter_text else fes.Filter()
    rids = [r for r in rid_text.split(",") if r.strip()] if rid_text else parsed.resource_ids
    if len(rids) > MAX_RESOURCE_IDS:
        raise invalid("RESOURCEID", f"at most {MAX_RESOURCE_IDS} resource ids per request")
    ref = _feature_type(ctx, names, rids)
    resource_ids = _resource_ids(rids, ref)
    srs = kvp.get("SRSNAME")
    media_type = _output_format(kvp)
    if srs and srs.strip():
        crs = parse_crs(srs, "srsName", short_is_xy=True, code="InvalidParameterValue")
    elif media_type == GML32:
        crs = _default_crs()
    else:  # GeoJSON without srsName: RFC 7946's longitude/latitude
        crs = parse_crs("urn:ogc:def:crs:OGC:1.3:CRS84", "srsName", short_is_xy=True, code="x")
    bbox = _bbox_parameter(bbox_text, srs, crs, parsed)
    fields = dict((element, name) for element, name in type_fields(ref))
    compiled = _compile(parsed.condition, ref, fields) if parsed.condition is not None else None
    sort_keys = _sort_keys(kvp.get("SORTBY"), ref, fields)
    equals = _equalities(parsed, ref, fields)
    count_max = ctx.settings.ogc_limit_max
    count = kvp.integer("COUNT", 0) if "COUNT" in kvp else kvp.integer("MAXFEATURES", 0)
    count = count_max if count is None else min(count, count_max)  # capped, not refused
    start = kvp.integer("STARTINDEX", 0, 2**31 - 1) or 0
    result_type = (kvp.get("RESULTTYPE") or "results").strip().lower()
    if result_type not in ("results", "hits"):
        raise invalid("resultType", "resultType is results or hits")
    return Query(
        ref,
        crs,
        bbox,
        equals,
        resource_ids,
        start,
        count,
        result_type == "hits",
        _output_format(kvp),
        compiled,
        sort_keys,
    )


def _feature_type(ctx: PlanFuse, names: str | None, rids: list[str]) -> CollectionRef:
    """The one feature type TYPENAMES names, else the first resource id's."""
    if names and names.strip():
        listed = [n for n in names.replace("(", "").replace(")", "").split(",") if n.strip()]
        if len(listed) != 1:
            raise OWSError(
                "OperationNotSupported",
                "GetFeature reads one feature type per request",
                "TYPENAMES",
            )
        return _find_type(ctx, listed[0])
    if rids:
        return _find_type(ctx, _resource_fid(rids[0])[0], "RESOURCEID")
    raise missing("TYPENAMES")


def _equalities(
    parsed: fes.Filter, ref: CollectionRef, fields: dict[str, str]
) -> dict[str, tuple[str, ...]]:
    """The fast path's property equalities, by property name."""
    equals: dict[str, tuple[str, ...]] = {}
    for prop, values in parsed.equals.items():
        if prop not in fields:
            raise invalid(
                "FILTER",
                f"property {prop[:64]!r} is not of {type_name(ref.id)}; DescribeFeatureType "
                "lists its properties",
            )
        equals[fields[prop]] = tuple(values)
    return equals


def _resource_ids(rids: list[str], ref: CollectionRef) -> list[int] | None:
    """RESOURCEID (or fes:ResourceId) as feature ids of `ref`, or None when not given."""
    resource_ids = None
    if rids:
        resource_ids = []
        for rid in rids:
            layer, fid = _resource_fid(rid)
            if gml.xml_name(layer.rsplit(":", 1)[-1]) != type_name(ref.id):
                raise invalid(
                    "RESOURCEID", f"resource id {rid[:64]!r} is not of {type_name(ref.id)}"
                )
            resource_ids.append(fid)
    return resource_ids


def _bbox_parameter(
    bbox_text: str | None, srs: str | None, crs: RequestCRS, parsed: fes.Filter
) -> BBoxQuery | None:
    """BBOX (its own CRS, else srsName's, else the DefaultCRS) or the fast path's fes:BBOX."""
    bbox = None
    if bbox_text:
        parts = [p.strip() for p in bbox_text.split(",")]
        bbox_crs = (
            crs
            if len(parts) != 5
            else parse_crs(parts[4], "BBOX", short_is_xy=True, code="InvalidParameterValue")
        )
        if len(parts) == 4 and not (srs and srs.strip()):
            bbox_crs = _default_crs()
        corners = numbers("BBOX", ",".join(parts[:4]), 4)
        bbox = _bbox_query((corners[0], corners[1], corners[2], corners[3]), bbox_crs, "BBOX")
    elif parsed.envelope is not None:
        env = parsed.envelope
        env_crs = (
            parse_crs(env.srs_name, "FILTER", short_is_xy=True, code="InvalidParameterValue")
            if env.srs_name
            else _default_crs()
        )
        corners = (*env.lower, *env.upper)
        bbox = _bbox_query(corners, env_crs, "FILTER")
    return bbox


def _compile(condition: Any, ref: CollectionRef, fields: dict[str, str]) -> Filter:
    """A FES condition beyond the fast path as the predicate OGC API's CQL2 filters compile
    to; its geometries are already in storage coordinates (lon/lat)."""
    node = fes.condition_ast(condition, fields)
    try:
        return compile_filter(
            node, ref.fields, _storage_xy(), parameter="FILTER",
            properties_hint="DescribeFeatureType lists them",
        )  # fmt: skip
    except InvalidInput as exc:
        raise invalid("FILTER", exc.message) from None


def _storage_xy():
    """Storage coordinates (EPSG:4490) longitude first: how `fes` hands geometries over."""
    return dataclasses.replace(resolve_crs("EPSG:4490"), first_axis_north=False)


def _sort_keys(
    raw: str | None, ref: CollectionRef, fields: dict[str, str]
) -> list[tuple[str, bool]] | None:
    """`SORTBY=name [ASC|DESC],…` (FES 2.0; `A`/`D` as WFS 1.1 wrote them) as the keys OGC
    API's `sortby` takes, with its limits."""
    if raw is None or not raw.strip():
        return None
    terms = []
    for part in (p.strip() for p in raw.split(",")):
        words = part.split()
        if not words or len(words) > 2:
            raise invalid("SORTBY", f"SORTBY term {part[:40]!r} is not 'name [ASC|DESC]'")
        order = words[1].upper() if len(words) == 2 else "ASC"
        if order not in ("ASC", "DESC", "A", "D"):
            raise invalid("SORTBY", f"SORTBY order {words[1][:10]!r} is ASC or DESC")
        local = words[0].rsplit(":", 1)[-1]
        if local not in fields:
            raise invalid(
                "SORTBY",
                f"cannot sort by {words[0][:64]!r}; sort by one of: {', '.join(sorted(fields))}",
            )
        terms.append(("-" if order in ("DESC", "D") else "+") + fields[local])
    try:
        return parse_sortby(",".join(terms), [*ref.fields, "district"])
    except InvalidInput as exc:
        raise invalid("SORTBY", exc.message) from None


def read(ctx: PlanFuse, query: Query) -> tuple[int, list[FeatureRow]]:
    ref = query.ref
    if query.resource_ids is not None:
        rows = []
        for fid in dict.fromkeys(query.resource_ids):
            row = get_feature(ctx, ref.id, ref.version, fid)
            if row is not None:
                rows.append(row)
        if query.sort_keys:
            rows = sort_rows(rows, query.sort_keys)
        matched = len(rows)
        return matched, ([] if query.hits else rows[query.start : query.start + query.count])
    if query.compiled is not None or query.sort_keys:
        return _read_tested(ctx, query)
    return query_features(
        ctx,
        ref.id,
        ref.version,
        ref.feature_count,
        filters=query.equals,
        bbox=query.bbox,
        offset=query.start,
        limit=0 if query.hits else query.count,
    )


def _read_tested(ctx: PlanFuse, query: Query) -> tuple[int, list[FeatureRow]]:
    """A page of features a compiled filter keeps and/or in SORTBY order, as OGC API reads
    them: the store's bound query (the fast-path terms plus the filter's top-level
    equalities and spatial term) gives at most MAX_SCANNED candidates, each is tested, then
    sorted and paged."""
    ref = query.ref
    equals = dict(query.equals)
    bbox = query.bbox
    if query.compiled is not None:
        for name, options in query.compiled.equalities.items():
            equals.setdefault(name, options)
        bbox = bbox or query.compiled.spatial
    matched, rows = query_features(
        ctx, ref.id, ref.version, ref.feature_count, filters=equals, bbox=bbox,
        offset=0, limit=MAX_SCANNED + 1,
    )  # fmt: skip
    if matched > MAX_SCANNED:
        raise invalid(
            "FILTER" if query.compiled is not None else "SORTBY",
            f"the request leaves {matched} features of {type_name(ref.id)} to test, more "
            f"than {MAX_SCANNED}; add a BBOX or an equality on a property to narrow it",
        )
    if query.compiled is not None:
        rows = [row for row in rows if query.compiled.predicate(row)]
    if query.sort_keys:
        rows = sort_rows(rows, query.sort_keys)
    return len(rows), ([] if query.hits else rows[query.start : query.start + query.count])


def timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return escape(orjson.dumps(value).decode())
    return escape(str(value))


def gml_members(query: Query, rows: list[FeatureRow], member: str) -> list[str]:
    """Each row as a GML feature inside a `member` element (`wfs:member` in WFS 2.0,
    `gml:featureMember` in 1.1.0), its geometry written as DescribeFeatureType declares it."""
    name = type_name(query.ref.id)
    fields = type_fields(query.ref)
    geoms = to_output(shapely.from_wkb([r.geom for r in rows]), query.crs.info) if rows else []
    declared = gml.property_type(query.ref.geometry_type)
    members = []
    for row, geom in zip(rows, geoms, strict=True):
        gid = f"{name}.{row.fid}"
        props = dict(row.properties)
        if row.district is not None:
            props.setdefault("district", row.district)
        values = "".join(
            f"<{PREFIX}:{element}>{value_text(props[prop])}</{PREFIX}:{element}>"
            for element, prop in fields
            if props.get(prop) is not None
        )
        members.append(
            f'<{member}><{PREFIX}:{name} gml:id="{gid}"><{PREFIX}:{GEOMETRY}>'
            f"{gml.geometry(geom, gid + '.geom', query.crs.name, declared)}</{PREFIX}:{GEOMETRY}>"
            f"{values}</{PREFIX}:{name}></{member}>"
        )
    return members


def _gml_collection(query: Query, matched: int, rows: list[FeatureRow]) -> bytes:
    members = gml_members(query, rows, "wfs:member")
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        f'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:{PREFIX}="{NAMESPACE}" '
        f'timeStamp="{timestamp()}" numberMatched="{matched}" numberReturned="{len(rows)}">'
    )
    return (head + "".join(members) + "</wfs:FeatureCollection>").encode()


def _geojson_collection(query: Query, matched: int, rows: list[FeatureRow]) -> bytes:
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": geojson_features(rows, query.crs.info, id_prefix=type_name(query.ref.id)),
        "numberMatched": matched,
        "numberReturned": len(rows),
        "timeStamp": timestamp(),
    }
    if query.crs.info.key != "OGC:CRS84":
        body["crs"] = {"type": "name", "properties": {"name": query.crs.name}}
    return orjson.dumps(body)


def get_feature_response(ctx: PlanFuse, kvp: KVP, authorization: str | None = None) -> Answer:
    query = parse_get_feature(ctx, kvp)
    layer_caller(ctx, query.ref.id, query.ref.restricted, authorization)
    matched, rows = read(ctx, query)
    if query.media_type == GML32:
        return Answer(_gml_collection(query, matched, rows), GML32)
    return Answer(_geojson_collection(query, matched, rows), query.media_type)


def handle(ctx: PlanFuse, kvp: KVP, base_url: str, authorization: str | None) -> Answer:
    """One WFS KVP request (SERVICE=WFS already checked)."""
    request = kvp.require("REQUEST")
    if request.lower() == "getcapabilities":
        version_check(kvp, VERSIONS, "WFS")
        return capabilities(ctx, base_url)
    version_check(kvp, VERSIONS, "WFS")
    if request.lower() == "describefeaturetype":
        return describe_feature_type(ctx, kvp)
    if request.lower() == "getfeature":
        return get_feature_response(ctx, kvp, authorization)
    raise OWSError(
        "OperationNotSupported",
        f"WFS request {request[:40]!r} is not supported; use GetCapabilities, "
        "DescribeFeatureType or GetFeature",
        "request",
    )
