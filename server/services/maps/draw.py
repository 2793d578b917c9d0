"""A raster map of layers in a box of an offered CRS, drawn with the map widget's styles.

WMS GetMap, the ArcGIS MapServer's export, WMTS and OGC API – Tiles map tiles all draw
here: the features meeting the box are read (`query_features`), projected, turned into
pixels and painted bottom layer first (`planfuse.services.maps.render`).
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Sequence

import numpy as np
import shapely
from PIL import Image

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.crs import CRSInfo, resolve_crs
from planfuse.services.features.crs import storage_box, to_output
from planfuse.services.features.layers import CollectionRef
from planfuse.services.features.store import BBoxQuery, FeatureRow, query_features
from planfuse.services.maps import overview
from planfuse.services.maps.labels import MAX_RESOLUTION as LABEL_MAX_RESOLUTION
from planfuse.services.maps.labels import Label, mercator_resolution, place_labels, write_labels
from planfuse.services.maps.render import Canvas
from planfuse.services.maps.styles import kind_entry, style_for

#: Encodings maps are offered in, by media type (Pillow's format names).
IMAGE_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}
Box = tuple[float, float, float, float]
Colour = tuple[int, int, int, int]
WHITE: Colour = (255, 255, 255, 255)


@dataclasses.dataclass(frozen=True)
class MapFrame:
    """A map to draw: its CRS, its box easting first (x0, y0, x1, y1) and pixel size."""

    info: CRSInfo
    box: Box
    width: int
    height: int

    def easting_first(self) -> CRSInfo:
        return dataclasses.replace(self.info, first_axis_north=False)

    def to_pixels(self, geoms: Sequence[shapely.Geometry]) -> object:
        x0, y0, x1, y1 = self.box
        sx, sy = self.width / (x1 - x0), self.height / (y1 - y0)
        return shapely.transform(list(geoms), lambda c: (c - [x0, y1]) * [sx, -sy], include_z=False)

    def query_box(self, box: Box | None = None, pad_px: float = 0.0) -> BBoxQuery:
        """The storage query of `box` (default: the map's), easting first in the map's CRS,
        widened by `pad_px` pixels on every side."""
        x0, y0, x1, y1 = box or self.box
        if pad_px:
            dx = (self.box[2] - self.box[0]) / self.width * pad_px
            dy = (self.box[3] - self.box[1]) / self.height * pad_px
            x0, y0, x1, y1 = x0 - dx, y0 - dy, x1 + dx, y1 + dy
            if self.info.degrees:
                x0, y0, x1, y1 = max(x0, -180.0), max(y0, -90.0), min(x1, 180.0), min(y1, 90.0)
        return BBoxQuery.from_geometry(*storage_box((x0, y0, x1, y1), self.easting_first()))


class _StyleCache:
    """`style_for` of a layer kind, once per distinct value of the attributes it reads
    (the class attribute and `level`): a map of many features has few classes."""

    def __init__(self, kind: str):
        self.kind = kind
        match = kind_entry(kind).get("match") or {}
        self.attr = match.get("attr")
        self.cache: dict[tuple[object, object], dict] = {}

    def get(self, row: FeatureRow) -> dict:
        props = row.properties
        key = (props.get(self.attr) if self.attr else None, props.get("level"))
        style = self.cache.get(key)
        if style is None:
            full = dict(props)
            if row.district is not None:
                full.setdefault("district", row.district)
            style = self.cache[key] = style_for(self.kind, full)
        return style


def read_layer(
    ctx: PlanFuse, ref: CollectionRef, query: BBoxQuery, limit: int
) -> tuple[int, list[FeatureRow]]:
    """(how many features of the layer's current version meet `query`, the first `limit`)."""
    return query_features(
        ctx, ref.id, ref.version, ref.feature_count, filters={}, bbox=query, offset=0, limit=limit
    )


def draw_map(
    ctx: PlanFuse,
    refs: Sequence[CollectionRef],
    frame: MapFrame,
    fmt: str,
    transparent: bool,
    background: Colour = WHITE,
    *,
    pad_px: float = 0.0,
) -> bytes:
    """The map of `refs` (the first at the bottom) in `frame`, encoded as `fmt` (a key of
    `IMAGE_FORMATS`; access already checked). A map that would draw more than
    `wms_max_features` features is refused (InvalidInput on `BBOX`), unless they are drawn
    from the layer's overview (`planfuse.services.maps.overview`). `pad_px`: also draw
    the features up to that many pixels outside (tiles: strokes and symbols continue
    across tile edges)."""
    query = frame.query_box(pad_px=pad_px)
    budget = ctx.settings.wms_max_features
    labelled = _labels_shown(frame, query)
    drawn: list[tuple[CollectionRef, list[FeatureRow] | Image.Image]] = []
    for ref in refs:
        if overview.usable(ref, frame.info, frame.box, frame.width, frame.height, labelled):
            # A coarse map of a large layer: its overview, once built.
            image = overview.overview(ctx, ref, functools.partial(paint_overview, ctx))
            if image is not None:
                drawn.append((ref, image))
                continue
        matched, rows = read_layer(ctx, ref, query, budget + 1)
        if matched > budget:
            raise InvalidInput(
                f"this map would draw {matched} features of {ref.id}, more than the "
                f"{budget} one map draws; zoom in or choose fewer layers",
                field="BBOX",
            )
        budget -= matched
        drawn.append((ref, rows))
    canvas = Canvas(frame.width, frame.height)
    labels: list[Label] = []
    for ref, rows in drawn:
        if isinstance(rows, Image.Image):
            part = overview.draw(rows, ref, frame.box, frame.width, frame.height)
            if part is not None:
                canvas.paste_premultiplied(part)
        elif rows:
            paint_rows(canvas, frame, ref.kind, rows, labels if labelled else None)
    image = canvas.image(None if transparent and fmt != "image/jpeg" else background)
    # A tile (drawn with a margin) names each feature where every tile would: the whole
    # feature's interior point; a map names the part in view.
    placed = place_labels(labels, frame.width, frame.height, visible_part=pad_px == 0)
    write_labels(image, placed)
    return encode_image(image, fmt)


#: Features read and drawn per batch while an overview is built.
OVERVIEW_BATCH = 50_000


def paint_overview(
    ctx: PlanFuse, ref: CollectionRef, box: Box, width: int, height: int
) -> Image.Image:
    """Every feature of `ref`'s current version drawn over `box` (storage coordinates) at
    `width`×`height` pixels, as a map draws them: a layer's map overview, premultiplied."""
    frame = MapFrame(resolve_crs("EPSG:4490"), box, width, height)
    canvas = Canvas(width, height)
    for offset in range(0, ref.feature_count, OVERVIEW_BATCH):
        _, rows = query_features(
            ctx,
            ref.id,
            ref.version,
            ref.feature_count,
            filters={},
            bbox=None,
            offset=offset,
            limit=OVERVIEW_BATCH,
        )
        paint_rows(canvas, frame, ref.kind, rows, None)
    return canvas.premultiplied()


def paint_rows(
    canvas: Canvas,
    frame: MapFrame,
    kind: str,
    rows: Sequence[FeatureRow],
    labels: list[Label] | None,
) -> None:
    """Draw features of a layer of `kind` onto `canvas` (pixels of `frame`), in order;
    with `labels`, also collect the names to write there."""
    east_info = frame.easting_first()
    # Half a pixel in map units: coordinates closer than that draw alike.
    tolerance = 0.5
    geoms = to_output(shapely.from_wkb([r.geom for r in rows]), east_info)
    pixels = frame.to_pixels(geoms)
    # Lines and polygons smaller than a pixel both ways are drawn as that pixel (a city
    # map of a million parcels would otherwise outline each one); the rest simplified
    # to half a pixel.
    bounds = shapely.bounds(pixels)
    tiny = ((bounds[:, 2] - bounds[:, 0]) < 1.0) & ((bounds[:, 3] - bounds[:, 1]) < 1.0)
    tiny &= shapely.get_type_id(pixels) != 0  # points keep their symbols
    big = ~tiny
    pixels[big] = shapely.simplify(pixels[big], tolerance, preserve_topology=True)
    # Plain polygons (most features of a planning layer) go straight to the painter, those
    # without holes with their rings taken out all at once.
    plain = big & (shapely.get_type_id(pixels) == 3) & ~shapely.is_empty(pixels)
    simple = plain & (shapely.get_num_interior_rings(pixels) == 0)
    coords, owner = shapely.get_coordinates(pixels[simple], return_index=True)
    rings = np.split(coords, np.searchsorted(owner, np.arange(1, int(simple.sum()))))
    ring_of = np.cumsum(simple) - 1
    styles = _StyleCache(kind)
    for i, (row, geom) in enumerate(zip(rows, pixels, strict=True)):
        style = styles.get(row)
        if tiny[i]:
            canvas.dot((bounds[i, 0] + bounds[i, 2]) / 2, (bounds[i, 1] + bounds[i, 3]) / 2, style)
        else:
            if simple[i]:
                canvas.polygon(geom, style, rings[ring_of[i]])
            elif plain[i]:
                canvas.polygon(geom, style)
            else:
                canvas.feature(geom, style)
            text = row.properties.get(style["label"]) if style.get("label") else None
            if labels is not None and text is not None:
                labels.append(Label(str(text), geom))


def _labels_shown(frame: MapFrame, query: BBoxQuery) -> bool:
    """Whether the map is drawn at a scale the widget writes names at (about zoom 9 on)."""
    latitude = (query.outer[1] + query.outer[3]) / 2
    resolution = mercator_resolution(
        frame.box,
        frame.width,
        degrees=frame.info.degrees,
        mercator=frame.info.key == "EPSG:3857",
        latitude=latitude,
    )
    return resolution <= LABEL_MAX_RESOLUTION


def encode_image(image, fmt: str) -> bytes:
    """A Pillow image as `fmt` bytes (PNG fast-compressed, JPEG q88, WebP lossless)."""
    out = io.BytesIO()
    if fmt == "image/jpeg":
        image.convert("RGB").save(out, "JPEG", quality=88)
    elif fmt == "image/webp":
        image.save(out, "WEBP", lossless=True)
    else:
        image.save(out, "PNG", compress_level=1)
    return out.getvalue()
