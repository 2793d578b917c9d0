"""Known answers on the demo's planted monitoring scenarios (planfuse.demo.status): the
service measures the imported status versions and finds the ratios the generator built
the targets from — 渝北 construction land at 95 % (warning), 沙坪坝 at 85 % (normal), 渝中
at 104 % (exceeded), 合川 farmland 4 % under its target (below_target)."""

from __future__ import annotations

import math

import pytest

from planfuse.demo.build import DEFAULT_SEED
from planfuse.demo.status import CONSTRUCTION_PREFIXES, FARMLAND_PREFIXES, YEARS, generate_status
from planfuse.demo.testing import TEST_SCALE
from planfuse.errors import NotFound
from planfuse.services.plan_monitoring.indicators import get_indicator, list_indicators
from planfuse.services.plan_monitoring.values import indicator_series, indicator_values
from planfuse.services.plan_monitoring.years import status_years


@pytest.fixture(scope="module")
def generated():
    return generate_status(TEST_SCALE, DEFAULT_SEED)


def rows(ctx, indicator, year=2025, **kw):
    return {r["area"]: r for r in indicator_values(ctx, indicator, year, **kw)["values"]}


def test_the_demo_ships_the_indicator_set_and_five_status_years(demo_ctx):
    ids = {i["id"] for i in list_indicators(demo_ctx)}
    assert {
        "farmland",
        "basic_farmland_area",
        "ecological_redline_area",
        "urban_boundary_area",
        "construction_land",
        "urban_rural_construction_land",
        "urban_construction_per_person",
        "forest_land",
        "wetland_area",
        "construction_in_boundary_share",
    } <= ids
    assert status_years(demo_ctx) == list(YEARS)
    for entry in list_indicators(demo_ctx):
        assert {t["year"] for t in entry["targets"]} == {2025, 2035}, entry["id"]


def test_construction_land_planted_district_statuses(demo_ctx, generated):
    expected = generated.area_by_district(2025, CONSTRUCTION_PREFIXES)
    values = rows(demo_ctx, "construction_land", districts=["500112", "500106", "500103"])
    for adcode, ratio, status in (
        ("500112", 0.95, "warning"),
        ("500106", 0.85, "normal"),
        ("500103", 1.04, "exceeded"),
    ):
        row = values[adcode]
        assert row["status"] == status, row
        assert row["ratio"] == pytest.approx(ratio, abs=1e-6)
        assert row["value"] == pytest.approx(expected[adcode], rel=1e-7)
        assert (row["unit"], row["target_year"]) == ("m2", 2025)
    assert values["500112"]["name"] == "渝北区"


def test_farmland_four_percent_under_target(demo_ctx, generated):
    row = rows(demo_ctx, "farmland", districts=["500117"])["500117"]
    assert row["status"] == "below_target" and row["ratio"] == pytest.approx(0.96, abs=1e-6)
    expected_ha = generated.area_by_district(2025, FARMLAND_PREFIXES)["500117"] / 1e4
    assert row["value"] == pytest.approx(expected_ha, rel=1e-7) and row["unit"] == "ha"


def test_every_indicator_for_every_year_by_district_and_city(demo_ctx):
    for entry in list_indicators(demo_ctx):
        for year in YEARS:
            by_district = indicator_values(demo_ctx, entry["id"], year)["values"]
            assert len(by_district) == 38
            city = indicator_values(demo_ctx, entry["id"], year, by="city")["values"]
            assert city[0]["area"] == "city" and city[0]["value"] is not None
            assert city[0]["status"] in ("normal", "warning", "exceeded", "below_target")


def test_series_with_yearly_change_and_projected_year(demo_ctx, generated):
    series = indicator_series(demo_ctx, "construction_land", 2021, 2025, districts=["500112"])
    (entry,) = series["series"]
    values = [generated.area_by_district(y, CONSTRUCTION_PREFIXES)["500112"] for y in YEARS]
    assert [p["year"] for p in entry["points"]] == list(YEARS)
    assert [p["value"] for p in entry["points"]] == pytest.approx(values, rel=1e-7)
    assert entry["points"][0]["change"] is None
    for before, point, value, previous in zip(
        entry["points"], entry["points"][1:], values[1:], values, strict=False
    ):
        # Both sides agree to 1e-7 of the value (file rounding, reprojection).
        assert point["change"] == pytest.approx(value - previous, abs=1e-7 * value), before
    target_2035 = next(
        t["value"]
        for t in get_indicator(demo_ctx, "construction_land")["targets"]
        if t["area"] == "500112" and t["year"] == 2035
    )
    rate = (values[-1] - values[0]) / 4
    proj = entry["projection"]
    assert proj["target_year"] == 2035 and proj["rate_per_year"] == pytest.approx(rate, rel=1e-5)
    assert proj["year"] == 2025 + math.ceil((target_2035 - values[-1]) / rate)


def test_a_year_without_status_and_unknown_names_are_404s(demo_ctx):
    with pytest.raises(NotFound) as err:
        indicator_values(demo_ctx, "construction_land", 2019)
    assert err.value.code == "year_not_found"
    assert "2021, 2022, 2023, 2024, 2025" in err.value.message
    with pytest.raises(NotFound) as err:
        indicator_values(demo_ctx, "construction_land", 2025, districts=["500199"])
    assert err.value.code == "unknown_district"
    with pytest.raises(NotFound) as err:
        indicator_values(demo_ctx, "water_use", 2025)
    assert "construction_land" in err.value.message
