"""A supported coordinate reference system (CRSInfo), the storage CRS and the datum names."""

from __future__ import annotations

from dataclasses import dataclass

from planfuse.geo import offsets

STORAGE_CRS_KEY = "EPSG:4490"

# Datum names used in CRSInfo.datum and as keys of the datum-shift configuration.
CGCS2000 = "CGCS2000"
WGS84 = "WGS84"
XIAN1980 = "Xian1980"
BEIJING1954 = "Beijing1954"
# Datums that need configured Helmert parameters to reach CGCS2000.
SHIFTED_DATUMS = (XIAN1980, BEIJING1954)
# CGCS2000 and WGS 84 are treated as the same frame (see the module docstring).
HUB_DATUMS = frozenset({CGCS2000, WGS84})

GCJ02_KEY = "GCJ-02"
BD09_KEY = "BD-09"
CRS84_KEY = "OGC:CRS84"

# Longest CRS string accepted; the longest real spelling (an http URI) is ~50 characters.
MAX_CRS_NAME_LENGTH = 200
# Longest .prj text accepted (real ones are under 1 KB).
MAX_PRJ_LENGTH = 20_000

# China as the GCJ-02 algorithm bounds it (degrees: west, south, east, north). Used as the
# area of use of the offset CRSs and as the latitude range of the Gauss–Krüger zone checks;
# it contains all Chinese territory including the South China Sea islands.
CHINA_BOUNDS_DEG = offsets.CHINA_BOX


# GRS80 / CGCS2000 ellipsoid (CGCS2000 uses GRS80's a and 1/f; only GM and ω differ).
GRS80_A_M = 6378137.0
GRS80_INV_F = 298.257222101


@dataclass(frozen=True)
class CRSInfo:
    """A supported coordinate reference system.

    ``key`` is canonical ("EPSG:4523", "OGC:CRS84", "GCJ-02", "BD-09"). ``kind`` is
    "geographic" (degrees), "projected" (metres) or "offset" (GCJ-02/BD-09 degrees).
    ``area_of_use`` is (west, south, east, north) in degrees as EPSG gives it.
    ``latlon_axis_order`` is True for geographic CRSs whose EPSG definition lists latitude
    first (EPSG:4490, 4326, 4610, 4214) — OGC API output must then swap; False for
    OGC:CRS84 and the web offsets. ``first_axis_north`` generalises this to projected CRSs
    (the EPSG Gauss–Krüger CRSs list northing X first, as Chinese surveying does).
    Internally every coordinate is (x=easting/longitude, y=northing/latitude).
    """

    key: str
    name: str
    kind: str
    uri: str
    gk_zone: int | None
    central_meridian: float | None
    zone_prefixed: bool
    area_of_use: tuple[float, float, float, float]
    latlon_axis_order: bool
    datum: str
    first_axis_north: bool = False

    @property
    def epsg(self) -> int | None:
        """The EPSG code, or None for OGC:CRS84, GCJ-02 and BD-09."""
        if self.key.startswith("EPSG:"):
            return int(self.key[5:])
        return None

    @property
    def is_geographic(self) -> bool:
        return self.kind == "geographic"

    @property
    def is_projected(self) -> bool:
        return self.kind == "projected"

    @property
    def is_offset(self) -> bool:
        return self.kind == "offset"

    @property
    def is_gauss_kruger(self) -> bool:
        return self.gk_zone is not None

    @property
    def degrees(self) -> bool:
        """True when coordinates are longitude/latitude degrees (geographic or offset)."""
        return self.kind != "projected"

    def __str__(self) -> str:
        return f"{self.key} ({self.name})"
