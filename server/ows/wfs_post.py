"""WFS requests sent as XML in a POST body (OpenLayers' `WFS.writeGetFeature`, OWSLib's
`method="Post"`, GeoServer-style clients), read into the same parameters as the KVP
request, so one code path answers both.

`wfs:GetFeature` (WFS 2.0 or 1.1.0) with one `wfs:Query` (`typeNames`/`typeName`,
`srsName`, an `fes:Filter`/`ogc:Filter`, an `fes:SortBy`/`ogc:SortBy`), and its
`count`/`maxFeatures`, `startIndex`, `resultType`, `outputFormat`;
`wfs:GetCapabilities` and `wfs:DescribeFeatureType` (`TypeName` children). The XML is
parsed with defusedxml: no DTD, no entity, nothing fetched.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from planfuse.ows.errors import OWSError, invalid
from planfuse.ows.fes import parse_xml
from planfuse.ows.kvp import KVP

WFS20 = "{http://www.opengis.net/wfs/2.0}"
WFS11 = "{http://www.opengis.net/wfs}"
REQUESTS = ("GetFeature", "GetCapabilities", "DescribeFeatureType")
#: GetFeature attributes and the KVP parameters they are (the same names in both versions).
ATTRIBUTES = {
    "service": "SERVICE",
    "version": "VERSION",
    "outputFormat": "OUTPUTFORMAT",
    "count": "COUNT",
    "maxFeatures": "MAXFEATURES",
    "startIndex": "STARTINDEX",
    "resultType": "RESULTTYPE",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def kvp_from_xml(body: bytes) -> KVP:
    """The request's parameters, as its KVP spelling would give them; an OWSError naming
    what is wrong otherwise."""
    if not body.strip():
        raise invalid(
            "request", "the POST body is empty; send a wfs:GetFeature document, or use GET"
        )
    root = parse_xml(body, "request", "the request")
    name = _local(root.tag)
    if _namespace(root.tag) not in (WFS20, WFS11) or name not in REQUESTS:
        raise OWSError(
            "OperationNotSupported",
            f"a POST body of {name[:40]!r} is not a WFS request here; send wfs:GetFeature, "
            "wfs:DescribeFeatureType or wfs:GetCapabilities "
            "(xmlns:wfs=http://www.opengis.net/wfs/2.0)",
            "request",
        )
    pairs: list[tuple[str, str]] = [("REQUEST", name)]
    # Attribute names in any case: OWSLib writes `outputformat`.
    given = {attr.lower(): value for attr, value in root.attrib.items()}
    pairs += [
        (key, given[attr.lower()]) for attr, key in ATTRIBUTES.items() if given.get(attr.lower())
    ]
    if "service" not in given:
        pairs.append(("SERVICE", "WFS"))
    if name == "DescribeFeatureType":
        names = [(t.text or "").strip() for t in root if _local(t.tag) == "TypeName"]
        if names:
            pairs.append(("TYPENAMES", ",".join(names)))
    elif name == "GetFeature":
        pairs += _query(root)
    return KVP(pairs)


def _query(root: ET.Element) -> list[tuple[str, str]]:
    queries = [child for child in root if _local(child.tag) == "Query"]
    if len(queries) != 1:
        raise invalid(
            "Query",
            f"a GetFeature holds {len(queries)} wfs:Query elements; send exactly one "
            "(one feature type per request)",
        )
    query = queries[0]
    pairs = []
    names = query.get("typeNames") or query.get("typeName")
    if names:
        pairs.append(("TYPENAMES", names))
    if query.get("srsName"):
        pairs.append(("SRSNAME", query.get("srsName")))
    for child in query:
        kind = _local(child.tag)
        if kind == "Filter":
            pairs.append(("FILTER", ET.tostring(child, encoding="unicode")))
        elif kind == "SortBy":
            pairs.append(("SORTBY", _sort_by(child)))
        elif kind in ("PropertyName", "ValueReference"):
            continue  # all properties are always returned
        else:
            raise invalid("Query", f"wfs:Query child {kind[:40]!r} is not supported here")
    return pairs


def _sort_by(element: ET.Element) -> str:
    """`fes:SortBy` as the SORTBY parameter: `name ASC,other DESC`."""
    terms = []
    for prop in element:
        parts = {_local(c.tag): (c.text or "").strip() for c in prop}
        name = parts.get("ValueReference") or parts.get("PropertyName")
        if not name:
            raise invalid("SORTBY", "an fes:SortProperty names no fes:ValueReference")
        order = (parts.get("SortOrder") or "ASC").upper()
        terms.append(f"{name} {order}")
    return ",".join(terms)
