"""A layer version's split by district (and the areas of one layer inside others) is cut
once, stored with the layer version, and loaded — not cut again — by every other process,
with the same figures."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from planfuse.context import build_context
from planfuse.services.plan_monitoring import measure
from planfuse.services.plan_monitoring.indicators import list_indicators
from planfuse.services.plan_monitoring.values import indicators_values
from planfuse.settings import load_settings
from planfuse.storage.models import LayerDerived


def another_process(ctx, **settings):
    """A second context over the same database, as another server process would have."""
    config = {"database_url": ctx.settings.database_url, "secret_key": "s" * 40, **settings}
    return build_context(load_settings(config, environ={}))


def stored_names(ctx, prefix):
    with ctx.db.session() as session:
        names = session.scalars(select(LayerDerived.name)).all()
    return sorted(n for n in names if n.startswith(prefix))


def test_a_second_process_loads_the_splits_and_answers_the_same(demo_ctx, monkeypatch):
    ids = [i["id"] for i in list_indicators(demo_ctx)]
    first = indicators_values(demo_ctx, ids, 2025)
    splits = stored_names(demo_ctx, "district_split:")
    # The 2025 status version and the control layers the ten indicators read.
    assert len(splits) >= 4
    assert len(stored_names(demo_ctx, "district_inside:")) == 1  # construction in boundary

    def refuse(*args, **kwargs):
        raise AssertionError("cut again instead of loaded")

    monkeypatch.setattr(measure, "split_by_district", refuse)
    other = another_process(demo_ctx)
    try:
        second = indicators_values(other, ids, 2025)
    finally:
        other.close()
    assert second == first
    assert stored_names(demo_ctx, "district_split:") == splits


def test_another_equal_area_crs_cuts_its_own_split(demo_ctx):
    ids = ["construction_land"]
    first = indicators_values(demo_ctx, ids, 2025)["results"][0]["values"]
    before = stored_names(demo_ctx, "district_split:")
    # CGCS2000 / 3-degree Gauss-Kruger CM 108E: nearly equal area here, but not the same.
    other = another_process(demo_ctx, area_crs="EPSG:4545")
    try:
        second = indicators_values(other, ids, 2025)["results"][0]["values"]
    finally:
        other.close()
    after = stored_names(demo_ctx, "district_split:")
    assert len(after) == len(before) + 1, "a split of its own, not the first CRS's"
    for a, b in zip(first, second, strict=True):
        assert a["area"] == b["area"]
        assert b["value"] == pytest.approx(a["value"], rel=1e-3)


def test_stored_arrays_round_trip_exactly():
    from planfuse.services.layers import derived

    arrays = {
        "feature": np.array([0, 3, 3, 9], dtype=np.int64),
        "area_m2": np.array([1.5, 1e-9, 123456789.123456789, 0.0]),
    }
    back = derived.unpack_arrays(derived.pack_arrays(arrays))
    assert set(back) == set(arrays)
    for name, values in arrays.items():
        assert back[name].dtype == values.dtype and np.array_equal(back[name], values)
