"""How the demo maps the land-use plan's classes onto the legacy plans, and what it draws.

The classifications themselves (codes and names) are `planfuse.services.layers.land_use`
(用地用海分类, 2023) and `planfuse.services.layers.land_classes` (GB 50137-2011 urban plan,
TD/T 1024-2010 land plan); every code here is one of theirs.
"""

from __future__ import annotations

from planfuse.services.layers.land_classes import LAND_PLAN_CODES, URBAN_PLAN_CODES
from planfuse.services.layers.land_use import LAND_USE_CLASSES, is_construction


def land_use_name(code: str, default: str | None = None) -> str:
    """The 用地用海 name (中文) of a code; `default` (else KeyError) when it has none."""
    found = LAND_USE_CLASSES.get(code)
    if found is None:
        if default is None:
            raise KeyError(code)
        return default
    return found.name_zh


def urban_plan_name(code: str) -> str:
    """The GB 50137 name (中文) of an urban-plan code."""
    return URBAN_PLAN_CODES[code]


def land_plan_name(code: str) -> str:
    """The TD/T 1024 name (中文) of a land-plan code."""
    return LAND_PLAN_CODES[code][0]


_TO_URBAN_PLAN = {
    "0701": "R2",
    "070101": "R1",
    "070102": "R2",
    "0703": "H14",
    "0801": "A1",
    "0804": "A3",
    "0805": "A4",
    "0806": "A5",
    "0901": "B1",
    "1001": "M1",
    "100101": "M1",
    "100102": "M2",
    "1002": "H5",
    "1101": "W1",
    "1201": "H2",
    "1202": "H2",
    "1207": "S1",
    "1301": "U1",
    "1303": "U1",
    "1401": "G1",
    "1402": "G2",
    "1403": "G3",
    "16": "R2",
    "1701": "E1",
    "1703": "E1",
    "1704": "E1",
    "0403": "E9",
}

_TO_LAND_PLAN = {
    "01": "1100",
    "02": "1200",
    "03": "1300",
    "04": "1400",
    "06": "1500",
    "0703": "2120",
    "1002": "2130",
    "1201": "2200",
    "1202": "2200",
    "17": "3100",
}


def urban_plan_code(land_use: str) -> str:
    """The GB 50137 class a 用地用海 code corresponds to (non-construction → E2)."""
    return _TO_URBAN_PLAN.get(land_use, "E2")


def land_plan_code(land_use: str) -> str:
    """The land-plan class a 用地用海 code corresponds to (urban construction → 2110)."""
    for key in (land_use, land_use[:4], land_use[:2]):
        if key in _TO_LAND_PLAN:
            return _TO_LAND_PLAN[key]
    return "2110" if is_construction(land_use) else "3200"


# Code mixes (code, weight) by setting; the generator draws from these.
URBAN_CORE_MIX = (
    ("0701", 22), ("070102", 10), ("070101", 3), ("0901", 10), ("0801", 3), ("0804", 5),
    ("0805", 1), ("0806", 3), ("1207", 8), ("1401", 8), ("1402", 3), ("1403", 1),
    ("1301", 1), ("1303", 1), ("1001", 5), ("100101", 2), ("1101", 3), ("16", 2),
)  # fmt: skip
URBAN_FRINGE_MIX = (
    ("1001", 18), ("100101", 4), ("100102", 8), ("1101", 10), ("0701", 15), ("0901", 5),
    ("1207", 6), ("1402", 6), ("1401", 3), ("1301", 2), ("1303", 2), ("0804", 2), ("16", 3),
    ("0103", 5), ("0301", 3),
)  # fmt: skip
VILLAGE_MIX = (
    ("0703", 12), ("0103", 25), ("0101", 20), ("0201", 8), ("0301", 12), ("1202", 4),
    ("0602", 4), ("1704", 3), ("1002", 1), ("1001", 2),
)  # fmt: skip
MOUNTAIN_MIX = (
    ("0301", 45), ("0302", 10), ("0303", 15), ("0403", 8), ("0103", 8), ("0202", 5),
    ("0703", 3), ("1002", 2), ("1703", 1), ("1202", 1),
)  # fmt: skip
HILL_MIX = (
    ("0101", 25), ("0102", 8), ("0103", 25), ("0201", 8), ("0202", 2), ("0301", 15),
    ("0703", 8), ("0602", 3), ("1704", 3), ("1202", 2), ("1002", 1),
)  # fmt: skip
