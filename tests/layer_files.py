"""Build small real layer files for tests: GeoJSON and zipped shapefiles in any CRS."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shapefile
import shapely
from pyproj import CRS
from shapely.geometry import mapping

from planfuse.geo.crs import transform_geometry
from planfuse.geo.measure import work_projection

# A few real places in Chongqing (CGCS2000 lon/lat).
JIEFANGBEI = (106.5770, 29.5570)  # 解放碑, 渝中区
SHAPINGBA = (106.4570, 29.5410)  # 沙坪坝
WANZHOU = (108.4080, 30.8080)  # 万州区

# Three GeoJSON polygons for import checks: a valid one, a self-intersecting bow-tie and a
# ring that is not closed (both bad ones are reported, by feature, ring and vertex).
GOOD = {
    "type": "Polygon",
    "coordinates": [
        [[106.5, 29.5], [106.501, 29.5], [106.501, 29.501], [106.5, 29.501], [106.5, 29.5]]
    ],
}
BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]
    ],
}
UNCLOSED = {
    "type": "Polygon",
    "coordinates": [[[106.6, 29.5], [106.61, 29.5], [106.61, 29.51], [106.6, 29.51]]],
}


def square(lon: float, lat: float, half_m: float) -> shapely.Polygon:
    """A square of side 2·half_m metres centred on (lon, lat), as an EPSG:4490 polygon.

    Built in the equal-area working CRS, so its true area is (2·half_m)² m².
    """
    wp = work_projection()
    x, y = wp.points_to_work([lon], [lat])
    sq = shapely.box(x[0] - half_m, y[0] - half_m, x[0] + half_m, y[0] + half_m)
    return shapely.segmentize(wp.to_storage(sq), 1e-4)


def feature_collection(
    geoms: Sequence[Any], props: Sequence[dict] | None = None, crs: str = "EPSG:4490"
) -> dict:
    """GeoJSON with `geoms` (EPSG:4490 shapely geometries) written in `crs`."""
    props = props or [{} for _ in geoms]
    features = []
    for geom, p in zip(geoms, props, strict=True):
        out = transform_geometry(geom, "EPSG:4490", crs) if crs != "EPSG:4490" else geom
        features.append({"type": "Feature", "geometry": mapping(out), "properties": p})
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path: Path, collection: dict) -> Path:
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def write_zipped_shapefile(
    path: Path,
    geoms: Sequence[Any],
    props: Sequence[dict],
    *,
    crs: str | None = "EPSG:4523",
    encoding: str = "utf-8",
    cpg: str | None = None,
    stem: str = "layer",
) -> Path:
    """A zip holding stem.shp/.shx/.dbf (+ .prj for `crs`, + .cpg if given)."""
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, encoding=encoding) as w:
        fields = list(props[0].keys()) if props else []
        for name in fields:
            w.field(name, "C", size=80)
        for geom, p in zip(geoms, props, strict=True):
            out = transform_geometry(geom, "EPSG:4490", crs) if crs else geom
            w.shape(mapping(out))
            w.record(*[p[f] for f in fields])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{stem}.shp", shp.getvalue())
        zf.writestr(f"{stem}.shx", shx.getvalue())
        zf.writestr(f"{stem}.dbf", dbf.getvalue())
        if crs:
            zf.writestr(f"{stem}.prj", CRS.from_user_input(crs).to_wkt("WKT1_ESRI"))
        if cpg:
            zf.writestr(f"{stem}.cpg", cpg)
    return path
