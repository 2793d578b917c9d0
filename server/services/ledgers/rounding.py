"""Rounding ledger figures so that the printed rows add up to the printed totals.

Areas are computed unrounded; totals are separate aggregates of the same pieces (not sums
of rows). Printed to 0.01 ha, rows would then not always add up to the totals. Rule:

* **The grand total is the nearest rounding of its independent aggregate.**
* **One dimension** (rows of one column): largest remainder — every row is rounded down,
  then the rows with the largest remainders get one unit each until the rows sum to the
  total (Hamilton's method).
* **Two dimensions** (district × class table with district subtotals, class totals and a
  grand total): controlled rounding — every cell, subtotal and total is its exact value
  rounded down or up (never off by a whole unit), every row and column adds up exactly,
  and the grand total is as above. Such a rounding always exists (a feasible integral
  flow; Bacharach 1966, Cox 1987); it is found with a max-flow over the fractional parts,
  trying cells with larger fractional parts first so the result is close to nearest
  rounding.

Everything works on integers of the unit (0.01 ha = 100 m²).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

#: Fractional parts closer than this to 0 or 1 are float noise of the unit conversion.
EPS = 1e-7


def _clean(x: np.ndarray) -> np.ndarray:
    near = np.round(x)
    return np.where(np.abs(x - near) < EPS, near, x)


def round_total(exact_units: float) -> int:
    """Nearest rounding, halves up (figures are non-negative)."""
    return math.floor(float(_clean(np.asarray([exact_units]))[0]) + 0.5)


def largest_remainder(exact_units, total_units: int) -> np.ndarray:
    """Integers, each the floor or ceiling of ``exact_units[i]``, summing to
    ``total_units`` (which must lie between the sums of floors and of ceilings)."""
    x = _clean(np.asarray(exact_units, dtype=np.float64))
    base = np.floor(x).astype(np.int64)
    frac = x - base
    short = int(total_units - base.sum())
    if short < 0 or short > int((frac > 0).sum()):
        raise ValueError(f"total {total_units} cannot be reached by rounding {x.tolist()}")
    if short:
        # Largest remainder first; ties by position, so the result is deterministic.
        order = np.lexsort((np.arange(len(x)), -frac))
        base[order[:short]] += 1
    return base


class _FlowGraph:
    """Dinic's max-flow on a small graph (a ledger has at most a few thousand cells)."""

    def __init__(self, n: int):
        self.n = n
        self.adj: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[int] = []

    def add(self, u: int, v: int, cap: int) -> int:
        self.adj[u].append(len(self.to))
        self.to.append(v)
        self.cap.append(cap)
        self.adj[v].append(len(self.to))
        self.to.append(u)
        self.cap.append(0)
        return len(self.to) - 2

    def max_flow(self, s: int, t: int) -> int:
        flow = 0
        while True:
            level = [-1] * self.n
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                for e in self.adj[u]:
                    if self.cap[e] > 0 and level[self.to[e]] < 0:
                        level[self.to[e]] = level[u] + 1
                        queue.append(self.to[e])
            if level[t] < 0:
                return flow
            it = [0] * self.n
            while True:
                pushed = self._push(s, t, level, it)
                if not pushed:
                    break
                flow += pushed

    def _push(self, s: int, t: int, level: list[int], it: list[int]) -> int:
        # Iterative DFS for one augmenting path (capacities are tiny integers).
        path: list[int] = []
        u = s
        while True:
            if u == t:
                pushed = min(self.cap[e] for e in path)
                for e in path:
                    self.cap[e] -= pushed
                    self.cap[e ^ 1] += pushed
                return pushed
            advanced = False
            while it[u] < len(self.adj[u]):
                e = self.adj[u][it[u]]
                v = self.to[e]
                if self.cap[e] > 0 and level[v] == level[u] + 1:
                    path.append(e)
                    u = v
                    advanced = True
                    break
                it[u] += 1
            if not advanced:
                if not path:
                    return 0
                e = path.pop()
                u = self.to[e ^ 1]
                it[u] += 1


def controlled_round(exact_units, total_units: int | None = None) -> np.ndarray:
    """Round a non-negative 2-D table (rows × columns, in units) to integers so that each
    cell, row sum and column sum is its exact value rounded down or up and the grand total
    is ``total_units`` (default: nearest rounding of the exact grand total).

    Returns the integer table; its row and column sums are the rounded subtotals.
    """
    x = _clean(np.asarray(exact_units, dtype=np.float64))
    if x.ndim != 2:
        raise ValueError("controlled_round needs a 2-D table")
    rows, cols = x.shape
    base = np.floor(x).astype(np.int64)
    frac = x - base
    if total_units is None:
        total_units = round_total(float(x.sum()))
    frac_total = float(frac.sum())
    target = int(total_units - base.sum())
    lo_t, hi_t = math.floor(frac_total + EPS), math.ceil(frac_total - EPS)
    if not lo_t <= target <= hi_t:
        raise ValueError(
            f"total {total_units} is not a rounding of the table's exact total {float(x.sum()):.6f}"
        )
    if rows == 0 or cols == 0 or not (frac > 0).any():
        return base
    row_frac = frac.sum(axis=1)
    col_frac = frac.sum(axis=0)
    # Nodes: s, t, rows, cols, and the super source/sink for the lower bounds.
    s, t = 0, 1
    r0, c0 = 2, 2 + rows
    ss, tt = 2 + rows + cols, 3 + rows + cols
    graph = _FlowGraph(4 + rows + cols)
    excess = np.zeros(4 + rows + cols, dtype=np.int64)

    def bounded(u: int, v: int, lo: int, hi: int) -> int:
        edge = graph.add(u, v, hi - lo)
        excess[v] += lo
        excess[u] -= lo
        return edge

    for i in range(rows):
        bounded(s, r0 + i, math.floor(row_frac[i] + EPS), math.ceil(row_frac[i] - EPS))
    cells: list[tuple[int, int, int]] = []
    # Larger fractional parts first: the search tends to round those up.
    for flat in np.lexsort((np.arange(frac.size), -frac.ravel())).tolist():
        i, j = divmod(flat, cols)
        if frac[i, j] > 0:
            cells.append((i, j, graph.add(r0 + i, c0 + j, 1)))
    for j in range(cols):
        bounded(c0 + j, t, math.floor(col_frac[j] + EPS), math.ceil(col_frac[j] - EPS))
    bounded(t, s, target, target)
    need = 0
    for node in range(4 + rows + cols):
        if excess[node] > 0:
            graph.add(ss, node, int(excess[node]))
            need += int(excess[node])
        elif excess[node] < 0:
            graph.add(node, tt, int(-excess[node]))
    if graph.max_flow(ss, tt) != need:  # pragma: no cover - impossible by the theorem
        raise ValueError("no controlled rounding exists for this table")
    out = base.copy()
    for i, j, edge in cells:
        # The reverse edge's capacity is the flow through the cell's edge (0 or 1).
        out[i, j] += graph.cap[edge ^ 1]
    return out
