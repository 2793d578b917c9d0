"""Aggregation: unrounded rows by (district, group) and, separately, the totals by
district, by group and overall (a test checks the rows add up to them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planfuse.services.ledgers.pieces import Pieces


@dataclass
class Aggregates:
    """Unrounded rows and independently aggregated totals of one ledger."""

    districts: list[int]  # district positions in row order (-1: outside)
    groups: list[str]
    cell_count: np.ndarray  # districts × groups
    cell_m2: np.ndarray
    district_count: np.ndarray
    district_m2: np.ndarray
    group_count: np.ndarray
    group_m2: np.ndarray
    total_count: int
    total_m2: float


def aggregate(pieces: Pieces, district_order: Sequence[int], groups: Sequence[str]) -> Aggregates:
    """Rows by (district, group) and, separately, totals by district, by group and overall."""
    d_index = {d: i for i, d in enumerate(district_order)}
    g_index = {g: j for j, g in enumerate(groups)}
    di = np.array([d_index[int(d)] for d in pieces.district], dtype=np.int64)
    gj = np.array([g_index[g] for g in pieces.group], dtype=np.int64)
    shape = (len(district_order), len(groups))
    flat = di * len(groups) + gj if len(groups) else di
    size = shape[0] * shape[1]
    cell_count = np.bincount(flat, minlength=size).reshape(shape)
    cell_m2 = np.bincount(flat, weights=pieces.area_m2, minlength=size).reshape(shape)
    return Aggregates(
        districts=list(district_order),
        groups=list(groups),
        cell_count=cell_count,
        cell_m2=cell_m2,
        # Totals from the pieces again, not from the cells.
        district_count=np.bincount(di, minlength=shape[0]),
        district_m2=np.bincount(di, weights=pieces.area_m2, minlength=shape[0]),
        group_count=np.bincount(gj, minlength=shape[1]),
        group_m2=np.bincount(gj, weights=pieces.area_m2, minlength=shape[1]),
        total_count=len(pieces.area_m2),
        total_m2=float(np.sum(pieces.area_m2)),
    )
