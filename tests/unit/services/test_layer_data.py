"""Layer data for the function services: current layers and cached spatial indexes."""

import pytest

from planfuse.services.layers.data import (
    current_layers,
    feature_records,
    layer_index,
    layer_indexes,
)
from planfuse.services.layers.importer import ImportOptions, import_layer
from tests.layer_files import JIEFANGBEI, SHAPINGBA, feature_collection, square, write_geojson


def _import(ctx, tmp_path, layer_id, kind, geoms, props, name="f.geojson"):
    path = write_geojson(tmp_path / name, feature_collection(geoms, props))
    return import_layer(ctx, path, ImportOptions(layer_id=layer_id, kind=kind, crs="EPSG:4490"))


def test_index_holds_work_crs_geometries_and_kind_attributes(ctx, tmp_path):
    _import(
        ctx,
        tmp_path,
        "zones",
        "sensitive_zone",
        [square(*JIEFANGBEI, 100), square(*SHAPINGBA, 50)],
        [{"type": "geohazard", "level": "high"}, {"type": "water_source", "level": 1}],
    )
    [ref] = current_layers(ctx, ["sensitive_zone"])
    index = layer_index(ctx, ref)
    assert list(index.ids) == [1, 2]
    assert index.areas_m2 == pytest.approx([40_000, 10_000], rel=1e-6)
    assert list(index.attributes["type"]) == ["geohazard", "water_source"]
    # Numbers in attributes read back as text on every database.
    assert list(index.attributes["level"]) == ["high", "1"]
    assert layer_index(ctx, ref) is index
    assert layer_indexes(ctx).builds == 1


def test_new_version_gets_a_new_index(ctx, tmp_path):
    _import(ctx, tmp_path, "farmland", "basic_farmland", [square(*JIEFANGBEI, 100)], [{}])
    [v1] = current_layers(ctx)
    first = layer_index(ctx, v1)
    _import(
        ctx,
        tmp_path,
        "farmland",
        "basic_farmland",
        [square(*JIEFANGBEI, 100), square(*SHAPINGBA, 100)],
        [{}, {}],
        name="g.geojson",
    )
    [v2] = current_layers(ctx)
    assert v2.version == 2
    assert len(layer_index(ctx, v2)) == 2
    assert len(first) == 1


def test_current_layers_filters_by_kind_and_feature_records(ctx, tmp_path):
    _import(
        ctx,
        tmp_path,
        "farmland",
        "basic_farmland",
        [square(*JIEFANGBEI, 100)],
        [{"note": "<b>x</b>"}],
    )
    assert current_layers(ctx, ["ecological_redline"]) == []
    [ref] = current_layers(ctx, ["basic_farmland"])
    records = feature_records(ctx, ref.layer_id, ref.version, [1, 99])
    assert list(records) == [1]
    assert records[1]["properties"] == {"note": "<b>x</b>"}
    assert records[1]["area_m2"] == pytest.approx(40_000, rel=1e-6)


def test_geometry_invalid_after_reprojection_is_repaired_polygonal():
    import numpy as np
    import shapely

    from planfuse.services.layers.data import valid_in_work_crs

    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])
    square = shapely.box(0, 0, 1, 1)
    out = valid_in_work_crs(np.array([bowtie, square], dtype=object))
    assert shapely.is_valid(out).all()
    assert out[0].geom_type == "MultiPolygon" and out[0].area == pytest.approx(50)
    assert out[1] is square
