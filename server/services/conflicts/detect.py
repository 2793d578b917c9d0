"""Conflict detection: overlay the layers an analysis reads, classify the pieces, cut them
at district boundaries and flag slivers. Plain Python over the geo core; the job wrapper
and persistence are in `planfuse.services.conflicts.detection_jobs`.

Rules (DOMAIN.md, "Conflict detection"):

* two_plans — every piece of urban plan ∩ land plan gets CG建设 (urban-plan class not E*)
  and TG建设 (land-plan code 2xxx): 01 neither, 02 both (consistent, counted in the summary
  only), 03 TG and not CG, 04 CG and not TG (conflicts).
* three_lines — every overlap piece of two of basic farmland, ecological red line and
  urban development boundary.
* plan_vs_controls — land-use-plan construction land (`construction_land_codes`) on basic
  farmland or on the red line; urban construction land (construction land except
  `urban_construction_exempt_codes`) outside the urban development boundary.
* A piece under `conflict_sliver_area_m2` or thinner than `conflict_sliver_thinness_m`
  (2·area/perimeter) is a sliver, judged after the cut at district boundaries; a piece
  under `conflict_noise_m2` (1 m²) is coordinate noise and dropped (only counted).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.geo.measure import thinness_m
from planfuse.services.conflicts.analyses import Analysis, get_analysis
from planfuse.services.conflicts.districts import (
    DistrictSet,
    check_district_codes,
    missing_layers,
    require_districts,
    split_by_district,
)
from planfuse.services.conflicts.overlay import (
    OverlayResult,
    default_workers,
    intersect_pairs,
    spatial_partition,
    subtract_cover,
)
from planfuse.services.layers.data import LayerRef, layer_index, layers_by_kind
from planfuse.services.layers.land_classes import (
    class_name,
    is_land_plan_construction,
    is_urban_plan_construction,
)
from planfuse.services.layers.land_use import matches_prefix
from planfuse.services.monitoring.config import config_value

Progress = Callable[[float, str], None]

#: The attribute each kind's features are classified by (recorded in `sources[].code`).
CODE_ATTRIBUTE = {
    "urban_plan": "code",
    "land_plan": "code",
    "land_use_plan": "code",
    "urban_boundary": "zone",
    "ecological_redline": "name",
}


def _no_progress(fraction: float, stage: str) -> None:
    return None


@dataclass
class LayerInput:
    """Every current layer of one kind, concatenated: geometries in the working CRS, the
    feature ids, which layer each came from and the classifying attribute."""

    kind: str
    refs: list[LayerRef]
    geoms: np.ndarray
    fids: np.ndarray
    layer_pos: np.ndarray
    codes: np.ndarray
    tree: shapely.STRtree | None = None

    def __len__(self) -> int:
        return len(self.geoms)

    def subset(self, mask: np.ndarray) -> LayerInput:
        return LayerInput(
            self.kind,
            self.refs,
            self.geoms[mask],
            self.fids[mask],
            self.layer_pos[mask],
            self.codes[mask],
        )

    def source(self, pos: int) -> dict[str, Any]:
        ref = self.refs[int(self.layer_pos[pos])]
        code = self.codes[pos]
        return {
            "layer": ref.layer_id,
            "version": ref.version,
            "kind": self.kind,
            "fid": int(self.fids[pos]),
            "code": code,
            "name": class_name(self.kind, code) if code is not None else None,
            "layer_name": ref.name,
        }


def load_input(ctx: PlanFuse, kind: str, refs: Sequence[LayerRef]) -> LayerInput:
    """The layers ``refs`` (all of ``kind``) from their cached spatial indexes."""
    attribute = CODE_ATTRIBUTE.get(kind)
    geoms, fids, pos, codes = [], [], [], []
    trees = []
    for i, ref in enumerate(refs):
        index = layer_index(ctx, ref)
        geoms.append(index.geometries)
        fids.append(index.ids)
        pos.append(np.full(len(index), i, dtype=np.int64))
        column = index.attributes.get(attribute) if attribute else None
        codes.append(
            np.asarray(column, dtype=object)
            if column is not None
            else np.full(len(index), None, dtype=object)
        )
        trees.append(index.tree)
    # A single layer's index tree is reused as it is.
    return LayerInput(
        kind,
        list(refs),
        np.concatenate(geoms) if geoms else np.empty(0, dtype=object),
        np.concatenate(fids) if fids else np.empty(0, dtype=np.int64),
        np.concatenate(pos) if pos else np.empty(0, dtype=np.int64),
        np.concatenate(codes) if codes else np.empty(0, dtype=object),
        trees[0] if len(trees) == 1 else None,
    )


def restrict(layer: LayerInput, region: np.ndarray | None) -> LayerInput:
    """Only the features intersecting one of the ``region`` polygons (None: all)."""
    if region is None or len(layer) == 0:
        return layer
    tree = layer.tree if layer.tree is not None else shapely.STRtree(layer.geoms)
    hits = np.unique(tree.query(region, predicate="intersects")[1])
    mask = np.zeros(len(layer), dtype=bool)
    mask[hits] = True
    return layer.subset(mask)


@dataclass
class Pieces:
    """Overlay pieces of one analysis before the district cut."""

    type: list[np.ndarray] = field(default_factory=list)
    geoms: list[np.ndarray] = field(default_factory=list)
    a: list[tuple[LayerInput, np.ndarray]] = field(default_factory=list)
    b: list[tuple[LayerInput | None, np.ndarray]] = field(default_factory=list)

    def add(
        self, types: np.ndarray, result: OverlayResult, a: LayerInput, b: LayerInput | None
    ) -> None:
        self.type.append(np.asarray(types, dtype=object))
        self.geoms.append(result.pieces)
        self.a.append((a, result.left))
        self.b.append((b, result.right))


@dataclass
class ConflictRecord:
    """One conflict patch (a part of a piece inside one district), ready to store."""

    analysis: str
    type: str
    geom_work: Any
    area_m2: float
    thickness_m: float
    sliver: bool
    sliver_reason: str | None
    district: str | None
    district_name: str | None
    sources: list[dict[str, Any]]


@dataclass
class Detection:
    """What a detection found: the conflict records (slivers included, flagged), the layer
    versions read, and statistics of every piece type (two_plans 01/02 included)."""

    analysis: Analysis
    districts: list[str] | None
    layers: dict[str, int]
    records: list[ConflictRecord]
    type_stats: dict[str, dict[str, float]]
    seconds: float


def sliver_rule(ctx: PlanFuse) -> tuple[float, float]:
    """(area m², thinness m) under which a piece is a sliver: the conflict-detection service's
    configuration (服务配置), defaulting to the instance settings."""
    return (
        float(config_value(ctx, "conflict_detection", "sliver_area_m2")),
        float(config_value(ctx, "conflict_detection", "sliver_thinness_m")),
    )


def sliver_flags(
    areas_m2: np.ndarray, thickness_m: np.ndarray, min_area_m2: float, min_thickness_m: float
) -> tuple[np.ndarray, list[str | None]]:
    """(is sliver, reason) per piece: "area", "thinness" or "area+thinness"."""
    small = areas_m2 < min_area_m2
    thin = thickness_m < min_thickness_m
    reasons = [
        "area+thinness" if s and t else "area" if s else "thinness" if t else None
        for s, t in zip(small.tolist(), thin.tolist(), strict=True)
    ]
    return small | thin, reasons


def resolve_inputs(
    ctx: PlanFuse, analysis: Analysis
) -> tuple[dict[str, list[LayerRef]], DistrictSet]:
    """The current layers of every kind the analysis reads; a Conflict naming missing kinds."""
    by_kind = layers_by_kind(ctx)
    missing = [k for k in analysis.kinds if not by_kind.get(k)]
    if missing:
        raise missing_layers(missing, analysis.name)
    return {k: by_kind[k] for k in analysis.kinds if k != "district"}, require_districts(ctx)


def check_request(
    ctx: PlanFuse, analysis_name: object, districts: object
) -> tuple[Analysis, list[str] | None]:
    """Validate a detection request before a job is queued (InvalidInput; a Conflict when
    layers are missing)."""

    analysis = get_analysis(analysis_name)
    _, district_set = resolve_inputs(ctx, analysis)
    if districts is None:
        return analysis, None
    if not isinstance(districts, list) or not districts:
        raise InvalidInput(
            '`districts` must be a non-empty list of district adcodes, e.g. ["500103"], '
            "or left out for the whole city",
            code="invalid_districts",
            errors=[{"field": "districts", "message": "expected a non-empty list"}],
            title="Invalid districts",
        )
    return analysis, check_district_codes(district_set, districts, "districts")


def detect(
    ctx: PlanFuse,
    analysis_name: str,
    districts: Sequence[str] | None = None,
    *,
    progress: Progress = _no_progress,
    check: Callable[[], None] | None = None,
    workers: int | None = None,
) -> Detection:
    """Run one analysis over the city or the given districts (adcodes).

    ``progress(fraction, stage)`` covers 0–1 of the detection; ``check()`` is called between
    overlay chunks (raise to stop). Areas in m² in the working CRS.
    """
    part = detect_partition(
        ctx, analysis_name, districts, 0, 1, progress=progress, check=check, workers=workers
    )
    return merge_detections([part])


def detect_partition(
    ctx: PlanFuse,
    analysis_name: str,
    districts: Sequence[str] | None,
    part: int,
    parts: int,
    *,
    progress: Progress = _no_progress,
    check: Callable[[], None] | None = None,
    workers: int | None = None,
) -> Detection:
    """One spatial partition of a detection: the pieces of the first-layer features of
    partition ``part`` of ``parts`` (each step's first layer cut into ``parts`` compact
    runs along a grid of the features' centres; every feature in exactly one partition).

    Pieces, district cut and sliver flags depend on one pair of features each, so the
    partitions' records together are the whole detection's; :func:`merge_detections`
    puts them in one order and adds the statistics (left unrounded here).
    """
    started = time.perf_counter()
    analysis, selected = check_request(ctx, analysis_name, list(districts) if districts else None)
    refs, district_set = resolve_inputs(ctx, analysis)
    workers = workers or int(ctx.settings.overlay_workers or 0) or default_workers()
    progress(0.0, "loading layers")
    region = None
    if selected:
        region = district_set.geoms[[district_set.position(c) for c in selected]]
    inputs = {kind: restrict(load_input(ctx, kind, r), region) for kind, r in refs.items()}
    progress(0.1, "overlay")
    pieces = Pieces()
    steps = _overlay_steps(ctx, analysis, inputs, (part, parts))
    for k, (label, run) in enumerate(steps):
        span_lo = 0.1 + 0.7 * k / len(steps)
        span_hi = 0.1 + 0.7 * (k + 1) / len(steps)

        def report(f: float, lo: float = span_lo, hi: float = span_hi, s: str = label) -> None:
            progress(lo + (hi - lo) * f, s)

        run(pieces, report, check, workers)
    progress(0.8, "districts")
    records, stats = _records(ctx, analysis, pieces, district_set, selected)
    layers = {ref.layer_id: ref.version for rs in refs.values() for ref in rs}
    layers[district_set.ref.layer_id] = district_set.ref.version
    progress(0.9, "classified")
    return Detection(
        analysis=analysis,
        districts=selected,
        layers=dict(sorted(layers.items())),
        records=records,
        type_stats=stats,
        seconds=time.perf_counter() - started,
    )


def record_key(record: ConflictRecord) -> tuple:
    """The order of records in a detection: type, the two source features, district — one
    record per key, whichever partition found it."""
    a = record.sources[0]
    b = record.sources[1] if len(record.sources) > 1 else {}
    return (
        record.type,
        str(a.get("layer")),
        int(a.get("fid") or 0),
        str(b.get("layer") or ""),
        -1 if b.get("fid") is None else int(b["fid"]),
        record.district or "",
    )


def merge_detections(parts: Sequence[Detection]) -> Detection:
    """The detection the partitions make together: every record once, in
    :func:`record_key` order, statistics added and rounded (m² to 4 decimals)."""
    if not parts:
        raise ValueError("no partitions to merge")
    first = parts[0]
    for other in parts[1:]:
        if other.layers != first.layers or other.analysis.name != first.analysis.name:
            raise ValueError("partitions of different detections (layer versions differ)")
    records = sorted((r for p in parts for r in p.records), key=record_key)
    stats: dict[str, dict[str, float]] = {}
    for p in parts:
        for code, entry in p.type_stats.items():
            into = stats.setdefault(code, dict.fromkeys(entry, 0))
            for name, value in entry.items():
                into[name] += value
    for entry in stats.values():
        entry["area_m2"] = round(entry["area_m2"], 4)
        entry["sliver_area_m2"] = round(entry["sliver_area_m2"], 4)
    return Detection(
        analysis=first.analysis,
        districts=first.districts,
        layers=first.layers,
        records=records,
        type_stats=stats,
        seconds=round(sum(p.seconds for p in parts), 3),
    )


OverlayStep = tuple[str, Callable[..., None]]


def partition_of(layer: LayerInput, part: int, parts: int) -> LayerInput:
    """The features of partition ``part`` of ``parts`` (see :func:`detect_partition`)."""
    if parts <= 1:
        return layer
    positions = spatial_partition(layer.geoms, part, parts)
    mask = np.zeros(len(layer), dtype=bool)
    mask[positions] = True
    return layer.subset(mask)


def _overlay_steps(
    ctx: PlanFuse,
    analysis: Analysis,
    inputs: dict[str, LayerInput],
    partition: tuple[int, int] = (0, 1),
) -> list[OverlayStep]:
    part, parts = partition

    def overlay(left: LayerInput, right: LayerInput, report, check, workers):
        return intersect_pairs(
            left.geoms,
            right.geoms,
            right_tree=right.tree,
            workers=workers,
            progress=report,
            check=check,
        )

    def pairwise(code: str, a_kind: str, b_kind: str, a: LayerInput | None = None):
        def run(pieces: Pieces, report, check, workers) -> None:
            left = partition_of(a if a is not None else inputs[a_kind], part, parts)
            right = inputs[b_kind]
            result = overlay(left, right, report, check, workers)
            pieces.add(np.full(len(result), code, dtype=object), result, left, right)

        return (f"overlay {a_kind} × {b_kind}", run)

    if analysis.name == "two_plans":

        def two_plans(pieces: Pieces, report, check, workers) -> None:
            urban = partition_of(inputs["urban_plan"], part, parts)
            land = inputs["land_plan"]
            result = overlay(urban, land, report, check, workers)
            cg = np.fromiter(
                (is_urban_plan_construction(c) for c in urban.codes[result.left]),
                dtype=bool,
                count=len(result),
            )
            tg = np.fromiter(
                (is_land_plan_construction(c) for c in land.codes[result.right]),
                dtype=bool,
                count=len(result),
            )
            types = np.where(cg, np.where(tg, "02", "04"), np.where(tg, "03", "01")).astype(object)
            pieces.add(types, result, urban, land)

        return [("overlay urban_plan × land_plan", two_plans)]
    if analysis.name == "three_lines":
        return [
            pairwise("farmland_redline", "basic_farmland", "ecological_redline"),
            pairwise("farmland_boundary", "basic_farmland", "urban_boundary"),
            pairwise("redline_boundary", "ecological_redline", "urban_boundary"),
        ]
    # plan_vs_controls
    plan = inputs["land_use_plan"]
    codes = ctx.settings.construction_land_codes
    exempt = ctx.settings.urban_construction_exempt_codes
    construction = np.fromiter(
        (matches_prefix(c, codes) for c in plan.codes), dtype=bool, count=len(plan)
    )
    urban = construction & ~np.fromiter(
        (matches_prefix(c, exempt) for c in plan.codes), dtype=bool, count=len(plan)
    )
    built = plan.subset(construction)
    urban_built = plan.subset(urban)

    def outside(pieces: Pieces, report, check, workers) -> None:
        boundary = inputs["urban_boundary"]
        left = partition_of(urban_built, part, parts)
        result = subtract_cover(
            left.geoms,
            boundary.geoms,
            cover_tree=boundary.tree,
            workers=workers,
            progress=report,
            check=check,
        )
        pieces.add(np.full(len(result), "urban_outside_boundary", dtype=object), result, left, None)

    return [
        pairwise("construction_on_farmland", "land_use_plan", "basic_farmland", built),
        pairwise("construction_on_redline", "land_use_plan", "ecological_redline", built),
        ("urban construction outside the boundary", outside),
    ]


def _records(
    ctx: PlanFuse,
    analysis: Analysis,
    pieces: Pieces,
    districts: DistrictSet,
    selected: list[str] | None,
) -> tuple[list[ConflictRecord], dict[str, dict[str, float]]]:
    """The conflict records of an overlay's pieces (cut at district boundaries, noise
    dropped, slivers flagged) and the count and area per type."""
    min_area, min_thin = sliver_rule(ctx)
    noise_m2 = float(ctx.settings.conflict_noise_m2)
    stats = _empty_stats(analysis)
    records: list[ConflictRecord] = []
    conflict_codes = {t.code for t in analysis.conflict_types}
    wanted = None if selected is None else {districts.position(c) for c in selected}
    # The urban boundary layer as a source, read once and only when a piece needs it.
    boundary_source = functools.cache(lambda: _boundary_source(ctx))
    for types, geoms, a, b in zip(pieces.type, pieces.geoms, pieces.a, pieces.b, strict=True):
        if len(geoms) == 0:
            continue
        keep_conflicts = np.isin(types, list(conflict_codes))
        # Consistent pieces (two_plans 01/02) are only counted, city-wide or in the region.
        consistent = np.flatnonzero(~keep_conflicts)
        if consistent.size:
            _count_consistent(
                stats,
                types[consistent],
                geoms[consistent],
                districts,
                wanted,
                (min_area, min_thin, noise_m2),
            )
        idx = np.flatnonzero(keep_conflicts)
        if idx.size == 0:
            continue
        parts = _kept_parts(geoms[idx], types[idx], districts, wanted, noise_m2, stats)
        thick = np.asarray(thinness_m(parts.parts), dtype=np.float64).reshape(-1)
        sliver, reasons = sliver_flags(parts.areas_m2, thick, min_area, min_thin)
        for k in range(len(parts.owner)):
            i = idx[parts.owner[k]]
            code = str(types[i])
            area = float(parts.areas_m2[k])
            _count(stats[code], area, bool(sliver[k]))
            d = int(parts.district[k])
            records.append(
                ConflictRecord(
                    analysis=analysis.name,
                    type=code,
                    geom_work=parts.parts[k],
                    area_m2=area,
                    thickness_m=float(thick[k]),
                    sliver=bool(sliver[k]),
                    sliver_reason=reasons[k],
                    district=districts.adcodes[d] if d >= 0 else None,
                    district_name=districts.names[d] if d >= 0 else None,
                    sources=_sources(a, b, i, boundary_source),
                )
            )
    return records, stats


def _empty_stats(analysis: Analysis) -> dict[str, dict[str, float]]:
    return {
        t.code: {
            "count": 0,
            "area_m2": 0.0,
            "sliver_count": 0,
            "sliver_area_m2": 0.0,
            "noise_count": 0,
        }
        for t in analysis.types
    }


def _kept_parts(
    geoms: np.ndarray,
    types: np.ndarray,
    districts: DistrictSet,
    wanted: set[int] | None,
    noise_m2: float,
    stats: dict[str, dict[str, float]],
):
    """The conflict pieces cut at district boundaries, without the parts under `noise_m2`
    (counted per type as noise) and, when districts were selected, those outside them."""
    parts = split_by_district(geoms, districts)
    keep = parts.areas_m2 >= noise_m2
    for code in types[parts.owner[~keep]].tolist():
        stats[str(code)]["noise_count"] += 1
    if wanted is not None:
        keep &= np.isin(parts.district, list(wanted))
    return type(parts)(
        parts.owner[keep], parts.district[keep], parts.parts[keep], parts.areas_m2[keep]
    )


def _count(entry: dict[str, float], area_m2: float, sliver: bool) -> None:
    if sliver:
        entry["sliver_count"] += 1
        entry["sliver_area_m2"] += area_m2
    else:
        entry["count"] += 1
        entry["area_m2"] += area_m2


def _sources(a, b, i: int, boundary_source) -> list[dict[str, Any]]:
    """The features the piece comes from: its A feature, and its B feature or (for the
    outside-the-boundary type) the urban boundary layer."""
    a_in, a_pos = a
    b_in, b_pos = b
    sources = [a_in.source(int(a_pos[i]))]
    sources.append(b_in.source(int(b_pos[i])) if b_in is not None else boundary_source())
    return sources


def _count_consistent(
    stats: dict[str, dict[str, float]],
    types: np.ndarray,
    geoms: np.ndarray,
    districts: DistrictSet,
    wanted: set[int] | None,
    limits: tuple[float, float, float],
) -> None:
    min_area, min_thin, noise_m2 = limits
    if wanted is not None:
        parts = split_by_district(geoms, districts)
        inside = np.isin(parts.district, list(wanted))
        types = types[parts.owner[inside]]
        geoms = parts.parts[inside]
    areas = np.asarray(shapely.area(geoms), dtype=np.float64)
    noise = areas < noise_m2
    for code in types[noise].tolist():
        stats[str(code)]["noise_count"] += 1
    types, geoms, areas = types[~noise], geoms[~noise], areas[~noise]
    thick = np.asarray(thinness_m(geoms), dtype=np.float64).reshape(-1)
    sliver, _ = sliver_flags(areas, thick, min_area, min_thin)
    for code in np.unique(types).tolist():
        m = types == code
        entry = stats[str(code)]
        entry["count"] += int((m & ~sliver).sum())
        entry["area_m2"] += float(areas[m & ~sliver].sum())
        entry["sliver_count"] += int((m & sliver).sum())
        entry["sliver_area_m2"] += float(areas[m & sliver].sum())


def _boundary_source(ctx: PlanFuse) -> dict[str, Any]:
    refs = layers_by_kind(ctx).get("urban_boundary") or []
    ref = refs[0] if refs else None
    return {
        "layer": ref.layer_id if ref else None,
        "version": ref.version if ref else None,
        "kind": "urban_boundary",
        "fid": None,
        "code": None,
        "name": "城镇开发边界外",
        "layer_name": ref.name if ref else None,
        "relation": "outside",
    }
