"""A small real dataset for the map tests, imported through the same service as any upload,
and the Web Mercator arithmetic the browser tests use to find features on the screen.

Every geometry is a square (or a line, or a point) at a known place near 解放碑, so a test
knows where on the map each feature must appear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import shapely
from layer_files import feature_collection, square, write_geojson

from planfuse.services.layers.importer import ImportOptions, import_layer

ORIGIN_M = 20037508.342789244
#: The name of one land-use parcel: markup that must show as text, never run.
HOSTILE_NAME = "<script>window.__pwned = 1</script><b>居住地块</b>"


@dataclass(frozen=True)
class Place:
    lon: float
    lat: float


# Where things are (EPSG:4490 lon/lat).
DISTRICT_A = Place(106.545, 29.560)  # half side 2500 m
DISTRICT_B = Place(106.640, 29.560)  # half side 2500 m (a gap of ~4.3 km between them)
FARMLAND = Place(106.530, 29.550)  # half side 600 m
LAND_USE_RESIDENTIAL = Place(106.560, 29.570)  # half side 450 m, code 0701, hostile name
LAND_USE_COMMERCIAL = Place(106.545, 29.545)  # half side 300 m, code 0901
CONTROL_BLUE = Place(106.635, 29.545)  # half side 300 m
SENSITIVE_RESTRICTED = Place(106.650, 29.575)  # half side 400 m, restricted layer
SCHOOL = Place(106.560, 29.555)
ROAD = ((106.520, 29.535), (106.660, 29.535))

LAYER_IDS = (
    "districts",
    "basic_farmland",
    "land_use_plan",
    "control_lines",
    "sensitive_zones",
    "roads",
    "facilities",
)


def _import(ctx, tmp: Path, layer_id: str, kind: str, geoms, props, **options) -> None:
    path = write_geojson(tmp / f"{layer_id}.geojson", feature_collection(geoms, props))
    import_layer(ctx, path, ImportOptions(layer_id=layer_id, kind=kind, crs="EPSG:4490", **options))


def load_map_dataset(ctx, tmp: Path) -> None:
    """Import the map test layers into `ctx` (districts first: other layers get their
    `district` from them)."""
    tmp.mkdir(parents=True, exist_ok=True)
    _import(
        ctx,
        tmp,
        "districts",
        "district",
        [
            square(DISTRICT_A.lon, DISTRICT_A.lat, 2500),
            square(DISTRICT_B.lon, DISTRICT_B.lat, 2500),
        ],
        [{"adcode": "500103", "name": "渝中区"}, {"adcode": "500105", "name": "江北区"}],
        name="行政区划",
        department="规划和自然资源局",
    )
    _import(
        ctx,
        tmp,
        "basic_farmland",
        "basic_farmland",
        [square(FARMLAND.lon, FARMLAND.lat, 600)],
        [{"DKBH": "JBNT-001"}],
        name="永久基本农田",
        department="规划和自然资源局",
    )
    _import(
        ctx,
        tmp,
        "land_use_plan",
        "land_use_plan",
        [
            square(LAND_USE_RESIDENTIAL.lon, LAND_USE_RESIDENTIAL.lat, 450),
            square(LAND_USE_COMMERCIAL.lon, LAND_USE_COMMERCIAL.lat, 300),
        ],
        [{"code": "0701", "name": HOSTILE_NAME}, {"code": "0901", "name": "商业地块"}],
        name="国土空间规划用地",
        department="规划和自然资源局",
    )
    _import(
        ctx,
        tmp,
        "control_lines",
        "control_line",
        [square(CONTROL_BLUE.lon, CONTROL_BLUE.lat, 300)],
        [{"type": "blue", "name": "嘉陵江蓝线"}],
        name="控制线",
        department="水利局",
    )
    _import(
        ctx,
        tmp,
        "sensitive_zones",
        "sensitive_zone",
        [square(SENSITIVE_RESTRICTED.lon, SENSITIVE_RESTRICTED.lat, 400)],
        [{"type": "geohazard", "level": "high", "name": "滑坡隐患点"}],
        name="敏感区（受限）",
        department="应急管理局",
        restricted=True,
    )
    _import(
        ctx,
        tmp,
        "roads",
        "road",
        [shapely.segmentize(shapely.LineString(ROAD), 0.001)],
        [{"class": "expressway", "name": "内环快速路"}],
        name="道路",
        department="交通局",
    )
    _import(
        ctx,
        tmp,
        "facilities",
        "facility",
        [shapely.Point(SCHOOL.lon, SCHOOL.lat)],
        [{"type": "school", "name": "巴蜀小学"}],
        name="公共设施",
        department="教委",
    )


# --- Web Mercator, as the map draws it --------------------------------------------------------


def mercator(lon: float, lat: float) -> tuple[float, float]:
    x = math.radians(lon) * 6378137.0
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * 6378137.0
    return x, y


def lonlat(x: float, y: float) -> tuple[float, float]:
    lon = math.degrees(x / 6378137.0)
    lat = math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)
    return lon, lat


def resolution(zoom: float) -> float:
    """Metres (EPSG:3857) per CSS pixel at `zoom` (256-pixel tiles)."""
    return 2 * ORIGIN_M / 256 / 2**zoom


@dataclass(frozen=True)
class Viewport:
    """A map showing `center` at `zoom` in a box of `width` × `height` CSS pixels whose
    top-left corner is at (`left`, `top`) on the page."""

    center: tuple[float, float]
    zoom: float
    left: float
    top: float
    width: float
    height: float

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        """Page coordinates of a lon/lat point."""
        cx, cy = mercator(*self.center)
        x, y = mercator(lon, lat)
        r = resolution(self.zoom)
        return (
            self.left + self.width / 2 + (x - cx) / r,
            self.top + self.height / 2 - (y - cy) / r,
        )

    def lonlat(self, px: float, py: float) -> tuple[float, float]:
        """The lon/lat under page coordinates (px, py)."""
        cx, cy = mercator(*self.center)
        r = resolution(self.zoom)
        return lonlat(
            cx + (px - self.left - self.width / 2) * r, cy - (py - self.top - self.height / 2) * r
        )

    def canvas_pixel(self, lon: float, lat: float) -> tuple[int, int]:
        """Pixel of a lon/lat point inside the map box (for reading canvas pixels)."""
        px, py = self.pixel(lon, lat)
        return round(px - self.left), round(py - self.top)
