"""The service catalogue (服务目录): the services PlanFuse offers, the paths each one
answers, and which service a request belongs to.

A request is attributed to the service whose path prefix is the longest match of its
route (`service_for_path`); the web layer resolves this once per Flask endpoint, so the
per-request cost is one dictionary look-up. Requests no route matches (404, 405) are
attributed by their path the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Service kinds, in the catalogue's order: 功能服务, 数据服务, 组件 (application services),
#: the admin console and API, and the platform itself (home page, probes, static files).
KINDS = ("function", "data", "widget", "admin", "platform")
OTHER = "other"


@dataclass(frozen=True)
class Service:
    """One catalogue entry. `prefixes` are the request paths it answers; the first is the
    base path shown in the catalogue."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    prefixes: tuple[str, ...]

    @property
    def base_path(self) -> str:
        return self.prefixes[0]

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": {"zh-CN": self.name_zh, "en": self.name_en},
            "kind": self.kind,
            "base_path": self.base_path,
        }


SERVICES: tuple[Service, ...] = (
    Service(
        "compliance_check",
        "合规审查",
        "Compliance check",
        "function",
        (
            "/api/v1/compliance/check",
            "/api/v1/compliance",
            "/api/v1/projects",
        ),
    ),
    Service(
        "compliance_reports",
        "审查报告",
        "Compliance reports",
        "function",
        ("/api/v1/compliance/reports", "/api/v1/compliance/jwks.json"),
    ),
    Service("siting_search", "选址分析", "Siting search", "function", ("/api/v1/siting",)),
    Service("siting_plans", "选址方案", "Siting plans", "function", ("/api/v1/siting/plans",)),
    Service(
        "conflict_detection",
        "冲突检测",
        "Conflict detection and jobs",
        "function",
        ("/api/v1/conflicts/detect", "/api/v1/conflicts/options", "/api/v1/jobs"),
    ),
    Service("conflicts", "冲突协调", "Conflicts", "function", ("/api/v1/conflicts",)),
    Service("ledgers", "台账", "Ledgers", "function", ("/api/v1/ledgers",)),
    Service("layer_catalogue", "图层目录", "Layer catalogue", "data", ("/api/v1/layers",)),
    Service("ogc_features", "OGC 要素服务", "OGC API – Features", "data", ("/ogc",)),
    Service("vector_tiles", "矢量瓦片", "Vector tiles", "data", ("/tiles",)),
    Service(
        "embed_session",
        "嵌入会话交换",
        "Embed session exchange",
        "widget",
        ("/embed/session", "/api/v1/embed-tokens"),
    ),
    Service("widget_pages", "组件页面", "Widget pages", "widget", ("/embed", "/embed.js")),
    Service("admin", "管理", "Administration", "admin", ("/admin", "/api/v1/admin")),
    Service(OTHER, "其他", "Other (home, probes, static files)", "platform", ("/",)),
)

SERVICES_BY_ID: dict[str, Service] = {s.id: s for s in SERVICES}

# Longest prefix first, so /api/v1/siting/plans wins over /api/v1/siting.
_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    sorted(
        ((prefix, s.id) for s in SERVICES for prefix in s.prefixes if s.id != OTHER),
        key=lambda item: -len(item[0]),
    )
)


def service_for_path(path: str) -> str:
    """The id of the service answering `path` (a route rule or a request path)."""
    for prefix, service_id in _PREFIXES:
        if path == prefix or (path.startswith(prefix) and path[len(prefix)] in "/.<"):
            return service_id
    return OTHER
