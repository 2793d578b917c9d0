"""Districts for the conflict and ledger services: the current `district` layer in the
working CRS, and splitting pieces at district boundaries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput
from planfuse.services.conflicts.overlay import polygonal
from planfuse.services.layers.data import LayerRef, current_layers, layer_index

#: A piece whose parts inside districts cover all but this share of it has no outside part
#: (floating-point noise of the intersections, not territory).
OUTSIDE_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class DistrictSet:
    """District polygons (working CRS, prepared) with their adcodes, names and areas (m²)."""

    ref: LayerRef
    adcodes: np.ndarray
    names: np.ndarray
    geoms: np.ndarray
    areas_m2: np.ndarray
    tree: shapely.STRtree

    def __len__(self) -> int:
        return len(self.adcodes)

    def position(self, adcode: str) -> int:
        hits = np.flatnonzero(self.adcodes == adcode)
        return int(hits[0]) if hits.size else -1

    def name_of(self, adcode: str | None) -> str | None:
        if adcode is None:
            return None
        pos = self.position(adcode)
        return None if pos < 0 else self.names[pos]


def load_districts(ctx: PlanFuse) -> DistrictSet | None:
    """The current district layer (the first by id when several exist), or None."""
    refs = current_layers(ctx, ["district"])
    if not refs:
        return None
    ref = refs[0]
    index = layer_index(ctx, ref)
    attrs = index.attributes
    adcodes = attrs.get("adcode")
    if adcodes is None or any(v is None for v in adcodes):
        adcodes = attrs["district"]
    names = attrs.get("name", np.full(len(index), None, dtype=object))
    # Private copies: preparing mutates a geometry, and the cached index is shared.
    geoms = shapely.from_wkb(shapely.to_wkb(index.geometries))
    shapely.prepare(geoms)
    return DistrictSet(
        ref=ref,
        adcodes=np.asarray([str(a) for a in adcodes], dtype=object),
        names=np.asarray(names, dtype=object),
        geoms=geoms,
        areas_m2=np.asarray(index.areas_m2, dtype=np.float64),
        tree=shapely.STRtree(geoms),
    )


def require_districts(ctx: PlanFuse) -> DistrictSet:
    districts = load_districts(ctx)
    if districts is None:
        raise missing_layers(["district"])
    return districts


def missing_layers(kinds: Iterable[str], analysis: str | None = None) -> Conflict:
    """The analysis needs layers of these kinds and the database has none (a Conflict)."""
    from planfuse.services.conflicts.analyses import kind_title

    kinds = list(kinds)
    names = ", ".join(f"{k} ({kind_title(k)})" for k in kinds)
    what = f"analysis {analysis!r}" if analysis else "this request"
    return Conflict(
        f"{what} needs layers of kind {names}, and none is loaded; import one with "
        "`planfuse layers import FILE --kind KIND` or POST /api/v1/layers/{id}/versions",
        code="missing_layers",
        errors=[
            {"field": "kind", "kind": k, "message": f"no current layer of kind {k!r}"}
            for k in kinds
        ],
        title="Layers missing",
    )


def check_district_codes(districts: DistrictSet, codes: Sequence[object], field: str) -> list[str]:
    """The codes as strings, each a district adcode; InvalidInput naming the unknown ones."""
    known = set(districts.adcodes.tolist())
    out: list[str] = []
    bad = []
    for i, code in enumerate(codes):
        text = str(code).strip() if isinstance(code, str | int) else None
        if not text or text not in known:
            bad.append({"field": f"{field}[{i}]", "message": f"unknown district {code!r}"})
        else:
            out.append(text)
    if bad:
        sample = ", ".join(sorted(known)[:5])
        raise InvalidInput(
            f"{len(bad)} district code(s) are not adcodes of the district layer "
            f"{districts.ref.layer_id!r} (e.g. {sample}, …)",
            code="unknown_district",
            errors=bad,
            title="Unknown district",
        )
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class DistrictParts:
    """Pieces cut at district boundaries: ``owner`` indexes the input pieces, ``district``
    the DistrictSet (-1: outside every district), ``parts`` the geometries, ``areas_m2``."""

    owner: np.ndarray
    district: np.ndarray
    parts: np.ndarray
    areas_m2: np.ndarray


def split_by_district(pieces: np.ndarray, districts: DistrictSet) -> DistrictParts:
    """Cut each polygonal piece (working CRS) at the district boundaries.

    A piece inside one district stays whole (prepared ``contains``, no intersection); a
    piece crossing districts gives one part per district; territory outside every district
    becomes a part with district -1. Parts with zero area are dropped.
    """
    pieces = np.asarray(pieces, dtype=object)
    n = len(pieces)
    if n == 0:
        empty = np.empty(0, dtype=np.int64)
        return DistrictParts(empty, empty, np.empty(0, dtype=object), np.empty(0))
    qi, qd = districts.tree.query(pieces, predicate="intersects")
    inside = shapely.contains(districts.geoms[qd], pieces[qi])
    whole = np.full(n, -1, dtype=np.int64)
    # A piece inside two districts at once (overlapping boundaries) goes to the first.
    whole_i, first = np.unique(qi[inside], return_index=True)
    whole[whole_i] = qd[inside][first]
    owners = [np.flatnonzero(whole >= 0)]
    dists = [whole[owners[0]]]
    parts = [pieces[owners[0]]]
    cut = whole[qi] < 0
    ci, cd = qi[cut], qd[cut]
    if ci.size:
        pieces_cut = polygonal(shapely.intersection(pieces[ci], districts.geoms[cd]))
        owners.append(ci)
        dists.append(cd)
        parts.append(pieces_cut)
    # Territory outside every district.
    no_district = np.setdiff1d(np.arange(n), qi)
    owners.append(no_district)
    dists.append(np.full(len(no_district), -1, dtype=np.int64))
    parts.append(pieces[no_district])
    owner = np.concatenate(owners)
    district = np.concatenate(dists)
    geoms = np.concatenate(parts)
    areas = np.asarray(shapely.area(geoms), dtype=np.float64)
    if ci.size:
        covered = np.bincount(owner[district >= 0], weights=areas[district >= 0], minlength=n)
        partial = np.unique(ci)
        total = shapely.area(pieces[partial])
        rest = partial[covered[partial] < total * (1 - OUTSIDE_RELATIVE_TOLERANCE)]
        if rest.size:
            outside = np.empty(len(rest), dtype=object)
            for k, i in enumerate(rest.tolist()):
                around = districts.geoms[cd[ci == i]]
                outside[k] = shapely.difference(pieces[i], shapely.union_all(around))
            outside = polygonal(outside)
            out_areas = shapely.area(outside)
            owner = np.concatenate([owner, rest])
            district = np.concatenate([district, np.full(len(rest), -1, dtype=np.int64)])
            geoms = np.concatenate([geoms, outside])
            areas = np.concatenate([areas, out_areas])
    keep = areas > 0
    order = np.lexsort((district[keep], owner[keep]))
    return DistrictParts(
        owner[keep][order], district[keep][order], geoms[keep][order], areas[keep][order]
    )
