"""The legacy plans' classifications, and the names of every classified attribute of the
layer kinds (DOMAIN.md).

- GB 50137-2011 城市用地分类与规划建设用地标准: the legacy urban plan; the major class is
  the leading letter (R2 → R). Class E (非建设用地) is the only non-construction class.
- TD/T 1024-2010 土地利用总体规划 规划用途分类: the legacy land plan; codes 2xxx are
  construction land (建设用地).
- 城镇开发边界 zones, control-line types and sensitive-zone types.

The 用地用海 classification of the land-use plan is `planfuse.services.layers.land_use`;
`class_name` names its codes by their level-1 class.
"""

from __future__ import annotations

from planfuse.services.layers import land_use

# Major classes of GB 50137-2011 (城市建设用地 and 城乡用地 H, E).
URBAN_PLAN_MAJOR: dict[str, tuple[str, str]] = {
    "R": ("居住用地", "Residential"),
    "A": ("公共管理与公共服务设施用地", "Public administration and services"),
    "B": ("商业服务业设施用地", "Commercial and business facilities"),
    "M": ("工业用地", "Industrial"),
    "W": ("物流仓储用地", "Logistics and warehouse"),
    "S": ("道路与交通设施用地", "Roads and transport facilities"),
    "U": ("公用设施用地", "Municipal utilities"),
    "G": ("绿地与广场用地", "Green space and squares"),
    "H": ("建设用地（城乡）", "Construction land (rural–urban)"),
    "E": ("非建设用地", "Non-construction land"),
}

URBAN_PLAN_CODES: dict[str, str] = {
    "R1": "一类居住用地",
    "R2": "二类居住用地",
    "R3": "三类居住用地",
    "A1": "行政办公用地",
    "A2": "文化设施用地",
    "A3": "教育科研用地",
    "A4": "体育用地",
    "A5": "医疗卫生用地",
    "A6": "社会福利用地",
    "B1": "商业用地",
    "B2": "商务用地",
    "B3": "娱乐康体用地",
    "B4": "公用设施营业网点用地",
    "M1": "一类工业用地",
    "M2": "二类工业用地",
    "M3": "三类工业用地",
    "W1": "一类物流仓储用地",
    "W2": "二类物流仓储用地",
    "S1": "城市道路用地",
    "S2": "城市轨道交通用地",
    "S3": "交通枢纽用地",
    "S4": "交通场站用地",
    "U1": "供应设施用地",
    "U2": "环境设施用地",
    "U3": "安全设施用地",
    "G1": "公园绿地",
    "G2": "防护绿地",
    "G3": "广场用地",
    "H11": "城市建设用地",
    "H12": "镇建设用地",
    "H14": "村庄建设用地",
    "H2": "区域交通设施用地",
    "H3": "区域公用设施用地",
    "H4": "特殊用地",
    "H5": "采矿用地",
    "E1": "水域",
    "E2": "农林用地",
    "E9": "其他非建设用地",
}

LAND_PLAN_CODES: dict[str, tuple[str, str]] = {
    "1000": ("农用地", "Agricultural land"),
    "1100": ("耕地", "Cropland"),
    "1200": ("园地", "Garden land"),
    "1300": ("林地", "Forest land"),
    "1400": ("牧草地", "Pasture"),
    "1500": ("其他农用地", "Other agricultural land"),
    "2000": ("建设用地", "Construction land"),
    "2100": ("城乡建设用地", "Urban and rural construction land"),
    "2110": ("城镇用地", "Urban land"),
    "2120": ("农村居民点用地", "Rural settlements"),
    "2130": ("采矿用地", "Mining land"),
    "2140": ("其他独立建设用地", "Other separate construction land"),
    "2200": ("交通水利用地", "Transport and water facilities"),
    "2300": ("其他建设用地", "Other construction land"),
    "3000": ("其他土地", "Other land"),
    "3100": ("水域", "Water"),
    "3200": ("自然保留地", "Natural reserve land"),
}

URBAN_BOUNDARY_ZONES: dict[str, tuple[str, str]] = {
    "01": ("集中建设区", "Concentrated construction zone"),
    "02": ("弹性发展区", "Flexible development zone"),
    "03": ("特别用途区", "Special-use zone"),
}

CONTROL_LINE_TYPES: dict[str, tuple[str, str]] = {
    "blue": ("蓝线", "Blue line (water)"),
    "green": ("绿线", "Green line (green space)"),
    "purple": ("紫线", "Purple line (heritage)"),
    "yellow": ("黄线", "Yellow line (infrastructure)"),
    "road": ("道路红线", "Road red line"),
}

SENSITIVE_ZONE_TYPES: dict[str, tuple[str, str]] = {
    "geohazard": ("地质灾害", "Geohazard"),
    "water_source": ("水源保护区", "Water-source protection"),
    "heritage": ("文物保护", "Heritage protection"),
    "mineral": ("矿产压覆", "Mineral resources"),
}


def _text(code: str | None) -> str:
    return (code or "").strip()


def urban_plan_major(code: str | None) -> str:
    """The GB 50137 major class of a code ("R2" → "R"); "" when there is none."""
    code = _text(code).upper()
    return code[:1] if code[:1].isalpha() else ""


def is_urban_plan_construction(code: str | None) -> bool:
    """CG建设: an urban-plan class is construction land unless it is class E (非建设用地)."""
    major = urban_plan_major(code)
    return bool(major) and major != "E"


#: GB 50137-2011 城市建设用地 (Table 3.3): the eight classes of the city's own construction
#: land, without the rural–urban classes H and E of Table 3.2.
CITY_CONSTRUCTION_MAJOR = frozenset("RABMWSUG")


def is_city_construction_land(code: str | None) -> bool:
    """Whether an urban-plan code is 城市建设用地 (major class R, A, B, M, W, S, U or G)."""
    return urban_plan_major(code) in CITY_CONSTRUCTION_MAJOR


def is_land_plan_construction(code: str | None) -> bool:
    """TG建设: a land-plan code is construction land when it is 2xxx (建设用地)."""
    return _text(code).startswith("2")


def class_name(kind: str, code: str | None, locale: str = "zh-CN") -> str | None:
    """A readable name of a code of a layer kind, or None when the code is unknown."""
    code = _text(code)
    if not code:
        return None
    en = locale == "en"
    if kind == "land_use_plan":
        level1 = land_use.land_use_class(land_use.level1(code))
        return (level1.name_en if en else level1.name_zh) if level1 else None
    if kind == "urban_plan":
        if not en and code.upper() in URBAN_PLAN_CODES:
            return URBAN_PLAN_CODES[code.upper()]
        major = URBAN_PLAN_MAJOR.get(urban_plan_major(code))
        return major[1 if en else 0] if major else None
    if kind == "land_plan":
        entry = LAND_PLAN_CODES.get(code) or LAND_PLAN_CODES.get(code[:2] + "00")
        return entry[1 if en else 0] if entry else None
    table = {
        "urban_boundary": URBAN_BOUNDARY_ZONES,
        "control_line": CONTROL_LINE_TYPES,
        "sensitive_zone": SENSITIVE_ZONE_TYPES,
    }.get(kind)
    if table and code in table:
        return table[code][1 if en else 0]
    return None
