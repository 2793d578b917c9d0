"""The siting score: a weighted sum of criteria, each normalised to 0…1 (1 is best).

    score = Σ weight_c · s_c,   Σ weight_c = 1 (refused otherwise), rounded to 6 decimals

Criteria (raw value → normalised s_c):

* `area_fit` — area A (m²). With both bounds: s = 1 − |A − T| / max(T − min, max − T),
  T = `target_area_m2` or the middle of the range. With one bound or only a target:
  s = min(A, T) / max(A, T), T = the target, else the bound. No bound, no target: s = 1.
* `road_distance` — distance d (m) to the nearest road of the classes named by the `road`
  proximity conditions (any road when none names a class, or when there is none):
  s = 1 − min(d, R)/R, R = the smallest `within_m` of those conditions, else
  `siting_reach_m` (default 3,000 m).
* `facility_distance` — the same for facilities and their types.
* `compactness` — Polsby–Popper 4πA/P²: a disc 1, a square 0.785, a strip → 0.
* `urban_share` — share of the parcel inside the urban development boundary.
* `centre_distance` — distance d (m) from the parcel's centroid to its district's centroid:
  s = 1 − min(d, R)/R, R = √(district area / π).

A criterion whose layer is not loaded (no roads, no district layer, …) scores 0 for every
parcel — it cannot change the order — and is reported as unavailable. Criteria with weight
0 are not computed. Ties in the rounded score go to the larger parcel (area to 0.01 m²),
then the smaller feature id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planfuse.services.siting.plan import QueryPlan
from planfuse.services.siting.query import CRITERIA, SitingQuery

UNITS = {
    "area_fit": "m2",
    "road_distance": "m",
    "facility_distance": "m",
    "compactness": "ratio",
    "urban_share": "share",
    "centre_distance": "m",
}


@dataclass
class Criterion:
    name: str
    weight: float
    raw: np.ndarray | None = None  # measured values (units above); None when unavailable
    score: np.ndarray | None = None  # normalised 0…1
    reference: dict[str, Any] = field(default_factory=dict)  # target, reach, …

    @property
    def available(self) -> bool:
        return self.raw is not None


@dataclass
class Scores:
    criteria: list[Criterion]
    score: np.ndarray

    def describe(self, i: int) -> dict[str, Any]:
        """Criterion → raw value, normalised score, weight and contribution of row `i`."""
        out: dict[str, Any] = {}
        for c in self.criteria:
            if not c.available:
                out[c.name] = {"available": False, "weight": c.weight, "contribution": 0.0}
                continue
            raw = float(c.raw[i])
            s = float(c.score[i])
            entry: dict[str, Any] = {
                "value": round(raw, 6 if UNITS[c.name] in ("ratio", "share") else 2)
                if np.isfinite(raw)
                else None,
                "unit": UNITS[c.name],
                "score": round(s, 6),
                "weight": c.weight,
                "contribution": round(c.weight * s, 6),
            }
            entry.update(c.reference)
            out[c.name] = entry
        return out


def area_fit(
    areas: np.ndarray, lo: float | None, hi: float | None, target: float | None
) -> tuple[np.ndarray, float | None]:
    """(s, the target used) — see the module table."""
    a = np.asarray(areas, dtype=np.float64)
    if lo is not None and hi is not None:
        t = target if target is not None else (lo + hi) / 2.0
        span = max(t - lo, hi - t)
        if span <= 0:
            return np.ones(len(a)), t
        return np.clip(1.0 - np.abs(a - t) / span, 0.0, 1.0), t
    t = target if target is not None else (lo if lo is not None else hi)
    if t is None:
        return np.ones(len(a)), None
    if t <= 0:
        return (a <= 0).astype(np.float64), t
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.minimum(a, t) / np.maximum(a, t)
    return np.nan_to_num(s, nan=0.0), t


def distance_score(distances_m: np.ndarray, reach_m: np.ndarray | float) -> np.ndarray:
    """1 − min(d, R)/R: 1 at the feature, 0 at R metres or beyond (and for inf/NaN)."""
    d = np.asarray(distances_m, dtype=np.float64)
    r = np.broadcast_to(np.asarray(reach_m, dtype=np.float64), d.shape)
    out = np.zeros(d.shape, dtype=np.float64)
    ok = np.isfinite(d) & np.isfinite(r) & (r > 0)
    out[ok] = 1.0 - np.minimum(d[ok], r[ok]) / r[ok]
    return out


def _distance_criterion(plan: QueryPlan, name: str, kind: str, query: SitingQuery, positions):
    conditions = [p for p in query.proximity if p.kind == kind]
    refs = plan.layers.get(kind) or []
    weight = float(query.weights.get(name, 0.0))
    if not refs:
        return Criterion(name, weight)
    attribute = {"road": "class", "facility": "type"}[kind]
    values = [p.value for p in conditions]
    where = [] if not values or None in values else [(attribute, tuple(sorted(set(values))))]
    within = [p.within_m for p in conditions if p.within_m is not None]
    reach = min(within) if within else float(plan.ctx.settings.siting_reach_m)
    source = plan.source(kind, refs, where)
    d = plan.table.distance_m(source, plan.cache.geometries(plan.ctx, source), positions)
    reference: dict[str, Any] = {"reach_m": reach}
    if where:
        reference[attribute] = list(where[0][1])
    return Criterion(name, weight, d, distance_score(d, reach), reference)


def evaluate(plan: QueryPlan, query: SitingQuery, positions: np.ndarray) -> Scores:
    """Every weighted criterion for the parcels at `positions`, and the total score."""
    table = plan.table
    n = len(positions)
    criteria: list[Criterion] = []
    for name in CRITERIA:
        weight = float(query.weights.get(name, 0.0))
        if weight <= 0:
            continue
        if name == "area_fit":
            areas = table.areas_m2[positions]
            s, target = area_fit(areas, query.area_min_m2, query.area_max_m2, query.target_area_m2)
            ref = {"target_m2": target} if target is not None else {}
            criteria.append(Criterion(name, weight, areas, s, ref))
        elif name == "road_distance":
            criteria.append(_distance_criterion(plan, name, "road", query, positions))
        elif name == "facility_distance":
            criteria.append(_distance_criterion(plan, name, "facility", query, positions))
        elif name == "compactness":
            c = table.compactness(positions)
            criteria.append(Criterion(name, weight, c, c))
        elif name == "urban_share":
            refs = plan.layers.get("urban_boundary") or []
            if not refs:
                criteria.append(Criterion(name, weight))
                continue
            source = plan.source("urban_boundary", refs)
            overlap = table.overlap_m2(source, plan.cache.geometries(plan.ctx, source), positions)
            areas = table.areas_m2[positions]
            share = np.zeros(n)
            np.divide(overlap, areas, out=share, where=areas > 0)
            share = np.clip(share, 0.0, 1.0)
            criteria.append(Criterion(name, weight, share, share))
        elif name == "centre_distance":
            if plan.districts is None:
                criteria.append(Criterion(name, weight))
                continue
            plan.read[plan.district_ref.layer_id] = plan.district_ref.version
            d = table.centre_distance_m(plan.districts, positions)
            radius = plan.districts.for_categories(table.districts)[2][
                table.district_codes[positions]
            ]
            criteria.append(Criterion(name, weight, d, distance_score(d, radius)))
    total = np.zeros(n)
    for c in criteria:
        if c.available:
            total += c.weight * c.score
    return Scores(criteria, total)
