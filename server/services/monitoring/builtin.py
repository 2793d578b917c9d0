"""PlanFuse's own services, as the catalogue lists them.

The seed platform's function services keep their names (城市规划台账-按区县 … 综合台账-总);
the other function services, the data services, one application service per widget and
the platform's plumbing follow.
"""

from __future__ import annotations

from planfuse.services.monitoring.spec import ConfigItem, Endpoint, ServiceSpec

NR = "natural_resources"
HC = "housing_construction"  # publishes the urban plan (城乡规划) and its ledgers
LEDGER = "/ledgers/{name}"


def _ledger(
    service_id: str,
    ledger: str,
    by: str | None,
    name_zh: str,
    name_en: str,
    description_zh: str,
    description_en: str,
    dept: str = NR,
) -> ServiceSpec:
    query = {"by": by} if by else {}
    example = {"by": by} if by else {"by": "district"}
    return ServiceSpec(
        id=service_id,
        name_zh=name_zh,
        name_en=name_en,
        kind="function",
        dept=dept,
        description_zh=description_zh,
        description_en=description_en,
        # `.csv`, `.xlsx` and `.json` on the name pick the format (as `format=` does).
        endpoints=tuple(
            Endpoint(
                "GET",
                f"/api/v1/ledgers/{ledger}{suffix}",
                query=query,
                defaults={"by": "district"},
                openapi=LEDGER,
            )
            for suffix in ("", ".csv", ".xlsx", ".json")
        ),
        example={"query": example},
    )


LEDGER_SERVICES: tuple[ServiceSpec, ...] = (
    _ledger(
        "city_plan_ledger_by_district", "city_plan", "district",
        "城市规划台账-按区县", "City plan ledger by district",
        "城市总体规划的城市建设用地（GB 50137 R、A、B、M、W、S、U、G 八大类）按区县统计：图斑数、"
        "面积（公顷）、占区县面积比例。",
        "The city master plan's urban construction land (GB 50137 classes R, A, B, M, W, S, "
        "U, G) per district: count, area (ha) and share of the district.",
        HC,
    ),
    _ledger(
        "city_plan_ledger_city", "city_plan", "city",
        "城市规划台账-全市", "City plan ledger, city-wide",
        "城市总体规划的城市建设用地按大类汇总全市：图斑数、面积（公顷）、占全市面积比例。",
        "The city master plan's urban construction land per major class for the whole city.",
        HC,
    ),
    _ledger(
        "urban_plan_ledger_by_district", "urban_plan", "district",
        "城乡规划台账-按区县", "Urban–rural plan ledger by district",
        "城乡规划（总规/控规）全部用地按 GB 50137 大类、按区县统计，含非建设用地（E）。",
        "Every class of the urban–rural plan (GB 50137, non-construction land E included) "
        "per district.",
        HC,
    ),
    _ledger(
        "urban_plan_ledger_city", "urban_plan", "city",
        "城乡规划台账-全市", "Urban–rural plan ledger, city-wide",
        "城乡规划全部用地按 GB 50137 大类汇总全市。",
        "Every class of the urban–rural plan per major class for the whole city.",
        HC,
    ),
    _ledger(
        "conflicts_ledger", "conflicts", None,
        "多规合一台账", "Multi-plan integration ledger",
        "多规合一差异图斑台账：按分析与冲突类型、按区县或全市统计图斑数与面积（不含碎图斑）。",
        "The multi-plan conflict patches per analysis and conflict type, by district or "
        "city-wide (slivers excluded).",
    ),
    _ledger(
        "comprehensive_ledger_by_district", "comprehensive", "district",
        "综合台账-按区县", "Comprehensive ledger by district",
        "按区县汇总规划建设用地、三条控制线和各类冲突图斑的数量与面积。",
        "Planned construction land, the three control lines and the conflicts per district.",
    ),
    _ledger(
        "comprehensive_ledger_total", "comprehensive", "city",
        "综合台账-总", "Comprehensive ledger, total",
        "全市汇总规划建设用地、三条控制线和各类冲突图斑的数量与面积。",
        "Planned construction land, the three control lines and the conflicts, city-wide.",
    ),
    ServiceSpec(
        id="layer_ledgers",
        name_zh="图斑统计台账",
        name_en="Layer ledgers (polygon statistics)",
        kind="function",
        dept=NR,
        description_zh="任一面图层（永久基本农田、生态保护红线、国土空间规划用地等）按区县或全市统计图斑数、面积与比例。",
        description_en="Count, area and share of any polygon layer kind (basic farmland, "
        "ecological red line, land-use plan, …) by district or city-wide.",
        endpoints=(Endpoint("GET", "/api/v1/ledgers/{name}"),),
        example={"path": {"name": "basic_farmland"}, "query": {"by": "city"}},
    ),
)  # fmt: skip

