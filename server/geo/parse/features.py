"""Untrusted geometry input (GeoJSON, WKT, 界址点 lists) → validated features, every problem
reported at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from planfuse.geo.errors import (
    GeometryInputError,
    InputProblem,
)
from planfuse.geo.parse.boundary_points import boundary_point_shapes
from planfuse.geo.parse.build import build_features
from planfuse.geo.parse.bulk import bulk_features
from planfuse.geo.parse.geojson import geojson_shapes, load_json
from planfuse.geo.parse.shapes import (
    DEFAULT_MAX_VERTICES,
    GEOMETRY_TYPES,
    ParseContext,
    ParsedFeature,
    TooManyVertices,
)
from planfuse.geo.parse.text import decode_text, detect_format
from planfuse.geo.parse.wkt import wkt_shapes


def parse_features(
    data: bytes | str | dict,
    *,
    fmt: str = "auto",
    max_vertices: int = DEFAULT_MAX_VERTICES,
    geometry_types: Collection[str] | None = None,
    repair: bool = False,
) -> list[ParsedFeature]:
    """Parse untrusted geometry input into validated features (geometries in the source CRS).

    ``data``: GeoJSON text/bytes or an already-decoded dict, WKT text, or a 界址点 list.
    ``fmt``: "auto" (detect), "geojson", "wkt" or "coordinates" (界址点).
    ``max_vertices``: refuse input with more vertices, counted before building anything.
    ``geometry_types``: GeoJSON type names allowed (e.g. {"Polygon", "MultiPolygon"}).
    ``repair``: apply shapely.make_valid to invalid geometries instead of refusing them
    (polygonal input keeps only its polygonal parts); such features get ``repaired=True``.

    Raises :class:`GeometryInputError` listing every problem found (feature, part, ring,
    vertex, line).
    """
    if fmt not in ("auto", "geojson", "wkt", "coordinates"):
        raise ValueError(f"fmt must be auto, geojson, wkt or coordinates, not {fmt!r}")
    if geometry_types is not None:
        unknown = set(geometry_types) - set(GEOMETRY_TYPES)
        if unknown:
            raise ValueError(f"unknown geometry types {sorted(unknown)}")
    ctx = ParseContext(max_vertices, geometry_types)
    try:
        if isinstance(data, Mapping):
            if fmt not in ("auto", "geojson"):
                raise ValueError("a dict can only be GeoJSON")
            return _geojson_features(data, ctx, repair)
        text = decode_text(data)
        kind = fmt if fmt != "auto" else detect_format(text)
        if kind == "geojson":
            return _geojson_features(load_json(text), ctx, repair)
        shapes = wkt_shapes(text, ctx) if kind == "wkt" else boundary_point_shapes(text, ctx)
    except TooManyVertices:
        raise _too_many_vertices(max_vertices) from None
    return _built(shapes, ctx, repair)


def _geojson_features(obj, ctx: ParseContext, repair: bool) -> list[ParsedFeature]:
    """GeoJSON features: in bulk when the collection is plainly well-formed, else one by
    one (naming every problem)."""
    features = bulk_features(obj, ctx, repair)
    if features is not None:
        return _checked(features, ctx)
    return _built(geojson_shapes(obj, ctx), ctx, repair)


def _built(shapes: list, ctx: ParseContext, repair: bool) -> list[ParsedFeature]:
    if not shapes and not ctx.problems:
        raise GeometryInputError(None, [InputProblem("the input contains no features")])
    # Validity is checked on every well-formed feature even when others are malformed, so
    # one error lists every bad feature (building is bounded: vertices were counted).
    return _checked(build_features(shapes, repair, ctx.problems), ctx)


def _checked(features: list[ParsedFeature], ctx: ParseContext) -> list[ParsedFeature]:
    """The features, unless problems were found (then every problem is raised, in order)."""
    ctx.problems.problems.sort(key=_problem_order)
    ctx.problems.raise_if_any()
    return features


def _too_many_vertices(max_vertices: int) -> GeometryInputError:
    return GeometryInputError(
        None,
        [
            InputProblem(
                f"the input has more than {max_vertices} vertices; split it into smaller "
                "uploads or simplify it"
            )
        ],
    )


def _problem_order(p: InputProblem) -> tuple:
    return (
        -1 if p.feature is None else p.feature,
        -1 if p.line is None else p.line,
        -1 if p.part is None else p.part,
        -1 if p.ring is None else p.ring,
    )


def parse_boundary_points(text: str, *, max_vertices: int = DEFAULT_MAX_VERTICES) -> list:
    """Parse a 界址点坐标 list; same as ``parse_features(text, fmt="coordinates")``.

    Format: one point per line, ``point_no, x, y`` or ``point_no, ring_no, x, y``, the
    fields separated by commas (also the full-width ，), tabs or spaces. ``#`` starts a
    comment; one header line (e.g. ``点号,X,Y``) may precede the data. A blank line or a
    change of ``ring_no`` ends a ring. Every ring must close: surveyors repeat the first
    point (J1) at the end. A ring inside the previous outer ring is a hole of it; any other
    ring starts a new polygon part. The 国土资源部 exchange format is understood too:
    ``[属性描述]`` key=value lines are skipped, and each ``…,@`` attribute line starts a
    new parcel (feature) whose fields become its properties.

    Axis order: surveying coordinates (测量坐标系) list X = northing first, Y = easting
    second, so by default the pair is swapped into (easting, northing). The order is
    accepted as (easting, northing) only when the magnitudes make it unambiguous: in China a
    Gauss–Krüger northing has 7 digits, an easting 6 (or 8 with the zone prefix); for
    longitude/latitude the longitude is the larger number. Mixed orders are an error. Each
    feature's ``notes`` records the decision.
    """
    return parse_features(text, fmt="coordinates", max_vertices=max_vertices)
