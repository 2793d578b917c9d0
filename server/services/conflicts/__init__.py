"""Conflict detection and coordination (冲突检测与协调, 差异图斑).

* :mod:`.analyses` — the three analyses, their conflict types and input layer kinds;
* :mod:`.overlay` — the parallel polygon overlay (pairwise intersections, differences);
* :mod:`.districts` — the district layer and cutting pieces at district boundaries;
* :mod:`.detect` — running an analysis into conflict records (slivers flagged);
* :mod:`.matching` — matching a re-detection's pieces with stored patches;
* :mod:`.service` — detection jobs, storage, listing and the coordination workflow.
"""
