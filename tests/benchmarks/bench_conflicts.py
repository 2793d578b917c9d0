"""Two-plan overlay benchmark: 100,000 urban-plan × 100,000 land-plan polygons, PlanFuse's
overlay (planfuse.services.conflicts.overlay.intersect_pairs, every core) beside
``geopandas.overlay(how="intersection")`` on the same data in the same run.

    .venv/bin/python tests/benchmarks/bench_conflicts.py [--n 100000] [--repeat 3]
        [--data shared|independent] [--workers 0] [--save docs/benchmarks/conflicts.txt]

Data (working CRS, metres, ~1 ha parcels around central Chongqing, ~24 vertices each):

* ``shared`` (default): the two plans drawn on a shared base, as real 两规 data are — the
  land plan is the urban plan's parcel tessellation with 10 % of the parcels redrawn, so
  many parcels are identical and many pairs only touch. Boundaries wiggle (a smooth
  displacement field, Lipschitz < 1, so the tessellations stay valid).
* ``nested``: plans of different grain, as 控规 and 土规 are — in the town half the urban
  plan's fine parcels (~1 ha) lie in the land plan's coarse blocks (~8 ha, drawn
  independently), in the country half the land plan's fine parcels (耕地, 林地) lie in the
  urban plan's coarse E-class blocks. Many pairs are containments.
* ``independent``: two unrelated tessellations — the worst case for skipping.

Checks: identical total area (relative 1e-9) and the same set of pieces over 1 m² (the
(urban, land) pairs) with the same areas (relative 1e-9). Prints wall times (median and
p95 over the repeats, the two alternating), the ratio per round, and peak memory: each run
happens in a forked child process (the data shared copy-on-write, geopandas imported
before the fork), which reports its resident-set growth over its start, sampled every
10 ms — a fresh allocator per run, so one run's freed memory does not hide the next one's.
The machine is shared: the load average is printed beside.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from planfuse.geo.measure import work_projection
from planfuse.services.conflicts.overlay import default_workers, intersect_pairs

CENTRE_LONLAT = (106.55, 29.57)
PAGE = os.sysconf("SC_PAGE_SIZE")


def _cells(points: np.ndarray, x0: float, y0: float, step: float, tiles: int) -> np.ndarray:
    out = []
    for i in range(tiles):
        for j in range(tiles):
            bx, by = x0 + i * step, y0 + j * step
            m = (
                (points[:, 0] >= bx)
                & (points[:, 0] < bx + step)
                & (points[:, 1] >= by)
                & (points[:, 1] < by + step)
            )
            box = shapely.box(bx, by, bx + step, by + step)
            vor = shapely.voronoi_polygons(shapely.multipoints(points[m]), extend_to=box)
            out.append(shapely.intersection(shapely.get_parts(vor), box))
    cells = np.concatenate(out)
    return cells[shapely.get_type_id(cells) == 3]


def _wiggle(cells: np.ndarray, segment_m: float = 20.0, amplitude_m: float = 1.0) -> np.ndarray:
    """Irregular parcel boundaries: vertices every ~20 m, snapped to 1 cm (shared edges stay
    bit-identical), moved by a smooth field whose gradient stays far below 1 (no folds)."""
    cells = shapely.set_precision(shapely.segmentize(cells, segment_m), 0.01)
    k = 2 * np.pi / 80.0

    def move(c: np.ndarray) -> np.ndarray:
        x, y = c[:, 0], c[:, 1]
        dx = amplitude_m * np.sin(k * y + 0.3 * np.sin(1.7 * k * x))
        dy = amplitude_m * np.sin(1.3 * k * x + 0.5)
        return np.column_stack((x + dx, y + dy))

    return shapely.transform(cells, move)


def plan_pair(n: int, data: str, seed: int = 7, cell_m2: float = 10_000.0):
    """(urban plan, land plan) polygon arrays of about ``n`` each, working CRS."""
    if data == "nested":
        return nested_pair(n, seed=seed, cell_m2=cell_m2)
    rng = np.random.default_rng(seed)
    side = float(np.sqrt(n * cell_m2))
    cx, cy = work_projection().points_to_work([CENTRE_LONLAT[0]], [CENTRE_LONLAT[1]])
    x0, y0 = cx[0] - side / 2, cy[0] - side / 2
    tiles = max(1, int(np.ceil(np.sqrt(n / 50_000))))
    step = side / tiles
    p = rng.uniform((x0, y0), (x0 + side, y0 + side), size=(n, 2))
    if data == "shared":
        q = p.copy()
        redrawn = rng.choice(n, n // 10, replace=False)
        q[redrawn] = rng.uniform((x0, y0), (x0 + side, y0 + side), size=(len(redrawn), 2))
    else:
        q = rng.uniform((x0, y0), (x0 + side, y0 + side), size=(n, 2))
    return _wiggle(_cells(p, x0, y0, step, tiles)), _wiggle(_cells(q, x0, y0, step, tiles))


def nested_pair(n: int, seed: int = 7, cell_m2: float = 10_000.0, coarse: int = 8):
    """Fine and coarse tessellations, swapped between the town (west) and country (east)
    halves: each layer holds about ``n`` polygons."""
    rng = np.random.default_rng(seed)
    # Each layer: half the fine cells and half the coarse ones.
    n_fine = int(n / (0.5 + 0.5 / coarse))
    n_coarse = n_fine // coarse
    side = float(np.sqrt(n_fine * cell_m2))
    cx, cy = work_projection().points_to_work([CENTRE_LONLAT[0]], [CENTRE_LONLAT[1]])
    x0, y0 = cx[0] - side / 2, cy[0] - side / 2
    tiles = max(1, int(np.ceil(np.sqrt(n_fine / 50_000))))
    step = side / tiles
    fine = _cells(rng.uniform((x0, y0), (x0 + side, y0 + side), (n_fine, 2)), x0, y0, step, tiles)
    big = _cells(rng.uniform((x0, y0), (x0 + side, y0 + side), (n_coarse, 2)), x0, y0, side, 1)
    west = shapely.box(x0, y0, x0 + side / 2, y0 + side)
    east = shapely.box(x0 + side / 2, y0, x0 + side, y0 + side)

    def half(cells: np.ndarray, box) -> np.ndarray:
        parts = shapely.intersection(cells, box)
        parts = parts[~shapely.is_empty(parts)]
        return parts[shapely.get_type_id(parts) == 3]

    urban = np.concatenate([half(fine, west), half(big, east)])
    land = np.concatenate([half(big, west), half(fine, east)])
    return _wiggle(urban), _wiggle(land)


class PeakMemory:
    """Peak resident-set growth (bytes) of this process while the block runs (sampled)."""

    def __enter__(self):
        gc.collect()
        self.base = self._rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / 1e6


def run_geopandas(urban: np.ndarray, land: np.ndarray):
    import geopandas  # imported by the parent before the fork

    left = geopandas.GeoDataFrame({"u": np.arange(len(urban))}, geometry=urban)
    right = geopandas.GeoDataFrame({"l": np.arange(len(land))}, geometry=land)
    with warnings.catch_warnings():
        # keep_geom_type reports the line/point results it drops (touching parcels).
        warnings.simplefilter("ignore", UserWarning)
        started = time.perf_counter()
        result = geopandas.overlay(left, right, how="intersection", keep_geom_type=True)
        seconds = time.perf_counter() - started
    areas = result.geometry.area.to_numpy()
    return seconds, result["u"].to_numpy(), result["l"].to_numpy(), areas


def run_planfuse(urban: np.ndarray, land: np.ndarray, workers: int):
    started = time.perf_counter()
    result = intersect_pairs(urban, land, workers=workers)
    seconds = time.perf_counter() - started
    return seconds, result.left, result.right, result.areas_m2


def in_child(function, *args):
    """Run ``function(*args)`` in a forked child; (its result, its peak RSS growth in MB)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=False)

    def target() -> None:
        with PeakMemory() as mem:
            result = function(*args)
        child_end.send((result, mem.growth_mb))
        child_end.close()

    process = context.Process(target=target)
    process.start()
    child_end.close()
    result, growth = parent_end.recv()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{function.__name__} failed in its child process")
    return result, growth