SITING_EXAMPLE = {"scope": {"districts": ["500112"]}, "land_use": "1001"}

SITING_SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="siting_advanced",
        name_zh="辅助选址-高级条件",
        name_en="Siting, advanced conditions",
        kind="function",
        dept=NR,
        description_zh="在基础条件之上，按管控图层内外、与道路或设施的距离、敏感区排除筛选地块并评分排序，第一名为推荐。",
        description_en="Candidate parcels filtered by control layers (inside/outside), "
        "proximity to roads or facilities and sensitive-zone exclusion, scored and ranked.",
        endpoints=(
            Endpoint("POST", "/api/v1/siting/search"),
            Endpoint("GET", "/api/v1/siting/options"),
        ),
        example={
            "body": {
                **SITING_EXAMPLE,
                "controls": [{"kind": "basic_farmland", "mode": "outside"}],
            }
        },
        config=(
            ConfigItem(
                "tolerance_m2",
                "siting_tolerance_m2",
                "地块与图层重叠不超过此面积（平方米）即视为在图层外（各部门数据的边界误差）。",
                "A parcel is outside a layer when it overlaps it by at most this many m².",
                minimum=0,
                maximum=10_000,
            ),
            ConfigItem(
                "inside_share",
                "siting_inside_share",
                "地块面积落在图层内的比例不低于此值即视为在图层内。",
                "A parcel is inside a layer when at least this share of its area lies in it.",
                minimum=0.5,
                maximum=1,
            ),
        ),
    ),
    ServiceSpec(
        id="siting_basic",
        name_zh="辅助选址-基础条件",
        name_en="Siting, basic conditions",
        kind="function",
        dept=NR,
        description_zh="按范围（区县或绘制范围）、用地用海分类和面积区间查找候选地块并排序。",
        description_en="Candidate parcels by scope (districts or a drawn area), 用地用海 "
        "class and area range, ranked.",
        endpoints=(Endpoint("POST", "/api/v1/siting/search/basic"),),
        example={"body": SITING_EXAMPLE},
    ),
    ServiceSpec(
        id="siting_plans_get",
        name_zh="获取辅助选址方案",
        name_en="Get siting plans",
        kind="function",
        dept=NR,
        description_zh="列出当前用户保存的选址方案，或打开一个方案及其结果。",
        description_en="The caller's saved siting plans, or one plan with its result.",
        endpoints=(
            Endpoint("GET", "/api/v1/siting/plans"),
            Endpoint("GET", "/api/v1/siting/plans/{id}"),
        ),
    ),
    ServiceSpec(
        id="siting_plans_delete",
        name_zh="删除辅助选址方案",
        name_en="Delete a siting plan",
        kind="function",
        dept=NR,
        description_zh="删除当前用户的一个选址方案。",
        description_en="Delete one of the caller's siting plans.",
        endpoints=(Endpoint("DELETE", "/api/v1/siting/plans/{id}"),),
    ),
    ServiceSpec(
        id="siting_plans_add",
        name_zh="添加辅助选址方案",
        name_en="Add a siting plan",
        kind="function",
        dept=NR,
        description_zh="保存一个选址方案：运行其选址条件并保存结果，以便之后重新打开。",
        description_en="Save a siting plan: its search is run and the result kept.",
        endpoints=(Endpoint("POST", "/api/v1/siting/plans"),),
        example={"body": {"name": "示例方案", **SITING_EXAMPLE}},
    ),
    ServiceSpec(
        id="siting_plans_run",
        name_zh="重新运行辅助选址方案",
        name_en="Re-run a siting plan",
        kind="function",
        dept=NR,
        description_zh="在当前数据上重新运行一个已保存的选址方案，并给出与上次结果的差异。",
        description_en="Re-run a saved siting plan on today's data and show what changed.",
        endpoints=(Endpoint("POST", "/api/v1/siting/plans/{id}/run"),),
    ),
)

