"""The real base of the demo: Chongqing's 38 districts, their seats, the big rivers, and the
smooth fields (urban intensity, terrain) the synthetic layers are drawn from.

Everything is computed in the working CRS (:data:`WORK_CRS`, metres, equal-area), from the
district file converted GCJ-02 → CGCS2000 with the geo core's own transformation — the same
one the import applies to the file — so generated features sit inside the districts exactly
as they are stored.
"""

from __future__ import annotations

import functools
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from planfuse.geo.crs import AREA_CRS_DEFAULT, GCJ02_KEY, STORAGE_CRS_KEY, transform_geometry
from planfuse.geo.measure import work_projection

DATA_DIR = Path(__file__).resolve().parent / "data"
DISTRICTS_FILE = DATA_DIR / "chongqing-districts.geojson"

# The generator works in the default working CRS whatever the instance is configured with:
# the files must not depend on configuration, and the CRS is equal-area, so the planted
# figures (areas) hold in any equal-area working CRS.
WORK_CRS = AREA_CRS_DEFAULT

# Seats of the district governments (CGCS2000 lon/lat, approximate to ~1 km) and the radius
# in metres of the built-up area the urban development boundary is drawn around. The main
# city (主城) districts get large radii; their blobs merge across district lines.
SEATS: dict[str, tuple[float, float, float]] = {
    "500101": (108.380, 30.807, 5000),  # 万州
    "500102": (107.390, 29.703, 4000),  # 涪陵
    "500103": (106.569, 29.553, 3000),  # 渝中
    "500104": (106.482, 29.470, 3500),  # 大渡口
    "500105": (106.574, 29.606, 4500),  # 江北
    "500106": (106.440, 29.560, 4500),  # 沙坪坝
    "500107": (106.500, 29.500, 4500),  # 九龙坡
    "500108": (106.590, 29.520, 4500),  # 南岸
    "500109": (106.400, 29.810, 3500),  # 北碚
    "500110": (106.651, 29.028, 3000),  # 綦江
    "500111": (105.722, 29.707, 3000),  # 大足
    "500112": (106.631, 29.718, 6000),  # 渝北
    "500113": (106.540, 29.402, 4500),  # 巴南
    "500114": (108.771, 29.533, 2500),  # 黔江
    "500115": (107.081, 29.857, 3500),  # 长寿
    "500116": (106.259, 29.290, 3500),  # 江津
    "500117": (106.276, 29.972, 3500),  # 合川
    "500118": (105.927, 29.356, 3500),  # 永川
    "500119": (107.099, 29.157, 3000),  # 南川
    "500120": (106.227, 29.592, 3500),  # 璧山
    "500151": (106.056, 29.845, 3000),  # 铜梁
    "500152": (105.840, 30.191, 2500),  # 潼南
    "500153": (105.594, 29.405, 3000),  # 荣昌
    "500154": (108.393, 31.161, 3000),  # 开州
    "500155": (107.800, 30.674, 2500),  # 梁平
    "500156": (107.760, 29.325, 2000),  # 武隆
    "500229": (108.665, 31.948, 1500),  # 城口
    "500230": (107.731, 29.864, 2000),  # 丰都
    "500231": (107.333, 30.327, 2500),  # 垫江
    "500233": (108.038, 30.300, 2000),  # 忠县
    "500235": (108.697, 30.931, 2000),  # 云阳
    "500236": (109.464, 31.018, 2000),  # 奉节
    "500237": (109.879, 31.075, 1500),  # 巫山
    "500238": (109.631, 31.398, 1500),  # 巫溪
    "500240": (108.114, 29.999, 1500),  # 石柱
    "500241": (108.989, 28.448, 2000),  # 秀山
    "500242": (108.767, 28.842, 1500),  # 酉阳
    "500243": (108.166, 29.294, 1500),  # 彭水
}

# The big rivers as coarse waypoints (CGCS2000 lon/lat) and their corridor width in metres.
# Meanders are added by the generator; these only fix which seats they pass.
RIVERS: dict[str, tuple[float, tuple[tuple[float, float], ...]]] = {
    "长江": (
        700.0,
        (
            (105.95, 28.99),
            (106.10, 29.05),
            (106.26, 29.28),
            (106.44, 29.43),
            (106.53, 29.54),
            (106.585, 29.565),
            (106.66, 29.60),
            (106.86, 29.66),
            (107.07, 29.82),
            (107.39, 29.72),
            (107.73, 29.88),
            (108.03, 30.29),
            (108.40, 30.80),
            (108.70, 30.93),
            (109.10, 31.00),
            (109.46, 31.03),
            (109.88, 31.08),
            (110.15, 31.04),
        ),
    ),
    "嘉陵江": (
        380.0,
        (
            (106.20, 30.36),
            (106.28, 29.98),
            (106.43, 29.83),
            (106.43, 29.70),
            (106.45, 29.58),
            (106.585, 29.565),
        ),
    ),
    "乌江": (
        320.0,
        (
            (108.40, 28.60),
            (108.17, 29.30),
            (107.76, 29.33),
            (107.55, 29.50),
            (107.39, 29.71),
        ),
    ),
    "涪江": (300.0, ((105.62, 30.43), (105.84, 30.19), (106.05, 30.08), (106.28, 29.98))),
}


