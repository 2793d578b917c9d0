"""Plan-implementation monitoring, evaluation and warnings (规划实施监测评估预警).

Each year the planning bureau measures where the city stands against the plan's binding
indicators (约束性指标): `indicators` holds the versioned indicator documents, `years`
the land-use status versions by year, `measure` the areas per district, `values` the
values with their status against the targets, series and projections.

Not to be confused with `planfuse.services.monitoring`, the service catalogue's metrics.
"""
