"""Feature names on a raster map, written as the map widget writes them (WMS GetMap, the
ArcGIS MapServer's export, map tiles).

A layer kind whose style names a `label` attribute (the districts: `name`) gets that value
written at an interior point of each feature: 13 px, dark grey on a white halo, from about
zoom 9 on (the widget's `DISTRICT_LABEL_MAX_RESOLUTION`). A label is written only where it
fits: inside the picture, no wider than its feature there, and not over a label already
written (larger features first) — the widget's decluttering. On a map the name goes in the
part of the feature in view, as in the widget. On tiles it goes in the whole feature, whose
interior point is the same in every tile, so a name is written once, in the tile that
holds all of it (a name crossing a tile edge is left out rather than cut or repeated).

Names are Chinese first and need a font with CJK glyphs: the first of `CJK_FONTS` found
(`./bootstrap` installs Debian's fonts-wqy-microhei). Without one, only names the fallback
font can draw are written, never boxes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely
from PIL import Image, ImageDraw, ImageFont

CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
LABEL_PX = 13
LABEL_COLOUR = (0x33, 0x33, 0x33, 255)
HALO_COLOUR = (255, 255, 255, 230)
HALO_PX = 2
#: Labels are written from this map resolution on (Web Mercator metres per pixel, about
#: zoom 9), as in the widget (widgets/common/map/layers.js).
MAX_RESOLUTION = 320.0
#: Free space kept around a label, in pixels.
MARGIN_PX = 2
METRES_PER_DEGREE = 111_320.0


@functools.cache
def label_font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """(a font at `size` px, whether it has CJK glyphs)."""
    for path in CJK_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size), False


def mercator_resolution(
    box: tuple[float, float, float, float],
    width: int,
    *,
    degrees: bool,
    mercator: bool,
    latitude: float,
) -> float:
    """The Web Mercator resolution (its metres per pixel) a map of `box` (easting first: in
    degrees, Web Mercator metres, or ground metres of another projection) `width` pixels
    wide is drawn at, around `latitude`: what the widget's zoom rules compare with."""
    per_pixel = (box[2] - box[0]) / width
    if degrees:
        return per_pixel * METRES_PER_DEGREE
    if mercator:
        return per_pixel
    return per_pixel / max(math.cos(math.radians(latitude)), 1e-6)


@dataclass(frozen=True)
class Label:
    """A name to write, over the feature it names (in pixels, x right, y down)."""

    text: str
    shape: shapely.Geometry


def place_labels(
    labels: Sequence[Label],
    width: int,
    height: int,
    *,
    size: int = LABEL_PX,
    visible_part: bool = True,
) -> list[tuple[str, tuple[float, float]]]:
    """(text, centre) of each label that fits, larger features first: inside the picture,
    no wider than its feature, clear of the labels placed before it. `visible_part`: the
    name goes in the part of the feature in the picture (a map); else in the whole feature,
    so that every tile of a tiled map puts it at the same place."""
    font, cjk = label_font(size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    frame = shapely.box(0, 0, width, height)
    shapes = [
        shapely.intersection(label.shape, frame) if visible_part else label.shape
        for label in labels
    ]
    order = sorted(zip(labels, shapes, strict=True), key=lambda pair: -shapely.area(pair[1]))
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for label, shape in order:
        text = label.text.strip()
        if not text or (not cjk and not text.isascii()) or shape.is_empty:
            continue
        point = shapely.point_on_surface(shape)
        if point.is_empty:
            continue
        x, y = point.x, point.y
        left, top, right, bottom = probe.textbbox(
            (x, y), text, font=font, anchor="mm", stroke_width=HALO_PX
        )
        fx0, _, fx1, _ = shape.bounds
        if right - left > fx1 - fx0:
            continue  # wider than its feature at this scale
        box = (left - MARGIN_PX, top - MARGIN_PX, right + MARGIN_PX, bottom + MARGIN_PX)
        if box[0] < 0 or box[1] < 0 or box[2] > width or box[3] > height:
            continue
        if any(_overlap(box, other) for other in placed):
            continue
        placed.append(box)
        out.append((text, (x, y)))
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def write_labels(
    image: Image.Image, placed: Sequence[tuple[str, tuple[float, float]]], *, size: int = LABEL_PX
) -> None:
    """Write `placed` (from `place_labels`) onto `image`, dark on a white halo."""
    if not placed:
        return
    font, _ = label_font(size)
    draw = ImageDraw.Draw(image)
    for text, (x, y) in placed:
        draw.text(
            (x, y),
            text,
            font=font,
            fill=LABEL_COLOUR,
            anchor="mm",
            stroke_width=HALO_PX,
            stroke_fill=HALO_COLOUR,
        )
