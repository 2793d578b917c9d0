"""Ledgers (台账): counts, areas (ha, 2 decimals) and shares of district area, per district
and city-wide, for the conflict patches and for any polygon layer.

Ledger names (the `{name}` of `GET /api/v1/ledgers/{name}`):

=====================  ==============================  ========================================
name                   中文                             rows grouped by
=====================  ==============================  ========================================
``conflicts``          多规合一台账（差异图斑）          analysis and conflict type
``urban_plan``         城乡规划台账                      GB 50137 major class (``group=code``: code)
``city_plan``          城市规划台账                      as urban_plan, 城市建设用地 only
``land_plan``          土地利用总体规划台账              TD/T 1024 code
``land_use_plan``      国土空间规划用地台账              用地用海 level-1 (``group=code``: code)
``basic_farmland`` …   one per polygon layer kind        the kind's attribute (zone, type) or —
``comprehensive``      综合台账                          item: construction land, the three
                                                         control lines, conflicts per analysis
=====================  ==============================  ========================================

Layer ledgers read every current layer of the kind (``layer=<id>`` for one layer). A
feature crossing a district boundary is cut there (its parts count in each district);
territory outside every district is a row with district null.

Totals are separate aggregates of the same pieces, not sums of rows; a test checks that
unrounded rows add up to them. Printed figures are reconciled as described in
:mod:`planfuse.services.ledgers.rounding`: the grand total is the nearest rounding of its
aggregate and rows, subtotals and class totals add up exactly (each within 0.01 ha of
its exact value). Shares (% of the district's area, or of the city's for totals) are
computed from unrounded areas and are not forced to add up.

Modules: :mod:`~planfuse.services.ledgers.definitions` (the ledgers and their groups),
:mod:`~planfuse.services.ledgers.request` (the checked parameters),
:mod:`~planfuse.services.ledgers.pieces` (what is aggregated),
:mod:`~planfuse.services.ledgers.aggregate` (rows and totals),
:mod:`~planfuse.services.ledgers.rounding` (reconciled rounding),
:mod:`~planfuse.services.ledgers.build` (the ledger) and
:mod:`~planfuse.services.ledgers.export` (CSV and XLSX).
"""
