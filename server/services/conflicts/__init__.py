"""Conflict detection and coordination (冲突检测与协调, 差异图斑).

* :mod:`.analyses` — the three analyses, their conflict types and input layer kinds;
* :mod:`.overlay` — the parallel polygon overlay (pairwise intersections, differences);
* :mod:`.districts` — the district layer and cutting pieces at district boundaries;
* :mod:`.detect` — running an analysis (or one spatial partition of it) into conflict
  records (slivers flagged), and merging partitions;
* :mod:`.partitions` — detection as a partitioned job (one task per partition on the queue);
* :mod:`.matching` — matching a re-detection's pieces with stored patches;
* :mod:`.detection_jobs` — detection as a background job and saving it (history kept);
* :mod:`.queries` — options, the filtered list, one conflict and its history;
* :mod:`.workflow` — the coordination workflow (status changes, notes, opinions);
* :mod:`.actor` — who makes a change (app and user), recorded with every change.
"""
