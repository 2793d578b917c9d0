"""Draw features onto a raster map with the map widget's styles (WMS, WMTS, map tiles).

Anti-aliased drawing with AGG through `aggdraw` on Pillow images: fills, strokes, road
casings, dashes and hatches as `planfuse.services.maps.styles` gives them, facility symbols
by shape.
Everything runs locally — no fonts, tiles or services are fetched. Geometry arrives in
pixel coordinates (x right, y down).

AGG blends RGBA without premultiplying, which over a transparent (black) canvas amounts to
premultiplied compositing, so the canvas is read back as premultiplied ("RGBa") and
converted — overlapping translucent fills then come out as an "over" composite should.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import aggdraw
import numpy as np
import shapely
from PIL import Image, ImageDraw

from planfuse.services.maps.labels import label_font
from planfuse.services.maps.styles import Colour, colour

HATCH_SPACING_PX = 8
POINT_RADIUS_PX = 8
#: A facility symbol's glyph (学, 医, …): white, as the widget writes it (bold 9 px there;
#: the CJK font here has no bold, so one pixel larger).
GLYPH_PX = 10
GLYPH_COLOUR = (255, 255, 255, 255)


class Canvas:
    """An RGBA map image being drawn; `image()` returns the finished picture."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        self._draw = aggdraw.Draw(self._image)
        self._draw.setantialias(True)
        # Pens and brushes by colour (and width): a map of many features has few styles.
        self._brushes: dict[str | None, aggdraw.Brush | None] = {}
        self._pens: dict[tuple[str | None, float], aggdraw.Pen | None] = {}
        #: Symbols' glyphs (text, x, y), written over the finished picture.
        self._glyphs: list[tuple[str, float, float]] = []

    def image(self, background: Colour | None = None) -> Image.Image:
        self._draw.flush()
        picture = Image.frombytes("RGBa", self._image.size, self._image.tobytes()).convert("RGBA")
        self._write_glyphs(picture)
        if background is None:
            return picture
        base = Image.new("RGBA", picture.size, background)
        return Image.alpha_composite(base, picture)

    def premultiplied(self) -> Image.Image:
        """The picture as drawn so far, premultiplied ("RGBa")."""
        self._draw.flush()
        return Image.frombytes("RGBa", self._image.size, self._image.tobytes())

    def paste_premultiplied(self, pixels: np.ndarray) -> None:
        """Composite premultiplied RGBA pixels (height, width, 4) over what is drawn."""
        self._draw.flush()
        below = np.asarray(self._image, dtype=np.uint16)
        above = pixels.astype(np.uint16)
        # "over" on premultiplied values: above + below × (1 − above's alpha), rounded.
        out = above + (below * (255 - above[..., 3:4]) + 127) // 255
        self._image = Image.fromarray(np.minimum(out, 255).astype(np.uint8), "RGBA")
        self._draw = aggdraw.Draw(self._image)
        self._draw.setantialias(True)

    # --- primitives ------------------------------------------------------------------------

    def _pen(self, spec_colour: str | None, width: float) -> aggdraw.Pen | None:
        key = (spec_colour, width)
        if key in self._pens:
            return self._pens[key]
        rgba = colour(spec_colour)
        pen = None if rgba is None or width <= 0 else aggdraw.Pen(rgba[:3], width, rgba[3])
        self._pens[key] = pen
        return pen

    def _brush(self, spec_colour: str | None) -> aggdraw.Brush | None:
        if spec_colour in self._brushes:
            return self._brushes[spec_colour]
        rgba = colour(spec_colour)
        brush = None if rgba is None else aggdraw.Brush(rgba[:3], rgba[3])
        self._brushes[spec_colour] = brush
        return brush

    def dot(self, x: float, y: float, style: dict[str, Any]) -> None:
        """A feature smaller than a pixel: the pixel it lies in, in its fill colour (its
        stroke's when it has no fill). Dense small parcels at city scale then read as the
        colour of their class instead of vanishing or costing an outline each."""
        brush = self._brush(style.get("fill") or style.get("stroke"))
        if brush is not None:
            px, py = math.floor(x), math.floor(y)
            self._draw.rectangle((px, py, px + 1, py + 1), None, brush)

    def polygon(
        self, polygon: shapely.Polygon, style: dict[str, Any], ring: np.ndarray | None = None
    ) -> None:
        """`ring`: the polygon's coordinates when the caller knows it has no holes."""
        if ring is None and not shapely.get_num_interior_rings(polygon):
            # A polygon without holes: one array of its ring for the fill and the stroke.
            ring = shapely.get_coordinates(polygon)
        brush = self._brush(style.get("fill"))
        if brush is not None:
            path = aggdraw.Path()
            if ring is not None:
                _subpath(path, ring)  # a lone ring fills alike in either direction
            else:
                # Exterior and holes wound oppositely: AGG's non-zero rule leaves the holes
                # empty.
                oriented = shapely.geometry.polygon.orient(polygon, 1.0)
                for part in (oriented.exterior, *oriented.interiors):
                    _subpath(path, np.asarray(part.coords))
            self._draw.path(path, brush)
        if style.get("hatch"):
            self._hatch(polygon, style)
        if style.get("stroke"):
            if ring is not None:
                self.line(ring, style)
            else:
                for part in (polygon.exterior, *polygon.interiors):
                    self.line(np.asarray(part.coords), style)

    def line(self, coords: np.ndarray, style: dict[str, Any]) -> None:
        casing = style.get("casing")
        if casing:
            self._polyline(coords, self._pen(casing["color"], casing["width"]), None)
        pen = self._pen(style.get("stroke"), float(style.get("width") or 1))
        self._polyline(coords, pen, style.get("dash"))

    def _polyline(self, coords: np.ndarray, pen: aggdraw.Pen | None, dash: Sequence[float] | None):
        if pen is None or len(coords) < 2:
            return
        for piece in _dashes(coords, dash) if dash else (coords,):
            if len(piece) >= 2:
                self._draw.line(piece[:, :2].ravel().tolist(), pen)

    def point(self, x: float, y: float, style: dict[str, Any]) -> None:
        point = style.get("point") or {}
        radius = float(point.get("radius") or POINT_RADIUS_PX)
        brush = self._brush(point.get("fill") or style.get("fill") or "#616161")
        pen = self._pen(point.get("stroke") or "#FFFFFF", 1.5)
        shape = point.get("shape") or "circle"
        self._glyph(point, x, y)
        if shape == "circle":
            self._draw.ellipse((x - radius, y - radius, x + radius, y + radius), pen, brush)
            return
        sides, start = {
            "triangle": (3, -90.0),
            "square": (4, 45.0),
            "diamond": (4, 0.0),
            "pentagon": (5, -90.0),
            "hexagon": (6, 0.0),
        }.get(shape, (4, 45.0))
        vertices = []
        for i in range(sides):
            angle = math.radians(start + 360.0 * i / sides)
            vertices += [x + radius * math.cos(angle), y + radius * math.sin(angle)]
        self._draw.polygon(vertices, pen, brush)

    def _glyph(self, point: dict[str, Any], x: float, y: float) -> None:
        if point.get("glyph"):
            self._glyphs.append((str(point["glyph"]), x, y))

    def _write_glyphs(self, picture: Image.Image) -> None:
        if not self._glyphs:
            return
        font, has_cjk = label_font(GLYPH_PX)
        if not has_cjk:
            return  # a box in place of 学 says less than the symbol alone
        draw = ImageDraw.Draw(picture)
        for text, x, y in self._glyphs:
            draw.text((x, y), text, font=font, fill=GLYPH_COLOUR, anchor="mm")

    def _hatch(self, polygon: shapely.Polygon, style: dict[str, Any]) -> None:
        kind = style["hatch"]
        pen = self._pen(style.get("stroke") or "#757575", 1.0)
        minx, miny, maxx, maxy = polygon.bounds
        if kind == "dots":
            xs = np.arange(math.floor(minx / HATCH_SPACING_PX), math.ceil(maxx / HATCH_SPACING_PX))
            ys = np.arange(math.floor(miny / HATCH_SPACING_PX), math.ceil(maxy / HATCH_SPACING_PX))
            gx, gy = np.meshgrid(xs * HATCH_SPACING_PX, ys * HATCH_SPACING_PX)
            inside = shapely.contains_xy(polygon, gx.ravel(), gy.ravel())
            brush = self._brush(style.get("stroke") or "#757575")
            for px, py in zip(gx.ravel()[inside], gy.ravel()[inside], strict=True):
                self._draw.ellipse((px - 1, py - 1, px + 1, py + 1), None, brush)
            return
        lines = []
        span = (maxx - minx) + (maxy - miny)
        s = HATCH_SPACING_PX
        if kind in ("horizontal", "cross"):
            lines += [((minx, y), (maxx, y)) for y in np.arange(math.floor(miny / s) * s, maxy, s)]
        if kind in ("vertical", "cross"):
            lines += [((x, miny), (x, maxy)) for x in np.arange(math.floor(minx / s) * s, maxx, s)]
        if kind == "diagonal":
            start = math.floor((minx - maxy) / s) * s
            lines += [
                ((c + miny, miny), (c + maxy, maxy)) for c in np.arange(start, maxx - miny, s)
            ]
        if not lines or span <= 0:
            return
        clipped = shapely.intersection(shapely.linestrings(lines), polygon)
        for part in shapely.get_parts(clipped):
            if part.geom_type == "LineString":
                self._polyline(np.asarray(part.coords), pen, None)

    def feature(self, geom: shapely.Geometry, style: dict[str, Any]) -> None:
        """Draw a geometry (pixel coordinates) of any type with `style`."""
        for part in shapely.get_parts(geom):
            kind = part.geom_type
            if kind == "Polygon":
                self.polygon(part, style)
            elif kind == "LineString":
                self.line(np.asarray(part.coords), style)
            elif kind == "Point":
                self.point(part.x, part.y, style)
            elif kind == "LinearRing":
                self.line(np.asarray(part.coords), style)
            else:  # a nested collection
                self.feature(part, style)