def pieces_over(u: np.ndarray, v: np.ndarray, a: np.ndarray, limit_m2: float = 1.0) -> dict:
    out: dict[tuple[int, int], float] = {}
    for i, j, area in zip(u.tolist(), v.tolist(), a.tolist(), strict=True):
        out[(i, j)] = out.get((i, j), 0.0) + area
    return {k: v for k, v in out.items() if v > limit_m2}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(np.ceil(0.95 * len(ordered))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data", choices=["shared", "nested", "independent"], default="shared")
    parser.add_argument("--workers", type=int, default=0, help="0: every core")
    parser.add_argument("--save", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    workers = args.workers or default_workers()
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    started = time.perf_counter()
    urban, land = plan_pair(args.n, args.data)
    vertices = shapely.get_num_coordinates(urban).mean()
    say(
        f"data {args.data}: {len(urban):,} urban-plan × {len(land):,} land-plan polygons, "
        f"{vertices:.1f} vertices each on average (built in {time.perf_counter() - started:.1f} s)"
    )
    say(f"cores available: {default_workers()}, PlanFuse workers: {workers}")
    say(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    gpd_times, pf_times, pf1_times = [], [], []
    gpd_mem, pf_mem = [], []
    checked = False
    import geopandas  # noqa: F401 - loaded before the forks, not counted in their memory

    for round_no in range(args.repeat):
        (g_s, g_u, g_l, g_a), growth = in_child(run_geopandas, urban, land)
        gpd_times.append(g_s)
        gpd_mem.append(growth)
        (p_s, p_u, p_l, p_a), growth = in_child(run_planfuse, urban, land, workers)
        pf_times.append(p_s)
        pf_mem.append(growth)
        say(
            f"round {round_no + 1}: geopandas {g_s:6.2f} s (+{gpd_mem[-1]:,.0f} MB)   "
            f"PlanFuse {p_s:6.2f} s (+{pf_mem[-1]:,.0f} MB)   ratio {p_s / g_s:.3f}"
        )
        if not checked:
            total_g, total_p = float(np.sum(g_a)), float(np.sum(p_a))
            rel = abs(total_g - total_p) / total_g
            big_g, big_p = pieces_over(g_u, g_l, g_a), pieces_over(p_u, p_l, p_a)
            same_keys = big_g.keys() == big_p.keys()
            worst = max(
                (abs(big_g[k] - big_p[k]) / big_g[k] for k in big_g if k in big_p), default=0.0
            )
            say(
                f"pieces: geopandas {len(g_a):,}, PlanFuse {len(p_a):,}; over 1 m²: "
                f"{len(big_g):,} vs {len(big_p):,}, same set: {same_keys}, "
                f"worst piece area difference {worst:.1e} (relative)"
            )
            say(
                f"total area: geopandas {total_g:,.4f} m², PlanFuse {total_p:,.4f} m², "
                f"relative difference {rel:.1e} (limit 1e-9)"
            )
            if rel > 1e-9 or not same_keys or worst > 1e-9:
                say("RESULTS DIFFER")
                sys.exit(1)
            checked = True
            del g_u, g_l, g_a, big_g, big_p
    if workers > 1:
        p1_s = in_child(run_planfuse, urban, land, 1)[0][0]
        pf1_times.append(p1_s)
        say(f"PlanFuse on one core: {p1_s:6.2f} s (parallel speed-up {p1_s / min(pf_times):.2f}×)")
    say(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    say("")
    say(f"{'':24}{'median s':>10}{'p95 s':>10}{'peak MB':>10}")
    say(
        f"{'geopandas.overlay':24}{statistics.median(gpd_times):10.2f}{p95(gpd_times):10.2f}"
        f"{max(gpd_mem):10,.0f}"
    )
    say(
        f"{'PlanFuse overlay':24}{statistics.median(pf_times):10.2f}{p95(pf_times):10.2f}"
        f"{max(pf_mem):10,.0f}"
    )
    ratios = [p / g for p, g in zip(pf_times, gpd_times, strict=True)]
    say(
        f"ratio PlanFuse / geopandas: median {statistics.median(ratios):.3f}, "
        f"worst {max(ratios):.3f} (target ≤ 0.5)"
    )
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
