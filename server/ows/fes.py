"""The part of OGC Filter Encoding 2.0 the WFS understands, parsed without a database.

A `FILTER` may be `fes:ResourceId` (one or more), `fes:BBOX` with a `gml:Envelope`,
`fes:PropertyIsEqualTo` (a property and a literal), or an `fes:And` of BBOX and equality
tests — what GDAL, QGIS and OWSLib send for a spatial and an attribute filter. Anything
else is refused with the operator named (OperationNotSupported), never guessed at.
Documents with a DOCTYPE are refused (defusedxml: no entity expansion, nothing fetched).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from planfuse.ows.errors import OWSError, invalid

FES = "{http://www.opengis.net/fes/2.0}"
GML = "{http://www.opengis.net/gml/3.2}"
GML31 = "{http://www.opengis.net/gml}"
MAX_FILTER_CHARS = 50_000


@dataclass
class Envelope:
    lower: tuple[float, float]
    upper: tuple[float, float]
    srs_name: str | None


@dataclass
class Filter:
    resource_ids: list[str] = field(default_factory=list)
    envelope: Envelope | None = None
    equals: dict[str, list[str]] = field(default_factory=dict)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _corner(element: ET.Element | None, name: str) -> tuple[float, float]:
    if element is None or not (element.text or "").strip():
        raise invalid("FILTER", f"the gml:Envelope needs a {name}")
    try:
        values = [float(v) for v in element.text.split()]
    except ValueError:
        raise invalid("FILTER", f"the gml:Envelope's {name} must be two numbers") from None
    if len(values) != 2:
        raise invalid("FILTER", f"the gml:Envelope's {name} must be two numbers")
    return values[0], values[1]


def _first(element: ET.Element, name: str) -> ET.Element | None:
    # Not `a or b`: an element without children is falsy.
    found = element.find(f"{GML}{name}")
    return found if found is not None else element.find(f"{GML31}{name}")


def _envelope(element: ET.Element) -> Envelope:
    for child in element:
        if _local(child.tag) == "Envelope":
            lower = _first(child, "lowerCorner")
            upper = _first(child, "upperCorner")
            return Envelope(
                _corner(lower, "lowerCorner"), _corner(upper, "upperCorner"), child.get("srsName")
            )
    raise invalid("FILTER", "fes:BBOX takes a gml:Envelope")


def _equals(element: ET.Element, into: Filter) -> None:
    name = element.find(f"{FES}ValueReference")
    literal = element.find(f"{FES}Literal")
    if name is None or literal is None or not (name.text or "").strip():
        raise invalid(
            "FILTER", "fes:PropertyIsEqualTo takes a fes:ValueReference and a fes:Literal"
        )
    prop = name.text.strip().rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    into.equals.setdefault(prop, []).append((literal.text or "").strip())


def _condition(element: ET.Element, into: Filter) -> None:
    name = _local(element.tag)
    if name == "ResourceId":
        rid = element.get("rid")
        if not rid:
            raise invalid("FILTER", "fes:ResourceId needs its rid attribute")
        into.resource_ids.append(rid)
    elif name == "BBOX":
        if into.envelope is not None:
            raise OWSError("OperationNotSupported", "one fes:BBOX per filter", "FILTER")
        into.envelope = _envelope(element)
    elif name == "PropertyIsEqualTo":
        _equals(element, into)
    elif name == "And":
        for child in element:
            if _local(child.tag) == "ResourceId":
                raise invalid("FILTER", "fes:ResourceId cannot be combined with other tests")
            _condition(child, into)
    else:
        raise OWSError(
            "OperationNotSupported",
            f"filter operator fes:{name[:40]} is not supported; use fes:ResourceId, fes:BBOX, "
            "fes:PropertyIsEqualTo or fes:And of them",
            "FILTER",
        )


def parse_filter(text: str) -> Filter:
    """A FES 2.0 `fes:Filter` document as a `Filter`, or an OWSError locating the fault."""
    if len(text) > MAX_FILTER_CHARS:
        raise invalid("FILTER", f"FILTER is longer than {MAX_FILTER_CHARS} characters")
    try:
        root = SafeET.fromstring(text.strip(), forbid_dtd=True)
    except DefusedXmlException:
        raise invalid("FILTER", "FILTER cannot contain a DOCTYPE or entity declarations") from None
    except ET.ParseError as exc:
        line, column = exc.position
        raise invalid(
            "FILTER", f"FILTER is not well-formed XML (line {line}, column {column + 1})"
        ) from None
    if root.tag != f"{FES}Filter":
        raise invalid(
            "FILTER", "FILTER must be an fes:Filter (xmlns:fes=http://www.opengis.net/fes/2.0)"
        )
    children = list(root)
    if not children:
        raise invalid("FILTER", "the fes:Filter is empty")
    result = Filter()
    if all(_local(c.tag) == "ResourceId" for c in children):
        for child in children:
            _condition(child, result)
        return result
    if len(children) != 1:
        raise invalid("FILTER", "an fes:Filter holds one condition (combine several with fes:And)")
    _condition(children[0], result)
    return result
