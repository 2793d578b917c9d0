"""The 用地用海 classification: 《国土空间调查、规划、用途管制用地用海分类指南》 issued by
自然资源部 in 2023 (自然资发〔2023〕234号), levels 1–3 with Chinese names and English
glosses. The one table compliance, siting, conflicts, ledgers, the demo generator and the
API read.

Codes are strings of 2, 4 or 6 digits; a longer code belongs to every shorter prefix
(DOMAIN.md): 100101 一类工业用地 is in 1001 工业用地, which is in 10 工矿用地. Plan data may
carry codes finer than the table (a local 8-digit subclass, an unlisted level-3 code):
`nearest_class` names them after the class they fall in.

Where the 2023 edition differs from the 2020 trial edition (自然资办发〔2020〕51号), the 2023
edition is used: 0204 油料园地 (0205 其他园地), 060102 田间道, 0903 娱乐康体用地, 1311
水工设施用地 (干渠 folded into 1705 沟渠), 2302 后备耕地 and 2303 田坎.

The legacy classifications (GB 50137 urban plan, 土地利用总体规划 land plan) live in
`planfuse.services.layers.land_classes`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from planfuse.errors import InvalidInput

#: A syntactically valid code: 2, 4 or 6 digits (level 1, 2 or 3).
CODE_PATTERN = re.compile(r"^\d{2}(\d{2}(\d{2})?)?$")

#: 建设用地 (construction land) by default: level-1 codes 07–16 (DOMAIN.md).
CONSTRUCTION_LEVEL1 = tuple(f"{n:02d}" for n in range(7, 17))


@dataclass(frozen=True)
class LandUseClass:
    """One class of the classification: its code, level (1–3) and names."""

    code: str
    name_zh: str
    name_en: str

    @property
    def level(self) -> int:
        return len(self.code) // 2

    @property
    def level1(self) -> str:
        return self.code[:2]

    @property
    def parent(self) -> str | None:
        """The code of the class one level up (None for a level-1 class)."""
        return self.code[:-2] or None

    @property
    def construction(self) -> bool:
        """Construction land (建设用地) by the default definition, level-1 07–16."""
        return self.level1 in CONSTRUCTION_LEVEL1

    def name(self) -> dict[str, str]:
        return {"zh-CN": self.name_zh, "en": self.name_en}

    def to_dict(self, *, parent: bool = False) -> dict[str, object]:
        """`{code, level, name}`; with `parent=True` also the parent's code (the siting form
        builds its tree from it)."""
        out: dict[str, object] = {"code": self.code, "level": self.level, "name": self.name()}
        if parent:
            out["parent"] = self.parent
        return out


# (code, 中文, English). Level 1 (2 digits), level 2 (4 digits), level 3 (6 digits).
_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("01", "耕地", "Cropland"),
    ("0101", "水田", "Paddy field"),
    ("0102", "水浇地", "Irrigated land"),
    ("0103", "旱地", "Dry land"),
    ("02", "园地", "Garden land"),
    ("0201", "果园", "Orchard"),
    ("0202", "茶园", "Tea garden"),
    ("0203", "橡胶园地", "Rubber plantation"),
    ("0204", "油料园地", "Oil-crop plantation"),
    ("0205", "其他园地", "Other garden land"),
    ("03", "林地", "Forest land"),
    ("0301", "乔木林地", "Arbor forest"),
    ("0302", "竹林地", "Bamboo forest"),
    ("0303", "灌木林地", "Shrub land"),
    ("0304", "其他林地", "Other forest land"),
    ("04", "草地", "Grassland"),
    ("0401", "天然牧草地", "Natural pasture"),
    ("0402", "人工牧草地", "Sown pasture"),
    ("0403", "其他草地", "Other grassland"),
    ("05", "湿地", "Wetland"),
    ("0501", "森林沼泽", "Forest swamp"),
    ("0502", "灌丛沼泽", "Shrub swamp"),
    ("0503", "沼泽草地", "Marsh meadow"),
    ("0504", "其他沼泽地", "Other marsh"),
    ("0505", "沿海滩涂", "Coastal tidal flat"),
    ("0506", "内陆滩涂", "Inland tidal flat"),
    ("0507", "红树林地", "Mangrove"),
    ("06", "农业设施建设用地", "Agricultural facility land"),
    ("0601", "乡村道路用地", "Rural road land"),
    ("060101", "村道用地", "Village road land"),
    ("060102", "田间道", "Field road"),
    ("0602", "种植设施建设用地", "Planting facility land"),
    ("0603", "畜禽养殖设施建设用地", "Livestock facility land"),
    ("0604", "水产养殖设施建设用地", "Aquaculture facility land"),
    ("07", "居住用地", "Residential land"),
    ("0701", "城镇住宅用地", "Urban housing land"),
    ("070101", "一类城镇住宅用地", "Urban housing land, class 1"),
    ("070102", "二类城镇住宅用地", "Urban housing land, class 2"),
    ("070103", "三类城镇住宅用地", "Urban housing land, class 3"),
    ("0702", "城镇社区服务设施用地", "Urban community service land"),
    ("0703", "农村宅基地", "Rural homestead"),
    ("070301", "一类农村宅基地", "Rural homestead, class 1"),
    ("070302", "二类农村宅基地", "Rural homestead, class 2"),
    ("0704", "农村社区服务设施用地", "Rural community service land"),
    ("08", "公共管理与公共服务用地", "Public administration and service land"),
    ("0801", "机关团体用地", "Government and organisation land"),
    ("0802", "科研用地", "Research land"),
    ("0803", "文化用地", "Cultural land"),
    ("080301", "图书与展览用地", "Library and exhibition land"),
    ("080302", "文化活动用地", "Cultural activity land"),
    ("0804", "教育用地", "Education land"),
    ("080401", "高等教育用地", "Higher education land"),
    ("080402", "中等职业教育用地", "Vocational education land"),
    ("080403", "中小学用地", "Primary and secondary school land"),
    ("080404", "幼儿园用地", "Kindergarten land"),
    ("080405", "其他教育用地", "Other education land"),
    ("0805", "体育用地", "Sports land"),
    ("080501", "体育场馆用地", "Stadium land"),
    ("080502", "体育训练用地", "Sports training land"),
    ("0806", "医疗卫生用地", "Medical and health land"),
    ("080601", "医院用地", "Hospital land"),
    ("080602", "基层医疗卫生设施用地", "Primary health facility land"),
    ("080603", "公共卫生用地", "Public health land"),
    ("0807", "社会福利用地", "Social welfare land"),
    ("080701", "老年人社会福利用地", "Elderly welfare land"),
    ("080702", "儿童社会福利用地", "Child welfare land"),
    ("080703", "残疾人社会福利用地", "Disability welfare land"),
    ("080704", "其他社会福利用地", "Other welfare land"),
    ("09", "商业服务业用地", "Commercial and service land"),
    ("0901", "商业用地", "Commercial land"),
    ("090101", "零售商业用地", "Retail land"),
    ("090102", "批发市场用地", "Wholesale market land"),
    ("090103", "餐饮用地", "Catering land"),
    ("090104", "旅馆用地", "Hotel land"),
    ("090105", "公用设施营业网点用地", "Utility outlet land"),
    ("0902", "商务金融用地", "Business and finance land"),
    ("0903", "娱乐康体用地", "Entertainment and fitness land"),
    ("090301", "娱乐用地", "Entertainment land"),
    ("090302", "康体用地", "Fitness land"),
    ("0904", "其他商业服务业用地", "Other commercial land"),
    ("10", "工矿用地", "Industrial and mining land"),
    ("1001", "工业用地", "Industrial land"),
    ("100101", "一类工业用地", "Industrial land, class 1"),
    ("100102", "二类工业用地", "Industrial land, class 2"),
    ("100103", "三类工业用地", "Industrial land, class 3"),
    ("1002", "采矿用地", "Mining land"),
    ("1003", "盐田", "Salt pan"),
    ("11", "仓储用地", "Storage land"),
    ("1101", "物流仓储用地", "Logistics and warehousing land"),
    ("110101", "一类物流仓储用地", "Logistics land, class 1"),
    ("110102", "二类物流仓储用地", "Logistics land, class 2"),
    ("110103", "三类物流仓储用地", "Logistics land, class 3"),
    ("1102", "储备库用地", "Reserve depot land"),
    ("12", "交通运输用地", "Transport land"),
    ("1201", "铁路用地", "Railway land"),
    ("1202", "公路用地", "Highway land"),
    ("1203", "机场用地", "Airport land"),
    ("1204", "港口码头用地", "Port and wharf land"),
    ("1205", "管道运输用地", "Pipeline transport land"),
    ("1206", "城市轨道交通用地", "Urban rail transit land"),
    ("1207", "城镇村道路用地", "Urban and village road land"),
    ("1208", "交通场站用地", "Transport station land"),
    ("120801", "对外交通场站用地", "Intercity transport station land"),
    ("120802", "公共交通场站用地", "Public transport station land"),
    ("120803", "社会停车场用地", "Public parking land"),
    ("1209", "其他交通设施用地", "Other transport facility land"),
    ("13", "公用设施用地", "Public utility land"),
    ("1301", "供水用地", "Water supply land"),
    ("1302", "排水用地", "Drainage land"),
    ("1303", "供电用地", "Power supply land"),
    ("1304", "供燃气用地", "Gas supply land"),
    ("1305", "供热用地", "Heating supply land"),
    ("1306", "通信用地", "Telecommunication land"),
    ("1307", "邮政用地", "Postal land"),
    ("1308", "广播电视设施用地", "Broadcasting facility land"),
    ("1309", "环卫用地", "Sanitation land"),
    ("1310", "消防用地", "Fire service land"),
    ("1311", "水工设施用地", "Hydraulic facility land"),
    ("1312", "其他公用设施用地", "Other utility land"),
    ("14", "绿地与开敞空间用地", "Green and open space land"),
    ("1401", "公园绿地", "Park"),
    ("1402", "防护绿地", "Protective green space"),
    ("1403", "广场用地", "Square"),
    ("15", "特殊用地", "Special-use land"),
    ("1501", "军事设施用地", "Military land"),
    ("1502", "使领馆用地", "Diplomatic mission land"),
    ("1503", "宗教用地", "Religious land"),
    ("1504", "文物古迹用地", "Heritage site land"),
    ("1505", "监教场所用地", "Correctional facility land"),
    ("1506", "殡葬用地", "Funeral land"),
    ("1507", "其他特殊用地", "Other special-use land"),
    ("16", "留白用地", "Reserved land"),
    ("17", "陆地水域", "Inland water"),
    ("1701", "河流水面", "River"),
    ("1702", "湖泊水面", "Lake"),
    ("1703", "水库水面", "Reservoir"),
    ("1704", "坑塘水面", "Pond"),
    ("1705", "沟渠", "Ditch"),
    ("1706", "冰川及常年积雪", "Glacier and permanent snow"),
    ("18", "渔业用海", "Fishery sea use"),
    ("1801", "渔业基础设施用海", "Fishery infrastructure sea use"),
    ("1802", "增养殖用海", "Mariculture sea use"),
    ("1803", "捕捞海域", "Fishing waters"),
    ("19", "工矿通信用海", "Industrial and communication sea use"),
    ("1901", "工业用海", "Industrial sea use"),
    ("1902", "盐田用海", "Salt-pan sea use"),
    ("1903", "固体矿产用海", "Solid mineral sea use"),
    ("1904", "油气用海", "Oil and gas sea use"),
    ("1905", "可再生能源用海", "Renewable energy sea use"),
    ("1906", "海底电缆管道用海", "Submarine cable and pipeline sea use"),
    ("20", "交通运输用海", "Transport sea use"),
    ("2001", "港口用海", "Port sea use"),
    ("2002", "航运用海", "Shipping sea use"),
    ("2003", "路桥隧道用海", "Road, bridge and tunnel sea use"),
    ("21", "游憩用海", "Recreational sea use"),
    ("2101", "风景旅游用海", "Tourism sea use"),
    ("2102", "文体休闲娱乐用海", "Leisure sea use"),
    ("22", "特殊用海", "Special sea use"),
    ("2201", "军事用海", "Military sea use"),
    ("2202", "其他特殊用海", "Other special sea use"),
    ("23", "其他土地", "Other land"),
    ("2301", "空闲地", "Idle land"),
    ("2302", "后备耕地", "Reserve cropland"),
    ("2303", "田坎", "Field ridge"),
    ("2304", "盐碱地", "Saline-alkali land"),
    ("2305", "沙地", "Sandy land"),
    ("2306", "裸土地", "Bare soil"),
    ("2307", "裸岩石砾地", "Bare rock"),
    ("24", "其他海域", "Other sea area"),
)

LAND_USE_CLASSES: dict[str, LandUseClass] = {c: LandUseClass(c, zh, en) for c, zh, en in _CLASSES}


def _text(code: object) -> str:
    return code.strip() if isinstance(code, str) else ""


def classification(max_level: int = 3) -> list[dict]:
    """The classification as a list (code order), down to `max_level` (1–3)."""
    return [c.to_dict() for c in LAND_USE_CLASSES.values() if c.level <= max_level]


def land_use_class(code: object) -> LandUseClass | None:
    """The class of exactly `code` (2, 4 or 6 digits), or None if the classification has
    none."""
    return LAND_USE_CLASSES.get(_text(code))


def nearest_class(code: object) -> LandUseClass | None:
    """The most specific class `code` falls in by prefix (a plan code such as an unlisted
    level-3 code or a local 8-digit subclass is named after its parent), or None when even
    its first two digits are no level-1 class."""
    text = _text(code)
    for length in (6, 4, 2):
        if len(text) >= length:
            found = LAND_USE_CLASSES.get(text[:length])
            if found is not None:
                return found
    return None


def level1(code: object) -> str:
    """The level-1 class of a code ("070102" → "07"); "" when there is none."""
    text = _text(code)
    return text[:2] if len(text) >= 2 and text[:2].isdigit() else ""


def is_construction(code: object) -> bool:
    """Construction land (建设用地) by the default definition: level-1 codes 07–16."""
    return level1(code) in CONSTRUCTION_LEVEL1


def matches_prefix(code: object, prefixes: Iterable[str]) -> bool:
    """True when `code` falls in one of the classes `prefixes` (a longer code matches by
    prefix); empty prefixes match nothing."""
    text = _text(code)
    return bool(text) and any(text.startswith(p) for p in prefixes if p)


def require_land_use(code: object, field: str = "land_use") -> LandUseClass:
    """The class of a requested land-use code, or InvalidInput saying what is valid.

    Codes are digits only: 2 (level 1, e.g. 07), 4 (level 2, e.g. 0701) or 6 (level 3,
    e.g. 070101); a code must exist in the classification.
    """
    if not isinstance(code, str) or not code.strip():
        raise _unknown(f"`{field}` is required: a 用地用海 code such as 0701 (城镇住宅用地)", field)
    text = code.strip()
    found = LAND_USE_CLASSES.get(text)
    if found is not None:
        return found
    if not text.isdigit() or len(text) not in (2, 4, 6):
        detail = (
            f"land-use code {text[:20]!r} is not a 用地用海 code: use 2, 4 or 6 digits, "
            "e.g. 07 (居住用地), 0701 (城镇住宅用地) or 070101"
        )
    else:
        parent = nearest_class(text)
        close = difflib.get_close_matches(text, LAND_USE_CLASSES.keys(), n=3, cutoff=0.5)
        hint = ""
        if parent is not None and parent.code != text:
            hint = f" (it would fall under {parent.code} {parent.name_zh})"
        suggestions = ", ".join(f"{c} {LAND_USE_CLASSES[c].name_zh}" for c in close)
        detail = f"land-use code {text!r} is not in the 用地用海 classification{hint}"
        if suggestions:
            detail += f"; did you mean {suggestions}?"
    raise _unknown(detail, field)


def _unknown(detail: str, field: str) -> InvalidInput:
    return InvalidInput(
        detail,
        code="unknown_land_use",
        errors=[{"field": field, "message": detail}],
        title="Unknown land-use code",
    )
