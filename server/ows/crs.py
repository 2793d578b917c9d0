"""CRS names in OWS requests and documents, and the axis order each spelling implies.

The URN and URI spellings (`urn:ogc:def:crs:EPSG::4490`,
`http://www.opengis.net/def/crs/EPSG/0/4523`) mean the EPSG definition's axis order:
latitude first for EPSG:4490/4326, northing (X) first for the CGCS2000 Gauss–Krüger CRSs.
WMS 1.3.0 reads `CRS=EPSG:4490` the same way (the standard says so). In WFS the short
`EPSG:4490` keeps its traditional easting-first meaning, as GDAL, GeoServer and MapServer
read it, so old clients that send it get longitude/latitude back. CRS84 and EPSG:3857
are easting first in every spelling.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from planfuse.geo.crs import CRSInfo
from planfuse.ows.errors import OWSError
from planfuse.services.features.crs import COLLECTION_CRS_KEYS, collection_crs, find_offered_crs

_SHORT = re.compile(r"^EPSG:[0-9]+$", re.IGNORECASE)
_LEGACY_GML = re.compile(r"^http://www\.opengis\.net/gml/srs/epsg\.xml#([0-9]+)$")
# WFS 1.1.0's URN spellings without the empty version (urn:x-ogc:def:crs:EPSG:4490 as
# GeoServer writes it, urn:ogc:def:crs:EPSG:4490): the EPSG axis order, as the full URN.
_URN_NO_VERSION = re.compile(r"^urn:(?:x-)?ogc:def:crs:EPSG:([0-9]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RequestCRS:
    """A CRS as a request named it: `info` carries the axis order the spelling implies in
    its `first_axis_north`, `name` is how documents write it back."""

    info: CRSInfo
    name: str


def urn(info: CRSInfo) -> str:
    if info.key == "OGC:CRS84":
        return "urn:ogc:def:crs:OGC:1.3:CRS84"
    return f"urn:ogc:def:crs:EPSG::{info.epsg}"


def offered_urns() -> list[str]:
    return [urn(info) for info in collection_crs()]


def offered_short_names() -> list[str]:
    return ["CRS:84" if key == "OGC:CRS84" else key for key in COLLECTION_CRS_KEYS]


def parse_crs(value: str, parameter: str, *, short_is_xy: bool, code: str) -> RequestCRS:
    """The offered CRS `value` names, with the axis order of its spelling; else `code`."""
    text = value.strip()
    short_urn = _URN_NO_VERSION.match(text)
    if short_urn:
        text = f"urn:ogc:def:crs:EPSG::{short_urn.group(1)}"
    legacy = _LEGACY_GML.match(text)
    if legacy:
        text = f"EPSG:{legacy.group(1)}"
    lookup = "OGC:CRS84" if text.upper() == "CRS:84" else text
    info = find_offered_crs(lookup)
    if info is None:
        raise OWSError(
            code,
            f"{parameter} {text[:80]!r} is not offered; use one of "
            + ", ".join(offered_urns() if not short_is_xy else offered_short_names()),
            parameter,
        )
    if info.first_axis_north and (legacy or (short_is_xy and _SHORT.match(text))):
        info = dataclasses.replace(info, first_axis_north=False)
    name = text if (legacy or _SHORT.match(text) or text.upper() == "CRS:84") else urn(info)
    return RequestCRS(info, name)