OTHER_FUNCTION_SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="compliance_check",
        name_zh="项目合规审查",
        name_en="Compliance check",
        kind="function",
        dept=NR,
        description_zh="对项目红线逐项审查永久基本农田、生态保护红线、城镇开发边界、规划用途、敏感区和控制线，给出综合结论。",
        description_en="Checks a project red line against basic farmland, the ecological "
        "red line, the urban boundary, planned use, sensitive zones and control lines.",
        endpoints=(
            Endpoint("POST", "/api/v1/compliance/check"),
            Endpoint("POST", "/api/v1/compliance/parse"),
            Endpoint("GET", "/api/v1/compliance/land-use-classes"),
            Endpoint(None, "/api/v1/compliance/rulesets", subpaths=True),
            Endpoint(None, "/api/v1/projects", subpaths=True),
        ),
        example={
            "body": {
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[106.50, 29.60], [106.51, 29.60], [106.51, 29.61], [106.50, 29.60]]
                    ],
                },
                "crs": "EPSG:4490",
                "land_use": "0701",
                "project_type": "urban",
            }
        },
    ),
    ServiceSpec(
        id="compliance_reports",
        name_zh="审查报告",
        name_en="Compliance reports",
        kind="function",
        dept=NR,
        description_zh="已保存的合规审查报告：查询、打开、导出 CSV/XLSX，及验证报告签名的公钥。",
        description_en="Stored compliance reports: list, open, export as CSV or XLSX, and "
        "the keys that verify their signatures.",
        endpoints=(
            Endpoint("GET", "/api/v1/compliance/reports", subpaths=True),
            Endpoint("GET", "/api/v1/compliance/jwks.json"),
        ),
    ),
    ServiceSpec(
        id="conflict_detection",
        name_zh="冲突检测",
        name_en="Conflict detection",
        kind="function",
        dept=NR,
        description_zh="两规、三线、规划与管控线冲突检测（后台作业），识别差异图斑并剔除碎图斑。",
        description_en="Two-plan, three-line and plan-vs-control-line conflict detection as "
        "a background job; slivers set apart.",
        endpoints=(
            Endpoint("POST", "/api/v1/conflicts/detect"),
            Endpoint("GET", "/api/v1/conflicts/options"),
            Endpoint(None, "/api/v1/jobs", subpaths=True),
        ),
        config=(
            ConfigItem(
                "sliver_area_m2",
                "conflict_sliver_area_m2",
                "小于此面积（平方米）的冲突图斑为碎图斑：单列，不计入数量和面积。下次检测起生效。",
                "Conflict pieces under this area (m²) are slivers: listed apart, not counted. "
                "Applies from the next detection.",
                minimum=0,
                maximum=100_000,
            ),
            ConfigItem(
                "sliver_thinness_m",
                "conflict_sliver_thinness_m",
                "比此更窄（2×面积/周长，米）的冲突图斑也是碎图斑。下次检测起生效。",
                "Conflict pieces thinner than this (2·area/perimeter, m) are slivers too. "
                "Applies from the next detection.",
                minimum=0,
                maximum=100,
            ),
        ),
    ),
    ServiceSpec(
        id="conflicts_touching",
        name_zh="冲突图斑-按红线",
        name_en="Conflicts touching a red line",
        kind="function",
        dept=NR,
        description_zh="给出项目红线压占的差异图斑（不含碎图斑）及各自压占面积，大者在前。",
        description_en="The conflict patches a project red line overlaps (slivers excluded), "
        "with each overlap in m², largest first.",
        endpoints=(Endpoint("POST", "/api/v1/conflicts/touching"),),
    ),
    ServiceSpec(
        id="conflicts",
        name_zh="冲突协调",
        name_en="Conflict coordination",
        kind="function",
        dept=NR,
        description_zh="差异图斑的查询与协调：待协调、协调中、已调整、保留，每次变更留痕。",
        description_en="Conflict patches as cases to coordinate: pending, coordinating, "
        "adjusted or kept, every change recorded.",
        endpoints=(Endpoint(None, "/api/v1/conflicts", subpaths=True),),
    ),
)