@dataclass
class Districts:
    """The 38 districts in the working CRS, with lookups the generator needs."""

    adcodes: list[str]
    names: list[str]
    work: np.ndarray  # (Multi)Polygons in WORK_CRS metres
    storage: np.ndarray  # the same in EPSG:4490, as the import stores them
    tree: shapely.STRtree  # over `work`
    storage_tree: shapely.STRtree  # over `storage`
    boundary_tree: shapely.STRtree  # over short chunks of the district boundaries
    outline: BaseGeometry  # union of all districts (prepared)
    seats_xy: np.ndarray  # (38, 2) seat positions in WORK_CRS
    seat_radius_m: np.ndarray  # (38,)

    def index_of(self, adcode: str) -> int:
        return self.adcodes.index(adcode)

    def district_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the district containing each point, -1 outside Chongqing."""
        points = shapely.points(np.asarray(x), np.asarray(y))
        out = np.full(len(points), -1, dtype=np.int64)
        p_idx, d_idx = self.tree.query(points)
        inside = shapely.contains_properly(self.work[d_idx], points[p_idx])  # prepared
        p_idx, d_idx = p_idx[inside], d_idx[inside]
        # A point on a shared border lies in neither: keep the first hit of each point.
        order = np.argsort(p_idx, kind="stable")
        p_idx, d_idx = p_idx[order], d_idx[order]
        first = np.unique(p_idx, return_index=True)[1]
        out[p_idx[first]] = d_idx[first]
        return out


def to_work(geoms):
    """EPSG:4490 → working CRS."""
    return work_projection(WORK_CRS).to_work(geoms)


def to_storage(geoms):
    """Working CRS → EPSG:4490."""
    return work_projection(WORK_CRS).to_storage(geoms)


def lonlat_to_work(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    x, y = work_projection(WORK_CRS).points_to_work(np.asarray(lon), np.asarray(lat))
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _boundary_chunks(geoms: np.ndarray, vertices: int = 32) -> np.ndarray:
    chunks = []
    for geom in geoms:
        for ring in shapely.get_parts(shapely.boundary(geom)):
            coords = shapely.get_coordinates(ring)
            for i in range(0, len(coords) - 1, vertices):
                chunks.append(shapely.linestrings(coords[i : i + vertices + 1]))
    return np.array(chunks, dtype=object)


@functools.lru_cache(maxsize=1)
def load_districts() -> Districts:
    """The districts converted like the import converts them (cached; read-only)."""
    collection = json.loads(DISTRICTS_FILE.read_text(encoding="utf-8"))
    features = collection["features"]
    adcodes = [str(f["properties"]["adcode"]) for f in features]
    names = [str(f["properties"]["name"]) for f in features]
    gcj = np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in features])
    storage = np.asarray(transform_geometry(gcj, GCJ02_KEY, STORAGE_CRS_KEY), dtype=object)
    work = np.asarray(to_work(storage), dtype=object)
    for geom in (*work, *storage):
        shapely.prepare(geom)
    outline = shapely.union_all(work)
    shapely.prepare(outline)
    seats = np.array([SEATS[a][:2] for a in adcodes], dtype=np.float64)
    sx, sy = lonlat_to_work(seats[:, 0], seats[:, 1])
    seats_xy = np.c_[sx, sy]
    # A seat that the coarse table puts outside its district falls back to a point inside.
    inside = shapely.contains_xy(work, sx, sy)
    for i in np.flatnonzero(~inside):
        p = shapely.point_on_surface(work[i])
        seats_xy[i] = (p.x, p.y)
    return Districts(
        adcodes=adcodes,
        names=names,
        work=work,
        storage=storage,
        tree=shapely.STRtree(work),
        storage_tree=shapely.STRtree(storage),
        boundary_tree=shapely.STRtree(_boundary_chunks(work)),
        outline=outline,
        seats_xy=seats_xy,
        seat_radius_m=np.array([SEATS[a][2] for a in adcodes], dtype=np.float64),
    )


def river_lines(rng: np.random.Generator) -> list[tuple[str, float, BaseGeometry]]:
    """The rivers as meandering lines in the working CRS: (name, width_m, line)."""
    out = []
    for name, (width, waypoints) in RIVERS.items():
        pts = np.array(waypoints)
        x, y = lonlat_to_work(pts[:, 0], pts[:, 1])
        line = meander(np.c_[x, y], rng, amplitude=0.06, step_m=1500.0)
        out.append((name, width, line))
    return out


def meander(
    points: np.ndarray, rng: np.random.Generator, amplitude: float, step_m: float
) -> shapely.LineString:
    """A smooth wiggly line through `points` (n×2, metres): each leg is densified every
    `step_m` and displaced sideways by a few sine harmonics (`amplitude` × leg length)."""
    coords = [points[:1]]
    for a, b in itertools.pairwise(points):
        leg = b - a
        length = float(np.hypot(*leg))
        n = max(2, int(length // step_m))
        t = np.linspace(0.0, 1.0, n + 1)[1:]
        normal = np.array([-leg[1], leg[0]]) / max(length, 1e-9)
        k = np.arange(1, 4)
        coeff = rng.normal(0.0, 1.0, 3) / k
        offset = amplitude * length * (np.sin(np.pi * np.outer(t, k)) @ coeff) / 2.0
        coords.append(a + np.outer(t, leg) + np.outer(offset, normal))
    return shapely.LineString(np.vstack(coords))


class Field:
    """A smooth random scalar field in [-1, 1]: a sum of plane waves with wavelengths
    between `min_wavelength_m` and `max_wavelength_m` (vectorised over points)."""

    def __init__(
        self,
        rng: np.random.Generator,
        waves: int = 24,
        min_wavelength_m: float = 8_000.0,
        max_wavelength_m: float = 90_000.0,
    ):
        wavelength = np.exp(rng.uniform(np.log(min_wavelength_m), np.log(max_wavelength_m), waves))
        angle = rng.uniform(0.0, 2 * np.pi, waves)
        self.kx = 2 * np.pi / wavelength * np.cos(angle)
        self.ky = 2 * np.pi / wavelength * np.sin(angle)
        self.phase = rng.uniform(0.0, 2 * np.pi, waves)
        self.amp = 1.0 / np.sqrt(waves / 2.0)

    def __call__(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        out = np.zeros(len(x))
        for kx, ky, ph in zip(self.kx, self.ky, self.phase, strict=True):
            out += np.cos(kx * x + ky * y + ph)
        return np.clip(out * self.amp / 2.0, -1.0, 1.0)


def urban_intensity(x, y, centres_xy: np.ndarray, radii_m: np.ndarray) -> np.ndarray:
    """How urban each point is, in [0, 1]: a Gaussian bump of width `radius` around each
    centre (1 at a centre, ~0.6 at one radius, ~0 beyond three)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    out = np.zeros(len(x))
    if len(centres_xy) == 0:
        return out
    tree = shapely.STRtree(shapely.buffer(shapely.points(centres_xy), 3.0 * radii_m, quad_segs=8))
    p_idx, c_idx = tree.query(shapely.points(x, y), predicate="intersects")
    d2 = (x[p_idx] - centres_xy[c_idx, 0]) ** 2 + (y[p_idx] - centres_xy[c_idx, 1]) ** 2
    value = np.exp(-d2 / (2.0 * (radii_m[c_idx]) ** 2))
    np.maximum.at(out, p_idx, value)
    return out


