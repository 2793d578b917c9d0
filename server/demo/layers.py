"""The demo's layers: ids, kinds, publishing departments and the CRS each department
publishes in (a contract the services' tests rely on: keep the ids)."""

from __future__ import annotations

from dataclasses import dataclass

from planfuse.geo.crs import resolve_crs

# Fixed rounding of the coordinates written to the layer files: 1e-10° (~0.01 mm) and
# 1e-5 m. Fine enough that the planted figures survive the trip through the files to 1e-6
# relative; coarser rounding (1e-7°, 1 cm) moves a 200 m-perimeter overlap by ~1 m².
DEGREE_DECIMALS = 10
METRE_DECIMALS = 5


@dataclass(frozen=True)
class DemoLayer:
    id: str
    kind: str
    name: str
    department: str
    crs: str

    @property
    def decimals(self) -> int:
        return DEGREE_DECIMALS if resolve_crs(self.crs).degrees else METRE_DECIMALS

    @property
    def filename(self) -> str:
        return f"{self.id}.geojson"


NATURAL_RESOURCES = "规划和自然资源局"

DEMO_LAYERS: tuple[DemoLayer, ...] = (
    DemoLayer("districts", "district", "行政区划", NATURAL_RESOURCES, "GCJ-02"),
    DemoLayer(
        "ecological_redline", "ecological_redline", "生态保护红线", "生态环境局", "EPSG:4490"
    ),
    # Zone 35 (CM 105°E) with prefixed eastings for the whole city, even the eastern
    # counties: up to ~497 km from the central meridian, which the import accepts.
    DemoLayer("basic_farmland", "basic_farmland", "永久基本农田", NATURAL_RESOURCES, "EPSG:4523"),
    DemoLayer("urban_boundary", "urban_boundary", "城镇开发边界", NATURAL_RESOURCES, "EPSG:4524"),
    DemoLayer("land_use_plan", "land_use_plan", "国土空间规划用地", NATURAL_RESOURCES, "EPSG:4545"),
    DemoLayer(
        "urban_plan", "urban_plan", "城乡规划（总规/控规）", "住房和城乡建设委员会", "EPSG:4545"
    ),
    DemoLayer(
        "land_plan",
        "land_plan",
        "土地利用总体规划",
        NATURAL_RESOURCES + "（原国土资源和房屋管理局）",
        "EPSG:4524",
    ),
    # CM 105°E without prefix. Not EPSG:4546 (CM 111°E): western Chongqing (荣昌, 105.3°E)
    # lies ~555 km from 111°E, beyond what a 3-degree zone's eastings can hold.
    DemoLayer(
        "control_lines",
        "control_line",
        "控制线（蓝绿紫黄线、道路红线）",
        "住房和城乡建设委员会",
        "EPSG:4544",
    ),
    DemoLayer(
        "sensitive_zones",
        "sensitive_zone",
        "敏感区（地灾、水源地、文物、矿产）",
        "应急管理局、水利局、文化旅游委、规划和自然资源局",
        "EPSG:4490",
    ),
    DemoLayer("roads", "road", "道路", "交通局", "EPSG:4326"),
    DemoLayer("facilities", "facility", "公共设施", "教委、卫健委、应急管理局、电力公司", "GCJ-02"),
)

LAYERS_BY_ID: dict[str, DemoLayer] = {layer.id: layer for layer in DEMO_LAYERS}
