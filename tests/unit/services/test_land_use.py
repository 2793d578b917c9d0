"""The 用地用海 classification (planfuse.services.layers.land_use) and the codes other modules
take from it: the default ruleset's compatibility table and the demo generator."""

from __future__ import annotations

import pytest

from planfuse.demo import codes as demo_codes
from planfuse.errors import DomainError
from planfuse.http.problems import problem_from_exception
from planfuse.services.compliance.rulesets import DEFAULT_RULESET
from planfuse.services.layers import land_classes
from planfuse.services.layers.land_use import (
    LAND_USE_CLASSES,
    classification,
    is_construction,
    land_use_class,
    level1,
    matches_prefix,
    nearest_class,
    require_land_use,
)


def test_every_code_sits_under_its_parent():
    for code, cls in LAND_USE_CLASSES.items():
        assert len(code) in (2, 4, 6) and code.isdigit()
        assert cls.name_zh and cls.name_en
        if cls.parent is not None:
            assert cls.parent in LAND_USE_CLASSES, code
    assert [c["code"] for c in classification(1)] == [f"{n:02d}" for n in range(1, 25)]


def test_the_2023_edition_wins_where_editions_differ():
    assert land_use_class("0204").name_zh == "油料园地"
    assert land_use_class("0205").name_zh == "其他园地"
    assert land_use_class("060102").name_zh == "田间道"
    assert land_use_class("1311").name_zh == "水工设施用地"
    assert land_use_class("1313") is None
    assert land_use_class("2302").name_zh == "后备耕地"
    assert land_use_class("2303").name_zh == "田坎"


def test_lookups():
    assert land_use_class(" 0701 ").code == "0701"
    assert land_use_class("07011") is None
    assert nearest_class("07010199").code == "070101"
    assert nearest_class("070199").code == "0701"
    assert nearest_class("07011").code == "0701"
    assert nearest_class("99") is None and nearest_class(None) is None
    assert level1("070102") == "07" and level1("R2") == "" and level1(None) == ""
    assert [c for c in ("06", "07", "16", "17", "1001") if is_construction(c)] == [
        "07",
        "16",
        "1001",
    ]
    assert matches_prefix("100101", ["07", "10"]) and not matches_prefix("1001", ["", "07"])
    assert not matches_prefix(None, ["07"])


def test_require_land_use_says_what_is_valid():
    assert require_land_use("1001").name_zh == "工业用地"
    with pytest.raises(DomainError) as raised:
        require_land_use("070109")
    assert raised.value.code == "unknown_land_use"
    assert "it would fall under 0701 城镇住宅用地" in problem_from_exception(raised.value).detail
    with pytest.raises(DomainError) as raised:
        require_land_use("R2", field="land_use")
    assert "2, 4 or 6 digits" in problem_from_exception(raised.value).detail
    with pytest.raises(DomainError) as raised:
        require_land_use("")
    assert raised.value.errors == [
        {"field": "land_use", "message": problem_from_exception(raised.value).detail}
    ]


def test_default_compatibility_table_uses_valid_codes():
    table = DEFAULT_RULESET["rules"]["land_use_plan"]["compatibility"]
    for requested, allowed in table.items():
        assert requested in LAND_USE_CLASSES
        assert all(code in LAND_USE_CLASSES for code in allowed), requested


def test_demo_codes_are_valid():
    mixes = (
        demo_codes.URBAN_CORE_MIX,
        demo_codes.URBAN_FRINGE_MIX,
        demo_codes.VILLAGE_MIX,
        demo_codes.MOUNTAIN_MIX,
        demo_codes.HILL_MIX,
    )
    drawn = {code for mix in mixes for code, _ in mix}
    assert drawn <= set(LAND_USE_CLASSES)
    for code in sorted(drawn):
        assert demo_codes.land_use_name(code) == LAND_USE_CLASSES[code].name_zh
        assert demo_codes.urban_plan_name(demo_codes.urban_plan_code(code))
        assert demo_codes.land_plan_name(demo_codes.land_plan_code(code))
    assert land_classes.class_name("land_use_plan", "070102", "en") == "Residential land"
