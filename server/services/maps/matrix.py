"""The tile matrix sets tiles are cut in (OGC Two Dimensional Tile Matrix Set 2.0), for WMTS
and OGC API – Tiles alike.

* **WebMercatorQuad** — EPSG:3857, one 256-pixel tile at zoom 0 (Google Maps compatible);
  its tiles are exactly the XYZ tiles of `/tiles` (TileRow = y, TileCol = x).
* **CGCS2000Quad** — EPSG:4490 longitude/latitude degrees on CGCS2000, laid out like
  WorldCRS84Quad: two 256-pixel tiles of 180° at zoom 0, origin at 90° N, 180° W.

The definitions come from `morecantile` (the documents the APIs serve); the bounds of a tile
are computed here directly so that WebMercatorQuad tiles are bit-for-bit the `/tiles` ones.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import morecantile
import numpy as np
import pyproj

from planfuse.errors import InvalidInput
from planfuse.services.maps.vector import (
    CGCS2000,
    DETAIL_ZOOM,
    MAX_ZOOM,
    MERCATOR,
    ORIGIN_M,
    Bounds,
    lonlat_to_mercator,
    tile_bounds,
)

_NUMBER = re.compile(r"^[0-9]{1,8}$")
TILE_SIZE = 256
#: Tiles are answered up to these zooms (about 0.04 m per pixel in both).
CGCS2000_MAX_ZOOM = MAX_ZOOM - 1


class TileOutOfRange(InvalidInput):
    """A tile matrix, row or column that the tile matrix set does not have."""

    default_code = "tile_out_of_range"


@dataclass(frozen=True)
class TileGrid:
    """One tile matrix set: its id, CRS (`crs` as the geo core names it, `crs_uri`,
    `crs_urn`), zoom range, and whether its CRS lists latitude first."""

    id: str
    title: str
    crs: str
    crs_uri: str
    crs_urn: str
    max_zoom: int
    lat_first: bool
    well_known_scale_set: str | None

    @property
    def tms(self) -> morecantile.TileMatrixSet:
        return _morecantile(self.id)

    def matrix_size(self, z: int) -> tuple[int, int]:
        """(matrixWidth, matrixHeight) at zoom `z`."""
        if self.crs == CGCS2000:
            return 2 << z, 1 << z
        return 1 << z, 1 << z

    def tile_span(self, z: int) -> float:
        """A tile's width (= height) in the grid CRS's units at zoom `z`."""
        return (180.0 if self.crs == CGCS2000 else 2 * ORIGIN_M) / (1 << z)

    def bounds(self, z: int, row: int, col: int) -> Bounds:
        """A tile's bounds in the grid CRS, easting (longitude) first."""
        if self.crs == MERCATOR:
            return tile_bounds(z, col, row)
        size = self.tile_span(z)
        west = -180.0 + col * size
        north = 90.0 - row * size
        return west, north - size, west + size, north

    def detail(self, z: int) -> bool:
        """Whether a tile at `z` keeps features smaller than a pixel (the vector tiles'
        detail zoom, at the same tile size: CGCS2000Quad's tiles are half as wide)."""
        return z >= (DETAIL_ZOOM if self.crs == MERCATOR else DETAIL_ZOOM - 1)

    def parse(
        self, z: str, row: str, col: str, names: tuple[str, str, str]
    ) -> tuple[int, int, int]:
        """Checked (zoom, row, column) from the request's text; `names` are the request's
        names of the three (e.g. TileMatrix, TileRow, TileCol). Else `TileOutOfRange`."""
        values = []
        for name, text in zip(names, (z, row, col), strict=True):
            if not _NUMBER.match(text.strip()):
                raise TileOutOfRange(f"{name} {text[:16]!r} is not a whole number", field=name)
            values.append(int(text.strip()))
        zi, ri, ci = values
        if zi > self.max_zoom:
            raise TileOutOfRange(
                f"{names[0]} {zi} is out of range; {self.id} has tile matrices 0–{self.max_zoom}",
                field=names[0],
            )
        width, height = self.matrix_size(zi)
        if ri >= height:
            raise TileOutOfRange(
                f"{names[1]} {ri} is out of range; tile matrix {zi} of {self.id} has rows "
                f"0–{height - 1}",
                field=names[1],
            )
        if ci >= width:
            raise TileOutOfRange(
                f"{names[2]} {ci} is out of range; tile matrix {zi} of {self.id} has columns "
                f"0–{width - 1}",
                field=names[2],
            )
        return zi, ri, ci

    def limits(self, bbox: Bounds, z: int) -> tuple[int, int, int, int]:
        """(min row, max row, min column, max column) of the tiles at zoom `z` that a
        longitude/latitude box (EPSG:4490) meets."""
        west, south, east, north = bbox
        if self.crs == MERCATOR:
            lat = np.clip([south, north], -85.05112878, 85.05112878)
            xs, ys = lonlat_to_mercator(np.array([west, east]), lat)
            x0, x1, y0, y1 = xs[0] + ORIGIN_M, xs[1] + ORIGIN_M, ORIGIN_M - ys[1], ORIGIN_M - ys[0]
        else:
            x0, x1, y0, y1 = west + 180.0, east + 180.0, 90.0 - north, 90.0 - south
        size = self.tile_span(z)
        width, height = self.matrix_size(z)

        def cell(v: float, n: int) -> int:
            return int(min(max(math.floor(v / size), 0), n - 1))

        return cell(y0, height), cell(y1, height), cell(x0, width), cell(x1, width)

    def document(self) -> dict[str, Any]:
        """The OGC TMS 2.0 JSON document of the set (the matrices this server answers)."""
        document = self.tms.model_dump(exclude_none=True, mode="json")
        document["tileMatrices"] = document["tileMatrices"][: self.max_zoom + 1]
        document.setdefault("orderedAxes", ["Lat", "Lon"] if self.lat_first else ["X", "Y"])
        return document


GRIDS: dict[str, TileGrid] = {
    "WebMercatorQuad": TileGrid(
        "WebMercatorQuad",
        "Google Maps Compatible for the World (Web Mercator)",
        MERCATOR,
        "http://www.opengis.net/def/crs/EPSG/0/3857",
        "urn:ogc:def:crs:EPSG::3857",
        MAX_ZOOM,
        False,
        "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible",
    ),
    "CGCS2000Quad": TileGrid(
        "CGCS2000Quad",
        "CGCS2000 geographic quad (EPSG:4490, as WorldCRS84Quad) 国家2000经纬度分块",
        CGCS2000,
        "http://www.opengis.net/def/crs/EPSG/0/4490",
        "urn:ogc:def:crs:EPSG::4490",
        CGCS2000_MAX_ZOOM,
        True,
        None,
    ),
}


def find_grid(grid_id: str) -> TileGrid | None:
    """The tile matrix set `grid_id` (exact id, or any case), or None."""
    grid = GRIDS.get(grid_id)
    if grid is None:
        grid = next((g for g in GRIDS.values() if g.id.lower() == grid_id.strip().lower()), None)
    return grid


@functools.cache
def _morecantile(grid_id: str) -> morecantile.TileMatrixSet:
    grid = GRIDS[grid_id]
    if grid.crs == MERCATOR:
        return morecantile.tms.get("WebMercatorQuad")
    return morecantile.TileMatrixSet.custom(
        [-180.0, -90.0, 180.0, 90.0],
        pyproj.CRS.from_epsg(4490),
        matrix_scale=[2, 1],
        minzoom=0,
        maxzoom=grid.max_zoom,
        id=grid.id,
        title=grid.title,
    )