def star_blobs(
    cx: np.ndarray,
    cy: np.ndarray,
    radius: np.ndarray,
    rng: np.random.Generator,
    vertices: int = 48,
    roughness: float = 0.35,
) -> np.ndarray:
    """Irregular, always-valid (star-shaped) polygons around centres: r(θ) = R·(1 + Σ a_k
    cos(kθ + φ_k)) with Σ|a_k| ≤ roughness < 1. Vectorised; returns an array of Polygons."""
    n = len(cx)
    theta = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    k = np.arange(2, 6)
    a = rng.uniform(-1.0, 1.0, (n, len(k)))
    a *= roughness / np.maximum(np.abs(a).sum(axis=1, keepdims=True), 1e-9)
    phi = rng.uniform(0.0, 2 * np.pi, (n, len(k)))
    # (n, vertices): 1 + Σ_k a_k cos(kθ + φ_k)
    r = 1.0 + np.einsum("nk,nkv->nv", a, np.cos(k[None, :, None] * theta + phi[:, :, None]))
    r *= np.asarray(radius, dtype=np.float64)[:, None]
    xs = np.asarray(cx)[:, None] + r * np.cos(theta)
    ys = np.asarray(cy)[:, None] + r * np.sin(theta)
    coords = np.stack([xs, ys], axis=-1)
    coords = np.concatenate([coords, coords[:, :1]], axis=1)
    return shapely.polygons(coords)
