"""The OWS data services in the service catalogue (planfuse.services.monitoring): the same
planning layers as OGC API – Features, for desktop GIS and departments' systems that speak
the OGC web services, published by the planning and natural resources bureau."""

from __future__ import annotations

from planfuse.services.monitoring.spec import Endpoint, ServiceSpec

DEPT = "natural_resources"


def _ows(service: str) -> tuple[Endpoint, ...]:
    # One route serves every OWS; the SERVICE parameter (any case; these two spellings are
    # what clients send) says which one a request counts for.
    return (
        Endpoint("GET", "/ows", query={"service": service}),
        Endpoint("GET", "/ows", query={"SERVICE": service}),
    )


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        id="wfs",
        name_zh="WFS 要素服务",
        name_en="Web Feature Service (WFS)",
        kind="data",
        dept=DEPT,
        description_zh="以 WFS 2.0 标准共享规划图层要素（GML 3.2 与 GeoJSON），"
        "支持范围、要素编号、分页与 CGCS2000、高斯–克吕格分带及 Web 墨卡托坐标系。",
        description_en="The planning layers' features over WFS 2.0 (GML 3.2 and GeoJSON) with "
        "bbox, resource ids, paging and CGCS2000, Gauss–Krüger and Web Mercator output.",
        endpoints=_ows("WFS"),
        interface="WFS",
        version="2.0.0",
        example={"query": {"service": "WFS", "request": "GetCapabilities"}},
    ),
    ServiceSpec(
        id="wms",
        name_zh="WMS 地图服务",
        name_en="Web Map Service (WMS)",
        kind="data",
        dept=DEPT,
        description_zh="以 WMS 1.3.0/1.1.1 标准发布规划图层地图（PNG、JPEG、WebP，"
        "样式与一张图组件图例一致），支持要素查询与 CGCS2000、高斯–克吕格分带及 Web 墨卡托坐标系。",
        description_en="The planning layers as WMS 1.3.0/1.1.1 maps (PNG, JPEG, WebP) drawn "
        "with the map widget's legend styles, feature info, and CGCS2000, Gauss–Krüger and "
        "Web Mercator CRSs.",
        endpoints=_ows("WMS"),
        interface="WMS",
        version="1.3.0",
        example={"query": {"service": "WMS", "request": "GetCapabilities"}},
    ),
    ServiceSpec(
        id="wmts",
        name_zh="WMTS 瓦片地图服务",
        name_en="Web Map Tile Service (WMTS)",
        kind="data",
        dept=DEPT,
        description_zh="以 WMTS 1.0.0 标准发布规划图层瓦片（PNG 样式与一张图组件图例一致，"
        "及 MVT 矢量瓦片），提供 Web 墨卡托与 CGCS2000 经纬度两套瓦片矩阵集，"
        "支持 KVP 与 RESTful 请求。",
        description_en="The planning layers as WMTS 1.0.0 tiles (PNG in the map widget's legend "
        "styles, and Mapbox vector tiles) in Web Mercator and CGCS2000 tile matrix sets, "
        "KVP and RESTful.",
        endpoints=(Endpoint("GET", "/wmts", subpaths=True),),
        interface="WMTS",
        version="1.0.0",
        example={"query": {"service": "WMTS", "request": "GetCapabilities"}},
    ),
    ServiceSpec(
        id="arcgis_feature_server",
        name_zh="ArcGIS 要素服务",
        name_en="ArcGIS REST FeatureServer",
        kind="data",
        dept=DEPT,
        description_zh="以 ArcGIS REST FeatureServer 接口共享规划图层要素（Esri JSON 与 GeoJSON），"
        "支持 where 条件、范围与多边形查询、字段选择、坐标系转换与分页。",
        description_en="The planning layers as ArcGIS REST FeatureServers (Esri JSON and "
        "GeoJSON): where, envelope and polygon queries, outFields, outSR and paging.",
        endpoints=(Endpoint("GET", "/arcgis/rest/services", subpaths=True),),
        interface="ArcGIS REST",
        version="10.91",
        example={"query": {"f": "json"}},
    ),
    ServiceSpec(
        id="arcgis_map_server",
        name_zh="ArcGIS 地图服务",
        name_en="ArcGIS REST MapServer",
        kind="data",
        dept=DEPT,
        description_zh="以 ArcGIS REST MapServer 接口导出规划图层地图图片（PNG、JPG），"
        "样式与一张图组件图例一致。",
        description_en="The planning layers as ArcGIS REST MapServers: export PNG and JPG maps "
        "drawn with the map widget's legend styles.",
        endpoints=(Endpoint("GET", "/arcgis/rest/services/{layer}/MapServer", subpaths=True),),
        interface="ArcGIS REST",
        version="10.91",
        example={"path": {"layer": "land_use_plan"}, "query": {"f": "json"}},
    ),
)