DATA_SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="layer_catalogue",
        name_zh="图层目录",
        name_en="Layer catalogue",
        kind="data",
        dept=NR,
        description_zh="一张图的图层目录：图层、类型、发布部门、坐标系与版本。",
        description_en="The planning database's layers: kind, department, CRS and version.",
        endpoints=(Endpoint(None, "/api/v1/layers", subpaths=True),),
    ),
    ServiceSpec(
        id="ogc_features",
        name_zh="OGC 要素服务",
        name_en="OGC API – Features",
        kind="data",
        dept=NR,
        description_zh="以 OGC API – Features 标准在线共享规划图层要素，支持范围与坐标系协商。",
        description_en="The planning layers' features over OGC API – Features, with bbox "
        "and CRS negotiation.",
        endpoints=(Endpoint("GET", "/ogc", subpaths=True),),
        interface="OGC API – Features",
    ),
    ServiceSpec(
        id="ogc_tiles",
        name_zh="OGC 瓦片服务",
        name_en="OGC API – Tiles",
        kind="data",
        dept=NR,
        description_zh="以 OGC API – Tiles 标准发布规划图层的矢量瓦片（MVT）与地图瓦片（PNG），"
        "提供 Web 墨卡托与 CGCS2000 经纬度两套瓦片矩阵集。",
        description_en="The planning layers as OGC API – Tiles: vector (MVT) and map (PNG) "
        "tiles in Web Mercator and CGCS2000 tile matrix sets.",
        endpoints=(
            Endpoint("GET", "/ogc/tileMatrixSets", subpaths=True),
            Endpoint("GET", "/ogc/collections/{id}/tiles", subpaths=True),
            Endpoint("GET", "/ogc/collections/{id}/map/tiles", subpaths=True),
        ),
        interface="OGC API – Tiles",
    ),
    ServiceSpec(
        id="vector_tiles",
        name_zh="矢量瓦片",
        name_en="Vector tiles",
        kind="data",
        dept=NR,
        description_zh="规划图层的 Mapbox 矢量瓦片（MVT），供地图组件和部门系统叠加显示。",
        description_en="The planning layers as Mapbox vector tiles for maps.",
        endpoints=(Endpoint("GET", "/tiles", subpaths=True),),
        interface="MVT",
    ),
)


def _widget(widget: str, name_zh: str, name_en: str, zh: str, en: str) -> ServiceSpec:
    return ServiceSpec(
        id=f"widget_{widget}",
        name_zh=name_zh,
        name_en=name_en,
        kind="application",
        dept=NR,
        description_zh=zh,
        description_en=en,
        endpoints=(
            Endpoint("GET", f"/embed/{widget}"),
            Endpoint("GET", f"/embed/assets/{widget}", subpaths=True),
        ),
        interface="Embed",
        widget=widget,
    )


