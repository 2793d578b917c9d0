"""What every data service (OGC API – Features, WFS, WMS, ArcGIS REST) reads layers with:
the published layers (`layers`), the CRSs on offer and axis order (`crs`), feature queries
on SQLite and PostgreSQL (`store`) and GeoJSON output (`output`)."""
