"""Departments' own services (部门自有服务, 逻辑集中，不改变数据所有权): a department's
OGC API – Features collection, WFS, WMS, ArcGIS REST service or JSON API registered in the
catalogue. PlanFuse checks its health on a schedule and proxies it under its own
authentication and grants; the data stays where it is.

* :mod:`~planfuse.services.remote.network` — which URLs and addresses may be called
  (server-side request forgery), and the one HTTP client that calls them;
* :mod:`~planfuse.services.remote.records` — the stored registrations and the catalogue
  entries made from them;
* :mod:`~planfuse.services.remote.registry` — registering, changing and removing one;
* :mod:`~planfuse.services.remote.health` — the scheduled health checks;
* :mod:`~planfuse.services.remote.proxy` — forwarding a caller's request.
"""