APPLICATION_SERVICES: tuple[ServiceSpec, ...] = (
    _widget(
        "compliance", "合规审查组件", "Compliance checklist widget",
        "嵌入审批表单的合规审查清单：绘制或上传红线，逐项显示结论。",
        "The compliance checklist embedded beside an application form.",
    ),
    _widget(
        "siting", "辅助选址组件", "Siting panel widget",
        "嵌入业务系统的辅助选址面板：条件、候选地块、方案保存。",
        "The siting panel: conditions, candidate parcels and saved plans.",
    ),
    _widget(
        "conflicts", "冲突协调组件", "Conflict viewer widget",
        "差异图斑地图、台账与协调流程。",
        "Conflict patches on a map, their ledger and coordination.",
    ),
    _widget(
        "map", "一张图组件", "Map widget",
        "规划一张图：图层叠加、查询与定位。",
        "The planning map: layers, identify and locate.",
    ),
    _widget(
        "approval", "协同审批组件", "Coordinated approval widget",
        "各部门在同一份证据上并行出具审批意见、跟踪办理时限的审批面板。",
        "The approval panel: departments' opinions on the same evidence, with deadlines.",
    ),
)  # fmt: skip

PLATFORM_SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="embed_session",
        name_zh="嵌入会话交换",
        name_en="Embed session exchange",
        kind="platform",
        dept=NR,
        description_zh="宿主系统的嵌入令牌换取组件会话（单点登录）。",
        description_en="A host's embed token exchanged for a widget session (single sign-on).",
        endpoints=(
            Endpoint("POST", "/embed/session"),
            Endpoint("POST", "/api/v1/embed-tokens"),
        ),
    ),
    ServiceSpec(
        id="embed_sdk",
        name_zh="嵌入 SDK",
        name_en="Embed SDK",
        kind="platform",
        dept=NR,
        description_zh="宿主页面加载的 JavaScript SDK 及组件清单。",
        description_en="The host-side JavaScript SDK and the widget manifest.",
        endpoints=(Endpoint("GET", "/embed.js"), Endpoint("GET", "/embed/manifest.json")),
    ),
    ServiceSpec(
        id="service_catalogue",
        name_zh="服务目录",
        name_en="Service catalogue",
        kind="platform",
        dept=NR,
        description_zh="各部门选用服务的目录：服务、发布部门与运行状态。",
        description_en="The catalogue departments pick services from, with their status.",
        endpoints=(
            Endpoint(None, "/api/v1/catalogue", subpaths=True),
            Endpoint(None, "/api/v1/departments", subpaths=True),
            Endpoint(None, "/api/v1/chains", subpaths=True),
        ),
    ),
    ServiceSpec(
        id="admin",
        name_zh="管理",
        name_en="Administration",
        kind="platform",
        dept=NR,
        description_zh="管理控制台与管理 API。",
        description_en="The admin console and the admin API.",
        endpoints=(
            Endpoint(None, "/admin", subpaths=True),
            Endpoint(None, "/api/v1/admin", subpaths=True),
        ),
    ),
)

#: The seed platform's screen lists these twelve first, in this order.
SEED_ORDER = (
    "city_plan_ledger_by_district",
    "city_plan_ledger_city",
    "urban_plan_ledger_by_district",
    "urban_plan_ledger_city",
    "conflicts_ledger",
    "siting_advanced",
    "siting_basic",
    "siting_plans_get",
    "siting_plans_delete",
    "siting_plans_add",
    "comprehensive_ledger_by_district",
    "comprehensive_ledger_total",
)

_ALL: tuple[ServiceSpec, ...] = (
    *LEDGER_SERVICES,
    *SITING_SERVICES,
    *OTHER_FUNCTION_SERVICES,
    *DATA_SERVICES,
    *APPLICATION_SERVICES,
    *PLATFORM_SERVICES,
)
SERVICES: tuple[ServiceSpec, ...] = (
    *sorted((s for s in _ALL if s.id in SEED_ORDER), key=lambda s: SEED_ORDER.index(s.id)),
    *(s for s in _ALL if s.id not in SEED_ORDER),
)
