"""Service monitoring (服务监控): the services PlanFuse offers and how they are doing.

* :mod:`~planfuse.services.monitoring.catalogue` — the service catalogue (服务目录) and which
  service a request path belongs to.
* :mod:`~planfuse.services.monitoring.metrics` — requests, errors and latency per service
  and minute, recorded in memory and flushed to the database.
* :mod:`~planfuse.services.monitoring.status` — the catalogue with live figures and a state
  per service, over every server process.

Monitoring of plan implementation (规划实施监测) is a different thing and lives apart.
"""
