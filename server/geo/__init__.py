"""The geo core: geometry and coordinate systems, plain Python, nothing of HTTP.

Modules (import them directly; this package imports nothing eagerly):

* :mod:`planfuse.geo.errors` — GeoError and its subclasses, InputProblem (where a problem is).
* :mod:`planfuse.geo.offsets` — GCJ-02 / BD-09 web-map offsets (vectorised numpy).
* :mod:`planfuse.geo.crs` — the supported CRSs, strict parsing, .prj identification,
  transformations that never use a PROJ "ballpark", zone and area-of-use checks, the
  working CRS for metres.
* :mod:`planfuse.geo.parse` — untrusted GeoJSON / WKT / 界址点 lists → validated geometries.
* :mod:`planfuse.geo.measure` — geodesic areas (the reference), the equal-area working
  projection, distances and sliver thinness.
* :mod:`planfuse.geo.index` — STRtree index of a layer version with vectorised overlaps,
  and a thread-safe LRU cache of them.
"""
