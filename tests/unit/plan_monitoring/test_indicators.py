"""Indicator documents: the issue's contract, validated (units, kinds, targets, districts),
versioned; status thresholds, targets of in-between years and the projection."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from planfuse.cli import _register, cli
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.plan_monitoring.indicators import (
    get_indicator,
    list_indicators,
    load_indicators,
    save_indicator,
    validate_indicator,
)
from planfuse.services.plan_monitoring.status import target_for, value_status
from planfuse.services.plan_monitoring.values import projection

CONTRACT = {
    "id": "construction_land",
    "name": {"zh-CN": "建设用地总规模", "en": "Construction land"},
    "unit": "m2",
    "direction": "upper",
    "measure": {
        "area_of": "land_use_status",
        "codes": ["07", "08", "09", "10", "11", "12", "13", "14", "15", "16"],
    },
    "targets": [
        {"area": "500112", "year": 2035, "value": 120000000},
        {"area": "city", "year": 2035, "value": 2100000000},
    ],
}


def changed(path: str, value):
    doc = copy.deepcopy(CONTRACT)
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    elif value is None:
        node.pop(last)
    else:
        node[last] = value
    return doc


def test_the_contract_document_is_valid_as_it_stands():
    doc = validate_indicator(CONTRACT)
    assert doc["measure"] == CONTRACT["measure"]
    assert [t["area"] for t in doc["targets"]] == ["city", "500112"]


@pytest.mark.parametrize(
    ("path", "value", "field", "code"),
    [
        ("unit", "acre", "unit", "invalid_indicator"),
        ("unit", "percent", "unit", "unit_mismatch"),
        ("direction", "up", "direction", "invalid_indicator"),
        ("measure.area_of", "farmland", "measure.area_of", "unknown_layer_kind"),
        ("measure.area_of", "road", "measure.area_of", "invalid_indicator"),
        ("measure.codes", ["7"], "measure.codes[0]", "invalid_indicator"),
        (
            "targets.0",
            {"area": "500112", "year": 2035, "value": 12, "unit": "ha"},
            "targets[0].unit",
            "unit_mismatch",
        ),
        (
            "targets.0",
            {"area": "Yubei", "year": 2035, "value": 12},
            "targets[0].area",
            "invalid_indicator",
        ),
        (
            "targets.0",
            {"area": "city", "year": 2035, "value": 12},
            "targets[1]",
            "invalid_indicator",
        ),
        (
            "targets.0",
            {"area": "500112", "year": "2035", "value": 12},
            "targets[0].year",
            "invalid_indicator",
        ),
        (
            "targets.0",
            {"area": "500112", "year": 2035, "value": -1},
            "targets[0].value",
            "invalid_indicator",
        ),
        ("name", {"en": "only English"}, "name", "invalid_indicator"),
        ("colour", "red", "colour", "invalid_indicator"),
    ],
)
def test_bad_documents_say_what_and_where(path, value, field, code):
    with pytest.raises(InvalidInput) as err:
        validate_indicator(changed(path, value))
    assert err.value.code == code
    assert err.value.errors[0]["field"] == field, err.value.errors


def test_a_target_for_a_district_that_does_not_exist():
    with pytest.raises(InvalidInput) as err:
        validate_indicator(CONTRACT, adcodes=["500101", "500103"])
    assert err.value.code == "unknown_district" and "500112" in err.value.message


def test_composite_measures():
    ratio = {
        "ratio": {
            "numerator": {
                "area_of": "land_use_status",
                "codes": ["07"],
                "inside": "urban_boundary",
            },
            "denominator": {"area_of": "land_use_status", "codes": ["07"]},
        }
    }
    assert validate_indicator({**CONTRACT, "unit": "percent", "measure": ratio})["measure"] == ratio
    per_person = {
        "per_person": {"area_of": "land_use_status", "codes": ["07"]},
        "population": {"500112": {"2025": 1_500_000}},
    }
    doc = validate_indicator({**CONTRACT, "measure": per_person})
    assert doc["measure"]["population"] == {"500112": {"2025": 1_500_000}}
    with pytest.raises(InvalidInput) as err:
        validate_indicator({**CONTRACT, "unit": "ha", "measure": per_person})
    assert err.value.code == "unit_mismatch"
    nested = {"ratio": {"numerator": ratio, "denominator": ratio["ratio"]["denominator"]}}
    with pytest.raises(InvalidInput):
        validate_indicator({**CONTRACT, "unit": "percent", "measure": nested})


def test_versions_and_lists(ctx):
    first = save_indicator(ctx, CONTRACT, created_by="test")
    second = save_indicator(ctx, changed("unit", "ha"), indicator_id="construction_land")
    assert (first["version"], second["version"]) == (1, 2)
    assert get_indicator(ctx, "construction_land")["unit"] == "ha"
    assert get_indicator(ctx, "construction_land", version=1)["unit"] == "m2"
    assert [i["id"] for i in list_indicators(ctx)] == ["construction_land"]
    with pytest.raises(InvalidInput):
        save_indicator(ctx, CONTRACT, indicator_id="farmland")
    with pytest.raises(NotFound) as err:
        get_indicator(ctx, "farmland")
    assert "construction_land" in err.value.message


def test_a_bad_document_in_a_file_stores_nothing(ctx):
    bad = {**CONTRACT, "id": "farmland", "direction": "sideways"}
    with pytest.raises(InvalidInput) as err:
        load_indicators(ctx, [CONTRACT, bad])
    assert err.value.message.startswith("indicator farmland:")
    assert list_indicators(ctx) == []


def test_planfuse_monitoring_load(tmp_path, monkeypatch):
    _register()
    monkeypatch.setenv("PLANFUSE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = tmp_path / "indicators.json"
    path.write_text(json.dumps({"indicators": [CONTRACT]}), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["monitoring", "load", str(path)])
    assert result.exit_code == 0, result.output
    assert "indicator construction_land version 1: 建设用地总规模" in result.output
    path.write_text(json.dumps(changed("unit", "furlong")), encoding="utf-8")
    result = runner.invoke(cli, ["monitoring", "load", str(path)])
    assert result.exit_code == 2 and "unit 'furlong' is unknown" in result.output


@pytest.mark.parametrize(
    ("direction", "value", "status"),
    [
        ("upper", 85.0, "normal"),
        ("upper", 90.0, "normal"),
        ("upper", 95.0, "warning"),
        ("upper", 100.0, "warning"),
        ("upper", 100.01, "exceeded"),
        ("lower", 100.0, "normal"),
        ("lower", 96.0, "below_target"),
        ("lower", None, "no_data"),
    ],
)
def test_status_thresholds(direction, value, status):
    assert value_status(direction, value, 100.0) == status


def test_a_year_without_a_target_compares_with_the_next_target_year():
    targets = [
        {"area": "city", "year": 2025, "value": 10},
        {"area": "city", "year": 2035, "value": 20},
        {"area": "500112", "year": 2035, "value": 5},
    ]
    assert target_for(targets, "city", 2024) == (10.0, 2025)
    assert target_for(targets, "city", 2025) == (10.0, 2025)
    assert target_for(targets, "city", 2026) == (20.0, 2035)
    assert target_for(targets, "500112", 2021) == (5.0, 2035)
    assert target_for(targets, "city", 2036) is None


def test_projection_at_the_current_rate():
    targets = [{"area": "city", "year": 2035, "value": 200.0}]
    points = [(2021, 100.0), (2022, 110.0), (2023, 118.0), (2024, 131.0), (2025, 140.0)]
    # 40 over 4 years = 10 a year; 60 to go: reached in 2031, before 2035.
    proj = projection("upper", points, targets, "city")
    assert (proj["rate_per_year"], proj["year"], proj["before_target_year"]) == (10.0, 2031, True)
    # Farmland falling 2 a year towards a floor of 180 from 190: crossed in 2030.
    falling = [(2023, 194.0), (2024, 192.0), (2025, 190.0)]
    floor = [{"area": "city", "year": 2035, "value": 180.0}]
    assert projection("lower", falling, floor, "city")["year"] == 2030
    # Moving away from the target, or standing still: never at this rate.
    assert projection("upper", [(2024, 150.0), (2025, 140.0)], targets, "city")["year"] is None
    assert projection("upper", [(2024, 140.0), (2025, 140.0)], targets, "city")["year"] is None
    assert projection("upper", [(2025, 140.0)], targets, "city") is None
