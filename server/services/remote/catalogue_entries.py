"""The proxy route of departments' remote services in the service catalogue.

A request to `/api/v1/remote/{id}/…` is counted for, stopped with, and granted as the
registered service `{id}` (planfuse.web.service_gate); this entry only holds the requests
naming no registered service.
"""

from __future__ import annotations

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

PROXY_SERVICE_ID = "remote_services"
PROXY_PREFIX = "/api/v1/remote"

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id=PROXY_SERVICE_ID,
        name_zh="部门自有服务代理",
        name_en="Departments' remote services (proxy)",
        kind="platform",
        dept="natural_resources",
        description_zh="代理已登记的部门自有服务（OGC、WFS、WMS、ArcGIS REST、JSON API），"
        "数据保留在原部门。",
        description_en="Proxies the departments' registered services (OGC, WFS, WMS, ArcGIS "
        "REST, JSON APIs); the data stays with its department.",
        endpoints=(Endpoint(None, PROXY_PREFIX, subpaths=True),),
    ),
)
