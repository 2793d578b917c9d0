"""Derived state of a layer version (self-overlap masks, dissolved layers) is built once,
stored with the layer version, and loaded — not rebuilt — by every other process."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sqlalchemy import select

from planfuse.context import build_context
from planfuse.services.compliance import overlaps
from planfuse.services.compliance.overlaps import (
    dissolved_layers,
    overlap_masks,
    preload_compliance_state,
)
from planfuse.services.layers import derived
from planfuse.services.layers.data import current_layers, layer_index
from planfuse.settings import load_settings
from planfuse.storage.models import LayerDerived


@pytest.fixture
def other_process(demo_ctx):
    """A second context over the same database, as another server process would have."""
    other = build_context(
        load_settings(
            {"database_url": demo_ctx.settings.database_url, "secret_key": "s" * 40},
            environ={},
        )
    )
    yield other
    other.close()


def refuse_to_build(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("built again instead of loaded")

    monkeypatch.setattr(overlaps, "self_overlap_mask", boom)
    monkeypatch.setattr(overlaps, "dissolve", boom)


def test_masks_are_built_once_and_loaded_by_another_process(demo_ctx, other_process, monkeypatch):
    first = preload_compliance_state(demo_ctx)
    assert first["layers"] >= 6 and first["features"] > 1000
    refs = current_layers(demo_ctx, ["basic_farmland", "land_use_plan", "sensitive_zone"])
    with demo_ctx.db.session() as session:
        stored = set(session.execute(select(LayerDerived.layer_id, LayerDerived.name)).all())
    assert {(r.layer_id, "overlap_mask") for r in refs} <= stored
    built = {
        r.layer_id: overlap_masks(demo_ctx).get((r.layer_id, r.version), layer_index(demo_ctx, r))
        for r in refs
    }
    assert any(m.any() for m in built.values()), "the demo has overlapping sensitive zones"
    refuse_to_build(monkeypatch)
    second = preload_compliance_state(other_process)
    assert second["layers"] == first["layers"]
    for r in refs:
        loaded = overlap_masks(other_process).get(
            (r.layer_id, r.version), layer_index(other_process, r)
        )
        np.testing.assert_array_equal(loaded, built[r.layer_id])


def test_dissolved_layers_are_stored_and_preloaded(demo_ctx, other_process, monkeypatch):
    ref = current_layers(demo_ctx, ["sensitive_zone"])[0]
    index = layer_index(demo_ctx, ref)
    classes = sorted({str(c) for c in index.attributes["type"] if c is not None})[:2]
    key = (ref.layer_id, ref.version, "type", frozenset(classes))
    whole = (ref.layer_id, ref.version, None, None)
    built = dissolved_layers(demo_ctx).build_now(key, index)
    dissolved_layers(demo_ctx).build_now(whole, index)
    assert len(built) > 0
    refuse_to_build(monkeypatch)
    assert dissolved_layers(other_process).preload(ref.layer_id, ref.version) == 2
    loaded = dissolved_layers(other_process).get(key, index, request=False)
    assert loaded is not None and len(loaded) == len(built)
    assert shapely.equals_exact(loaded.geometries, built.geometries, tolerance=0).all()
    assert dissolved_layers(other_process).get(whole, index, request=False) is not None


def test_a_process_looks_a_dissolved_layer_up_before_building_it(
    demo_ctx, other_process, monkeypatch
):
    ref = current_layers(demo_ctx, ["control_line"])[0]
    index = layer_index(demo_ctx, ref)
    key = (ref.layer_id, ref.version, None, None)
    dissolved_layers(demo_ctx).build_now(key, index)
    refuse_to_build(monkeypatch)
    # No preload: the first request for it finds it stored.
    assert dissolved_layers(other_process).get(key, index, request=True) is not None


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000])
def test_masks_pack_to_a_bit_per_feature(n):
    mask = np.random.default_rng(n).random(n) < 0.3
    data = derived.pack_mask(mask)
    assert len(data) == 8 + (n + 7) // 8
    np.testing.assert_array_equal(derived.unpack_mask(data), mask)


def test_geometries_pack_exactly_with_their_header():
    geoms = np.array([shapely.box(0, 0, 1.123456789012, 1), shapely.Point(3, 4)], dtype=object)
    out, header = derived.unpack_geometries(derived.pack_geometries(geoms, {"values": ["a"]}))
    assert header == {"values": ["a"]}
    assert shapely.equals_exact(out, geoms, tolerance=0).all()