def _subpath(path: aggdraw.Path, coords: np.ndarray) -> None:
    # Point by point: aggdraw's Path.polygon rasterises a hair differently.
    path.moveto(float(coords[0, 0]), float(coords[0, 1]))
    for x, y in coords[1:, :2].tolist():
        path.lineto(x, y)
    path.close()


def _dashes(coords: np.ndarray, pattern: Sequence[float]) -> Iterable[np.ndarray]:
    """The "on" pieces of a polyline for a dash pattern in pixels (on, off, on, off…)."""
    pattern = [float(p) for p in pattern if p > 0]
    if not pattern or len(pattern) % 2:
        pattern = pattern * 2
    if not pattern:
        yield coords
        return
    pts = coords[:, :2]
    seg = np.hypot(*np.diff(pts, axis=0).T)
    total = float(seg.sum())
    if total == 0:
        return
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    position, index = 0.0, 0
    while position < total:
        length = pattern[index % len(pattern)]
        end = min(position + length, total)
        if index % 2 == 0:
            inner = pts[(cum > position) & (cum < end)]
            a = _at(pts, cum, position)
            b = _at(pts, cum, end)
            yield np.vstack([a, inner, b])
        position = end
        index += 1


def _at(pts: np.ndarray, cum: np.ndarray, distance: float) -> np.ndarray:
    i = int(np.clip(np.searchsorted(cum, distance, side="right") - 1, 0, len(pts) - 2))
    span = cum[i + 1] - cum[i]
    t = 0.0 if span == 0 else (distance - cum[i]) / span
    return pts[i] + (pts[i + 1] - pts[i]) * t
