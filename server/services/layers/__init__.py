"""Planning layers (图层): what the function services read and what the import writes.

* :mod:`~planfuse.services.layers.kinds` — the canonical layer kinds and their attributes.
* :mod:`~planfuse.services.layers.files` — reading uploaded GeoJSON files and zipped
  shapefiles (untrusted, size- and entry-capped).
* :mod:`~planfuse.services.layers.importer` — importing a file as a new layer version,
  all or nothing.
* :mod:`~planfuse.services.layers.catalogue` — the layer catalogue and one layer's versions.
* :mod:`~planfuse.services.layers.data` — current layers by kind and the spatial index of a
  layer version, for the services.
* :mod:`~planfuse.services.layers.land_use` — the 用地用海 classification (2023);
  :mod:`~planfuse.services.layers.land_classes` — the legacy plans' classifications.
"""
