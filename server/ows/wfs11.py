"""WFS 1.1.0 beside 2.0.0, for clients that speak only the older version (GetCapabilities,
DescribeFeatureType, GetFeature in GML 3.1.1), and the version negotiation of `/ows`
WFS requests.

A 1.1.0 request reads the same parameters as a 2.0.0 one (`typeName`, `maxFeatures`,
`featureId`, `BBOX`, `FILTER` in Filter Encoding 1.1 — `planfuse.ows.fes` rewrites it as
FES 2.0 — `SORTBY`, `srsName`, `resultType=hits`) through `planfuse.ows.wfs`; only the
documents differ: OWS Common 1.0.0 and `ogc:Filter_Capabilities` in the capabilities, the
GML 3.1.1 namespace, `gml:featureMember` and `numberOfFeatures` in a FeatureCollection.
Axis order follows the srsName spelling as in 2.0.0: `urn:ogc:def:crs:EPSG::4490` and
`urn:x-ogc:def:crs:EPSG:4490` are latitude first, the short `EPSG:4490` longitude first.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from planfuse.context import PlanFuse
from planfuse.http.layer_access import layer_caller
from planfuse.ows import fes, wfs
from planfuse.ows.crs import urn
from planfuse.ows.errors import OWSError
from planfuse.ows.kvp import KVP, version_check
from planfuse.services.features.crs import collection_crs
from planfuse.services.features.layers import current_layers
from planfuse.services.features.store import FeatureRow

VERSION = "1.1.0"
VERSIONS = wfs.SERVED_VERSIONS
GML311 = "text/xml; subtype=gml/3.1.1"
WFS_NS = "http://www.opengis.net/wfs"
OWS_NS = "http://www.opengis.net/ows"
OGC_NS = "http://www.opengis.net/ogc"
GML_NS = "http://www.opengis.net/gml"
#: Filter Encoding 1.1's names for the comparison operators `fes` reads.
COMPARISONS_11 = ("EqualTo", "NotEqualTo", "LessThan", "GreaterThan", "LessThanEqualTo",
                  "GreaterThanEqualTo", "Like", "NullCheck", "Between")  # fmt: skip


def handle(ctx: PlanFuse, kvp: KVP, base_url: str, authorization: str | None) -> wfs.Answer:
    """One WFS KVP request: 1.1.0 when asked for (VERSION or AcceptVersions), else 2.0.0."""
    version = version_check(kvp, VERSIONS, "WFS")
    if version != VERSION:
        return wfs.handle(ctx, kvp, base_url, authorization)
    request = kvp.require("REQUEST").lower()
    if request == "getcapabilities":
        return capabilities(ctx, base_url)
    if request == "describefeaturetype":
        return describe_feature_type(ctx, kvp)
    if request == "getfeature":
        return get_feature(ctx, kvp, authorization)
    raise OWSError(
        "OperationNotSupported",
        f"WFS request {kvp.require('REQUEST')[:40]!r} is not supported; use GetCapabilities, "
        "DescribeFeatureType or GetFeature",
        "request",
    )


def _operation(name: str, href: str, parameter: str, values: tuple[str, ...]) -> str:
    allowed = "".join(f"<ows:Value>{escape(v)}</ows:Value>" for v in values)
    return (
        f'<ows:Operation name="{name}"><ows:DCP><ows:HTTP><ows:Get xlink:href={quoteattr(href)}/>'
        f"<ows:Post xlink:href={quoteattr(href)}/>"
        f'</ows:HTTP></ows:DCP><ows:Parameter name="{parameter}">{allowed}</ows:Parameter>'
        "</ows:Operation>"
    )


def _feature_types(ctx: PlanFuse) -> str:
    srs = [urn(info) for info in collection_crs()]
    default = urn(next(info for info in collection_crs() if info.key == "EPSG:4490"))
    types = []
    for ref in current_layers(ctx):
        title, abstract = wfs.type_title(ref)
        bbox = ""
        if ref.bbox is not None:
            west, south, east, north = ref.bbox
            bbox = (f"<ows:WGS84BoundingBox><ows:LowerCorner>{west!r} {south!r}</ows:LowerCorner>"
                    f"<ows:UpperCorner>{east!r} {north!r}</ows:UpperCorner>"
                    "</ows:WGS84BoundingBox>")  # fmt: skip
        types.append(
            f"<wfs:FeatureType><wfs:Name>{wfs.PREFIX}:{wfs.type_name(ref.id)}</wfs:Name>"
            f"<wfs:Title>{escape(title)}</wfs:Title><wfs:Abstract>{escape(abstract)}"
            f"</wfs:Abstract><wfs:DefaultSRS>{default}</wfs:DefaultSRS>"
            + "".join(f"<wfs:OtherSRS>{u}</wfs:OtherSRS>" for u in srs if u != default)
            + f"<wfs:OutputFormats><wfs:Format>{GML311}</wfs:Format></wfs:OutputFormats>"
            + f"{bbox}</wfs:FeatureType>"
        )
    return "".join(types)


def _filter_capabilities() -> str:
    spatial = "".join(f'<ogc:SpatialOperator name="{n}"/>' for n in fes.SPATIAL_OPERATORS)
    operands = "".join(f"<ogc:GeometryOperand>{n}</ogc:GeometryOperand>"
                       for n in fes.GEOMETRY_OPERANDS)  # fmt: skip
    comparisons = "".join(f"<ogc:ComparisonOperator>{n}</ogc:ComparisonOperator>"
                          for n in COMPARISONS_11)  # fmt: skip
    return (
        "<ogc:Filter_Capabilities><ogc:Spatial_Capabilities>"
        f"<ogc:GeometryOperands>{operands}</ogc:GeometryOperands>"
        f"<ogc:SpatialOperators>{spatial}</ogc:SpatialOperators></ogc:Spatial_Capabilities>"
        "<ogc:Scalar_Capabilities><ogc:LogicalOperators/>"
        f"<ogc:ComparisonOperators>{comparisons}</ogc:ComparisonOperators>"
        "</ogc:Scalar_Capabilities><ogc:Id_Capabilities><ogc:EID/><ogc:FID/>"
        "</ogc:Id_Capabilities></ogc:Filter_Capabilities>"
    )


def capabilities(ctx: PlanFuse, base_url: str) -> wfs.Answer:
    href = base_url.rstrip("/") + "/ows?"
    operations = (
        _operation("GetCapabilities", href, "AcceptVersions", VERSIONS)
        + _operation("DescribeFeatureType", href, "outputFormat", (GML311,))
        + _operation("GetFeature", href, "resultType", ("results", "hits"))
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wfs:WFS_Capabilities version="{VERSION}" xmlns:wfs="{WFS_NS}" xmlns:ows="{OWS_NS}" '
        f'xmlns:ogc="{OGC_NS}" xmlns:gml="{GML_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'xmlns:{wfs.PREFIX}="{wfs.NAMESPACE}">'
        "<ows:ServiceIdentification><ows:Title>PlanFuse 多规合一 planning data (WFS)</ows:Title>"
        "<ows:Abstract>The unified planning database's layers as WFS 1.1.0 feature types."
        "</ows:Abstract><ows:ServiceType>WFS</ows:ServiceType>"
        f"<ows:ServiceTypeVersion>{VERSION}</ows:ServiceTypeVersion><ows:Fees>NONE</ows:Fees>"
        "<ows:AccessConstraints>NONE</ows:AccessConstraints></ows:ServiceIdentification>"
        "<ows:ServiceProvider><ows:ProviderName>PlanFuse</ows:ProviderName>"
        "<ows:ServiceContact/></ows:ServiceProvider>"
        f"<ows:OperationsMetadata>{operations}</ows:OperationsMetadata>"
        f"<wfs:FeatureTypeList>{_feature_types(ctx)}</wfs:FeatureTypeList>"
        f"{_filter_capabilities()}</wfs:WFS_Capabilities>"
    )
    return wfs.Answer(body.encode(), "application/xml")


def describe_feature_type(ctx: PlanFuse, kvp: KVP) -> wfs.Answer:
    """The 2.0.0 schema with GML 3.1.1's namespace and its abstract feature's names."""
    schema = wfs.describe_feature_type(ctx, kvp).body.decode()
    schema = (
        schema.replace('"http://www.opengis.net/gml/3.2"', f'"{GML_NS}"')
        .replace(
            "http://schemas.opengis.net/gml/3.2.1/gml.xsd",
            "http://schemas.opengis.net/gml/3.1.1/base/gml.xsd",
        )
        .replace('substitutionGroup="gml:AbstractFeature"', 'substitutionGroup="gml:_Feature"')
    )
    return wfs.Answer(schema.encode(), GML311)


def get_feature(ctx: PlanFuse, kvp: KVP, authorization: str | None) -> wfs.Answer:
    """GetFeature: GML 3.1.1 only (1.1.0's one mandatory format)."""
    raw = (kvp.get("OUTPUTFORMAT") or "").strip().lower().replace(" ", "")
    if raw and raw not in ("text/xml;subtype=gml/3.1.1", "gml3", "text/xml"):
        raise OWSError("InvalidParameterValue", f"outputFormat is {GML311} in WFS 1.1.0",
                       "outputFormat")  # fmt: skip
    # The 2.0.0 parsing, its output format left out (the GML is written here).
    plain = KVP((k, v) for k, v in kvp.items() if k != "OUTPUTFORMAT")
    query = wfs.parse_get_feature(ctx, plain)
    layer_caller(ctx, query.ref.id, query.ref.restricted, authorization)
    matched, rows = wfs.read(ctx, query)
    return wfs.Answer(_collection(query, matched, rows), GML311)


def _collection(query: wfs.Query, matched: int, rows: list[FeatureRow]) -> bytes:
    members = wfs.gml_members(query, rows, "gml:featureMember")
    count = matched if query.hits else len(rows)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wfs:FeatureCollection xmlns:wfs="{WFS_NS}" xmlns:gml="{GML_NS}" '
        f'xmlns:{wfs.PREFIX}="{wfs.NAMESPACE}" timeStamp="{wfs.timestamp()}" '
        f'numberOfFeatures="{count}">'
    )
    return (head + "".join(members) + "</wfs:FeatureCollection>").encode()
