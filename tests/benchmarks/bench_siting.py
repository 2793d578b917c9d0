"""Siting search over N parcels (default 1,000,000) with a district scope and three controls
(inside the urban boundary, outside the ecological red line, outside basic farmland), a
land-use class and an area range — beside geopandas (attribute filters + sjoin + overlap
areas) doing the same query on the same data in the same run, result sets asserted equal.

    .venv/bin/python tests/benchmarks/bench_siting.py [--parcels 1000000] [--districts 36]
        [--warm-rounds 3] [--geopandas-queries 36]

The data is synthetic (tests/benchmarks/synthetic.py): a Voronoi tessellation of ~1 ha
parcels around central Chongqing cut into a grid of districts, with 用地用海 codes, dissolved
urban-boundary, red-line and farmland blobs, roads and facilities. The demo generator would
need scale ≈ 53 for a million parcels (19,000 per scale unit), so it is not used here.

PlanFuse runs its real code path — `search(ctx, …)` reading layer versions from a SQLite
database and layer indexes from the context's index cache — with the indexes built in memory
from the synthetic geometries instead of loaded from 1,000,000 database rows (that load is the layer
data's cost, measured by bench_layer.py, not the search's).

Cold: the first query in each district (its parcels' relations are computed and cached);
warm: the same queries again. The one-off costs per layer version (parcel table, control
trees) are printed separately. Target: p95 ≤ 200 ms and ≥ 5× faster than geopandas.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.context import build_context
from planfuse.geo.index import IndexCache, LayerIndex
from planfuse.services.layers.data import INDEX_CACHE_KEY, current_layers
from planfuse.services.siting import search
from planfuse.services.siting.relations import siting_cache
from planfuse.settings import load_settings
from planfuse.storage.models import Layer, LayerVersion
from tests.benchmarks.synthetic import tessellation

# 用地用海 codes and their shares among the synthetic parcels.
CODES = {
    "1001": 0.06,
    "100101": 0.03,
    "100102": 0.03,
    "1101": 0.04,
    "0701": 0.20,
    "070101": 0.05,
    "0901": 0.07,
    "0801": 0.04,
    "1207": 0.08,
    "1401": 0.06,
    "0103": 0.18,
    "0301": 0.16,
}


def pct(values, q):
    return float(np.percentile(np.asarray(values) * 1000, q))


def report(name, times):
    print(
        f"{name:<34} median {pct(times, 50):8.1f} ms   p95 {pct(times, 95):8.1f} ms   "
        f"n={len(times)}"
    )


def blobs(rng, n, extent, radius, *, vertices=48):
    """`n` irregular blobs (star-shaped, `vertices` each), dissolved into disjoint polygons."""
    minx, miny, maxx, maxy = extent
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        r = rng.uniform(*radius)
        angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
        rr = r * rng.uniform(0.6, 1.0, vertices)
        polys.append(
            shapely.Polygon(np.column_stack((cx + rr * np.cos(angles), cy + rr * np.sin(angles))))
        )
    dissolved = shapely.union_all(np.array(polys, dtype=object))
    return shapely.get_parts(dissolved)


def build_world(n_parcels: int, n_districts_side: int, seed: int = 17):
    """Layer id → (kind, LayerIndex) of the synthetic world (working CRS)."""
    rng = np.random.default_rng(seed)
    t = time.perf_counter()
    parcels = tessellation(n_parcels)
    print(f"{len(parcels):,} parcels generated in {time.perf_counter() - t:.1f} s")
    minx, miny, maxx, maxy = shapely.total_bounds(parcels)
    extent = (minx, miny, maxx, maxy)
    # Districts: a grid; each parcel belongs to the cell of its representative point, as
    # import assigns it.
    side = n_districts_side
    xs = np.linspace(minx, maxx, side + 1)
    ys = np.linspace(miny, maxy, side + 1)
    district_polys, adcodes = [], []
    for i in range(side):
        for j in range(side):
            district_polys.append(shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1]))
            adcodes.append(f"5001{i * side + j + 1:02d}")
    points = shapely.get_coordinates(shapely.point_on_surface(parcels))
    ci = np.clip(np.searchsorted(xs, points[:, 0], side="right") - 1, 0, side - 1)
    cj = np.clip(np.searchsorted(ys, points[:, 1], side="right") - 1, 0, side - 1)
    parcel_districts = np.array(adcodes, dtype=object)[ci * side + cj]
    codes = rng.choice(
        list(CODES), size=len(parcels), p=np.array(list(CODES.values())) / sum(CODES.values())
    )
    span = maxx - minx
    urban = blobs(rng, 60, extent, (0.02 * span, 0.06 * span), vertices=96)
    redline = blobs(rng, 150, extent, (0.005 * span, 0.02 * span))
    redline = shapely.get_parts(
        shapely.difference(shapely.union_all(redline), shapely.union_all(urban))
    )
    farmland = blobs(rng, 1500, extent, (0.002 * span, 0.006 * span), vertices=24)
    farmland = shapely.get_parts(
        shapely.difference(shapely.union_all(farmland), shapely.union_all(urban))
    )
    roads = []
    for k in range(40):
        x0, y0 = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        angle = rng.uniform(0, np.pi)
        steps = np.cumsum(rng.normal(0, 0.02, 60)) + angle
        pts = np.cumsum(np.column_stack((np.cos(steps), np.sin(steps))) * span / 60, axis=0)
        roads.append(
            (
                shapely.LineString(pts + np.array([x0 - pts[30, 0], y0 - pts[30, 1]])),
                "provincial" if k < 20 else "county",
            )
        )
    facility_points = shapely.points(rng.uniform((minx, miny), (maxx, maxy), size=(3000, 2)))

    def index(geoms, **attributes):
        geoms = np.asarray(geoms, dtype=object)
        n = len(geoms)
        attrs = {
            k: np.asarray(v if not isinstance(v, str) else [v] * n, dtype=object)
            for k, v in attributes.items()
        }
        attrs.setdefault("district", np.array([None] * n, dtype=object))
        return LayerIndex(np.arange(1, n + 1), geoms, attrs)

    t = time.perf_counter()
    world = {
        "districts": (
            "district",
            index(
                district_polys, adcode=adcodes, name=[f"区 {a}" for a in adcodes], district=adcodes
            ),
        ),
        "land_use_plan": ("land_use_plan", index(parcels, code=codes, district=parcel_districts)),
        "urban_boundary": ("urban_boundary", index(urban, zone="01")),
        "ecological_redline": ("ecological_redline", index(redline, name="红线")),
        "basic_farmland": ("basic_farmland", index(farmland)),
        "roads": ("road", index([g for g, _ in roads], **{"class": [c for _, c in roads]})),
        "facilities": ("facility", index(facility_points, type="school")),
    }
    print(
        f"layer indexes built in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{k} {len(v[1]):,}" for k, v in world.items())
    )
    return world


def planfuse_context(world, folder: Path):
    # A high limit lets the full result sets be compared with geopandas.
    settings = load_settings(
        {"database_url": f"sqlite:///{folder / 'bench.db'}", "siting_limit_max": 1_000_000},
        environ={},
    )
    ctx = build_context(settings)
    ctx.db.upgrade()
    with ctx.db.session() as session:
        for layer_id, (kind, _) in world.items():
            session.add(Layer(id=layer_id, name=layer_id, kind=kind, current_version=1))
            session.flush()
            session.add(LayerVersion(layer_id=layer_id, version=1, source_crs="EPSG:4490"))
    ctx.extras[INDEX_CACHE_KEY] = IndexCache(
        lambda layer_id, version: world[layer_id][1], max_entries=32
    )
    return ctx


QUERY = {
    "land_use": "10",
    "area_min_m2": 8000,
    "area_max_m2": 60000,
    "controls": [
        {"kind": "urban_boundary", "mode": "inside"},
        {"kind": "ecological_redline", "mode": "outside"},
        {"kind": "basic_farmland", "mode": "outside"},
    ],
}


def geopandas_query(gpd, pd, frames, adcode):
    """The same query the geopandas way: attribute filters, then one sjoin per control with
    overlap areas summed per parcel."""
    parcels = frames["parcels"]
    sub = parcels[(parcels["district"] == adcode) & parcels["code"].str.startswith("10")]
    area = sub.geometry.area
    sub = sub[(area >= QUERY["area_min_m2"]) & (area <= QUERY["area_max_m2"])].copy()
    sub["area"] = sub.geometry.area
    for control in QUERY["controls"]:
        layer = frames[control["kind"]]
        pairs = gpd.sjoin(
            sub[["geometry"]], layer[["geometry"]], predicate="intersects", how="inner"
        )
        if len(pairs):
            right = gpd.GeoSeries(layer.geometry.values[pairs["index_right"].to_numpy()])
            pieces = pairs.geometry.intersection(right, align=False)
            overlap = pd.Series(pieces.area.values, index=pairs.index).groupby(level=0).sum()
        else:
            overlap = pd.Series(dtype=float)
        overlap = overlap.reindex(sub.index, fill_value=0.0)
        if control["mode"] == "inside":
            sub = sub[(overlap / sub["area"]) >= 0.999]
        else:
            sub = sub[overlap <= 1.0]
    return set(sub["fid"].tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--districts", type=int, default=36, help="a square number")
    parser.add_argument("--warm-rounds", type=int, default=3)
    parser.add_argument("--geopandas-queries", type=int, default=36)
    args = parser.parse_args()
    side = round(args.districts**0.5)

    world = build_world(args.parcels, side)
    adcodes = list(world["districts"][1].attributes["adcode"])
    with tempfile.TemporaryDirectory() as tmp:
        ctx = planfuse_context(world, Path(tmp))

        def run(adcode):
            t = time.perf_counter()
            result = search(ctx, {"districts": [adcode]}, QUERY, limit=50)
            return time.perf_counter() - t, result

        # One-off work per layer version: the parcel table and the control trees.
        t = time.perf_counter()
        [ref] = current_layers(ctx, ["land_use_plan"])
        siting_cache(ctx).table(ctx, ref)
        elapsed = time.perf_counter() - t
        print(f"parcel table (district and code categories), once per version: {elapsed:.2f} s")

        cold_times, totals, results = [], {}, {}
        for adcode in adcodes:
            elapsed, result = run(adcode)
            cold_times.append(elapsed)
            totals[adcode] = result["total"]
        # The first query also built the control layers' trees: say how much of it that was.
        print(f"first query (includes building the control trees): {cold_times[0] * 1000:.0f} ms")
        warm_times = []
        for _ in range(args.warm_rounds):
            for adcode in adcodes:
                elapsed, result = run(adcode)
                warm_times.append(elapsed)
                results[adcode] = result
        # Exactness: warm equals cold, and a cleared cache gives the same answer again.
        for adcode in adcodes:
            assert results[adcode]["total"] == totals[adcode]
        siting_cache(ctx).clear()
        for adcode in adcodes[:3]:
            assert orjson.dumps(run(adcode)[1]) == orjson.dumps(results[adcode])
        report("PlanFuse search, cold (per district)", cold_times[1:])
        report("PlanFuse search, warm", warm_times)
        print(
            f"candidates per district: median {statistics.median(totals.values()):.0f}, "
            f"total {sum(totals.values()):,}"
        )

        # Full result sets (not just the top 50) for the comparison.
        full = {}
        for adcode in adcodes[: args.geopandas_queries]:
            result = search(
                ctx, {"districts": [adcode]}, QUERY, limit=int(ctx.settings.siting_limit_max)
            )
            assert result["total"] == len(result["candidates"])
            full[adcode] = {c["feature_id"] for c in result["candidates"]}
        ctx.close()

    import geopandas as gpd
    import pandas as pd

    t = time.perf_counter()
    parcels_index = world["land_use_plan"][1]
    frames = {
        "parcels": gpd.GeoDataFrame(
            {
                "fid": parcels_index.ids,
                "district": parcels_index.attributes["district"].astype(str),
                "code": parcels_index.attributes["code"].astype(str),
            },
            geometry=parcels_index.geometries,
        )
    }
    for kind in ("urban_boundary", "ecological_redline", "basic_farmland"):
        frames[kind] = gpd.GeoDataFrame(geometry=world[kind][1].geometries)
        frames[kind].sindex  # noqa: B018 - build the spatial index before timing, as we do
    print(f"geopandas frames and indexes built in {time.perf_counter() - t:.1f} s")
    gpd_times = []
    for adcode in adcodes[: args.geopandas_queries]:
        t = time.perf_counter()
        found = geopandas_query(gpd, pd, frames, adcode)
        gpd_times.append(time.perf_counter() - t)
        assert found == full[adcode], (adcode, len(found), len(full[adcode]))
    report("geopandas sjoin + filters", gpd_times)
    print(f"result sets identical for {len(gpd_times)} districts")
    cold_ratio = statistics.median(gpd_times) / statistics.median(cold_times[1 : len(gpd_times)])
    warm_ratio = statistics.median(gpd_times) / statistics.median(warm_times)
    print(
        f"PlanFuse vs geopandas (median): cold {cold_ratio:.1f}× faster, "
        f"warm {warm_ratio:.1f}× faster"
    )
    p95_cold, p95_warm = pct(cold_times[1:], 95), pct(warm_times, 95)
    p95_gpd = pct(gpd_times, 95)
    print(
        f"PlanFuse vs geopandas (p95): cold {p95_gpd / p95_cold:.1f}× faster, "
        f"warm {p95_gpd / p95_warm:.1f}× faster"
    )
    met = p95_warm <= 200 and p95_cold <= 200 and min(cold_ratio, warm_ratio) >= 5
    print(
        f"target p95 ≤ 200 ms (cold {p95_cold:.0f} ms, warm {p95_warm:.0f} ms) and "
        f"≥ 5× geopandas: {'met' if met else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
