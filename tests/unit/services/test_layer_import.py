"""Layer import: all-or-nothing, every CRS path, zip safety, versions."""

import json
import zipfile

import pytest
import shapely
from sqlalchemy import func, select

from planfuse.errors import DomainError
from planfuse.geo.errors import DatumTransformError, GeometryInputError, UnknownCRSError
from planfuse.http.problems import problem_from_exception
from planfuse.services.layers.catalogue import list_layers
from planfuse.services.layers.importer import ImportOptions, import_layer
from planfuse.storage.models import Feature, Layer, LayerVersion
from tests.layer_files import (
    JIEFANGBEI,
    SHAPINGBA,
    WANZHOU,
    feature_collection,
    square,
    write_geojson,
    write_zipped_shapefile,
)


def count(ctx, model):
    with ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def farmland_options(**kw):
    return ImportOptions(layer_id="basic_farmland", kind="basic_farmland", **kw)


def test_geojson_in_gauss_kruger_is_stored_in_4490_with_areas(ctx, tmp_path):
    geoms = [square(*JIEFANGBEI, 50), square(*SHAPINGBA, 100)]
    path = write_geojson(tmp_path / "f.geojson", feature_collection(geoms, crs="EPSG:4523"))
    summary = import_layer(ctx, path, farmland_options(crs="EPSG:4523", name="永久基本农田"))
    assert summary.feature_count == 2
    assert summary.version == 1
    assert summary.source_crs == "EPSG:4523"
    # 100 m × 100 m and 200 m × 200 m squares built in the equal-area working CRS.
    assert summary.total_area_m2 == pytest.approx(10_000 + 40_000, rel=1e-6)
    with ctx.db.session() as s:
        rows = s.scalars(select(Feature).order_by(Feature.fid)).all()
    stored = shapely.from_wkb(rows[0].geom)
    assert stored.equals_exact(geoms[0], tolerance=1e-8)
    assert [r.fid for r in rows] == [1, 2]
    assert rows[0].minx == pytest.approx(stored.bounds[0])


def test_reimport_creates_a_new_version_and_keeps_the_old(ctx, tmp_path):
    p1 = write_geojson(tmp_path / "a.geojson", feature_collection([square(*JIEFANGBEI, 50)]))
    p2 = write_geojson(
        tmp_path / "b.geojson",
        feature_collection([square(*SHAPINGBA, 50), square(*WANZHOU, 50)]),
    )
    import_layer(ctx, p1, farmland_options(crs="EPSG:4490"))
    second = import_layer(ctx, p2, farmland_options(crs="EPSG:4490"))
    assert second.version == 2
    with ctx.db.session() as s:
        assert s.get(Layer, "basic_farmland").current_version == 2
        per_version = dict(
            s.execute(select(Feature.version, func.count()).group_by(Feature.version)).all()
        )
    assert per_version == {1: 1, 2: 2}
    [entry] = list_layers(ctx)
    assert entry["version"] == 2 and entry["feature_count"] == 2


def test_one_bad_feature_stores_nothing_and_every_bad_feature_is_reported(ctx, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]
        ],
    }
    unclosed = {
        "type": "Polygon",
        "coordinates": [[[106.6, 29.5], [106.61, 29.5], [106.61, 29.51], [106.6, 29.51]]],
    }
    good = feature_collection([square(*JIEFANGBEI, 50)])["features"][0]
    fc = {
        "type": "FeatureCollection",
        "features": [
            good,
            {"type": "Feature", "geometry": bowtie, "properties": {}},
            good,
            {"type": "Feature", "geometry": unclosed, "properties": {}},
        ],
    }
    path = write_geojson(tmp_path / "bad.geojson", fc)
    with pytest.raises(GeometryInputError) as info:
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    reported = {p.feature for p in info.value.errors}
    assert reported == {1, 3}
    assert count(ctx, Layer) == 0
    assert count(ctx, Feature) == 0


def test_failure_while_writing_leaves_previous_version_untouched(ctx, tmp_path):
    p1 = write_geojson(tmp_path / "a.geojson", feature_collection([square(*JIEFANGBEI, 50)]))
    import_layer(ctx, p1, farmland_options(crs="EPSG:4490"))
    # Same layer id, different kind: refused before anything is written.
    with pytest.raises(DomainError) as info:
        import_layer(
            ctx,
            p1,
            ImportOptions(layer_id="basic_farmland", kind="ecological_redline", crs="EPSG:4490"),
        )
    assert problem_from_exception(info.value).status == 409
    assert count(ctx, LayerVersion) == 1
    assert count(ctx, Feature) == 1


def test_zipped_shapefile_takes_crs_from_prj_and_reads_gbk_attributes(ctx, tmp_path):
    geoms = [square(*JIEFANGBEI, 60), square(*SHAPINGBA, 60)]
    props = [{"DLBM": "0701", "MC": "住宅用地"}, {"DLBM": "1001", "MC": "工业用地"}]
    path = write_zipped_shapefile(
        tmp_path / "plan.zip", geoms, props, crs="EPSG:4523", encoding="gbk"
    )
    summary = import_layer(
        ctx,
        path,
        ImportOptions(layer_id="land_use_plan", kind="land_use_plan", field_map={"DLBM": "code"}),
    )
    assert summary.source_crs == "EPSG:4523"
    with ctx.db.session() as s:
        stored = [r.properties for r in s.scalars(select(Feature).order_by(Feature.fid))]
    assert stored == [{"code": "0701", "MC": "住宅用地"}, {"code": "1001", "MC": "工业用地"}]


def test_crs_option_contradicting_the_prj_is_refused(ctx, tmp_path):
    path = write_zipped_shapefile(
        tmp_path / "f.zip", [square(*JIEFANGBEI, 50)], [{"A": "x"}], crs="EPSG:4523"
    )
    with pytest.raises(DomainError, match=r"EPSG:4524.*EPSG:4523"):
        import_layer(ctx, path, farmland_options(crs="EPSG:4524"))


def test_missing_crs_is_refused(ctx, tmp_path):
    path = write_zipped_shapefile(
        tmp_path / "f.zip", [square(*JIEFANGBEI, 50)], [{"A": "x"}], crs=None
    )
    with pytest.raises(DomainError, match="--crs"):
        import_layer(ctx, path, farmland_options())


def test_unknown_crs_is_refused(ctx, tmp_path):
    path = write_geojson(tmp_path / "f.geojson", feature_collection([square(*JIEFANGBEI, 50)]))
    with pytest.raises(UnknownCRSError):
        import_layer(ctx, path, farmland_options(crs="EPSG:99999"))
    assert count(ctx, Layer) == 0


def test_easting_zone_prefix_contradicting_the_crs_is_refused(ctx, tmp_path):
    # Coordinates written in zone 36 (EPSG:4524) but declared as zone 35 (EPSG:4523).
    fc = feature_collection([square(*JIEFANGBEI, 50)], crs="EPSG:4524")
    path = write_geojson(tmp_path / "f.geojson", fc)
    with pytest.raises(GeometryInputError) as info:
        import_layer(ctx, path, farmland_options(crs="EPSG:4523"))
    assert "EPSG:4524" in str(info.value.errors[0].message)
    assert info.value.errors[0].feature == 0
    assert count(ctx, Feature) == 0


def test_xian_1980_without_configured_parameters_is_refused(ctx, tmp_path):
    # Xian 1980 GK zone 36 (CM 108°E, no prefix): the numbers themselves are plausible.
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [455000, 3270000],
                            [455100, 3270000],
                            [455100, 3270100],
                            [455000, 3270100],
                            [455000, 3270000],
                        ]
                    ],
                },
            }
        ],
    }
    path = write_geojson(tmp_path / "xian.geojson", fc)
    with pytest.raises(DatumTransformError, match="7-parameter"):
        import_layer(ctx, path, farmland_options(crs="EPSG:2381"))
    assert count(ctx, Layer) == 0


def test_script_property_is_stored_as_text(ctx, tmp_path):
    payload = "<script>alert('x')</script>"
    fc = feature_collection([square(*JIEFANGBEI, 50)], [{"name": payload}])
    path = write_geojson(tmp_path / "f.geojson", fc)
    import_layer(
        ctx, path, ImportOptions(layer_id="redline", kind="ecological_redline", crs="EPSG:4490")
    )
    with ctx.db.session() as s:
        assert s.scalars(select(Feature)).one().properties == {"name": payload}


def test_properties_with_escapes_and_quotes_are_stored_as_given(ctx, tmp_path):
    # The bulk writers pass text through COPY's escaping on PostgreSQL.
    tricky = {
        "name": 'back\\slash\ttab\nnewline\rreturn "quoted" 中文 \\N',
        "nested": {"list": [1, 2.5, None, True], "empty": ""},
        "code": "0101",
    }
    fc = feature_collection([square(*JIEFANGBEI, 50), square(*SHAPINGBA, 50)], [tricky, {}])
    import_layer(
        ctx,
        write_geojson(tmp_path / "f.geojson", fc),
        ImportOptions(layer_id="redline", kind="ecological_redline", crs="EPSG:4490"),
    )
    with ctx.db.session() as s:
        rows = s.execute(select(Feature.properties, Feature.district).order_by(Feature.fid)).all()
    assert rows == [(tricky, None), ({}, None)]


def test_required_attribute_missing_names_feature_and_attribute(ctx, tmp_path):
    fc = feature_collection(
        [square(*JIEFANGBEI, 50), square(*SHAPINGBA, 50)], [{"code": "0701"}, {"DLBM": "1001"}]
    )
    path = write_geojson(tmp_path / "f.geojson", fc)
    with pytest.raises(GeometryInputError) as info:
        import_layer(
            ctx, path, ImportOptions(layer_id="plan", kind="land_use_plan", crs="EPSG:4490")
        )
    [problem] = info.value.errors
    assert problem.feature == 1 and problem.field == "code"
    assert "--map" in problem.message


def test_geometry_type_must_match_the_kind(ctx, tmp_path):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [106.5, 29.5]},
            }
        ],
    }
    path = write_geojson(tmp_path / "f.geojson", fc)
    with pytest.raises(GeometryInputError):
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))


def test_features_get_their_district(ctx, tmp_path):
    districts = feature_collection(
        [square(*JIEFANGBEI, 3000), square(*WANZHOU, 3000)],
        [{"adcode": "500103", "name": "渝中区"}, {"adcode": "500101", "name": "万州区"}],
    )
    import_layer(
        ctx,
        write_geojson(tmp_path / "d.geojson", districts),
        ImportOptions(layer_id="districts", kind="district", crs="EPSG:4490"),
    )
    farmland = feature_collection(
        [square(*WANZHOU, 100), square(*JIEFANGBEI, 100), square(*SHAPINGBA, 100)]
    )
    import_layer(
        ctx, write_geojson(tmp_path / "f.geojson", farmland), farmland_options(crs="EPSG:4490")
    )
    with ctx.db.session() as s:
        got = s.execute(
            select(Feature.fid, Feature.district)
            .where(Feature.layer_id == "basic_farmland")
            .order_by(Feature.fid)
        ).all()
    assert got == [(1, "500101"), (2, "500103"), (3, None)]


def test_gcj02_input_is_converted(ctx, tmp_path):
    from planfuse.geo.offsets import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(*JIEFANGBEI)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"type": "school"},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
    }
    import_layer(
        ctx,
        write_geojson(tmp_path / "f.geojson", fc),
        ImportOptions(layer_id="facilities", kind="facility", crs="GCJ-02"),
    )
    with ctx.db.session() as s:
        point = shapely.from_wkb(s.scalars(select(Feature.geom)).one())
    from pyproj import Geod

    _, _, dist_m = Geod(ellps="GRS80").inv(point.x, point.y, *JIEFANGBEI)
    assert dist_m < 0.5


def _zip_with(path, entries):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def test_zip_bomb_is_refused_by_bytes_actually_inflated(tmp_path, database_url):
    from planfuse.context import build_context
    from planfuse.settings import load_settings

    ctx = build_context(
        load_settings({"database_url": database_url, "import_max_bytes": 5_000_000}, environ={})
    )
    ctx.db.upgrade()
    path = _zip_with(
        tmp_path / "bomb.zip", [("layer.dbf", b"\0" * 60_000_000), ("layer.shp", b"\0" * 100)]
    )
    assert path.stat().st_size < 1_000_000
    with pytest.raises(DomainError) as info:
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    assert problem_from_exception(info.value).status == 413
    assert count(ctx, Layer) == 0
    ctx.close()


@pytest.mark.parametrize(
    "name", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "C:\\evil.shp"]
)
def test_zip_entries_outside_the_archive_are_refused(ctx, tmp_path, name):
    path = _zip_with(tmp_path / "evil.zip", [(name, b"x")])
    with pytest.raises(DomainError, match="outside the archive"):
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    assert not (tmp_path.parent / "evil.shp").exists()


def test_zip_with_too_many_entries_is_refused(ctx, tmp_path):
    path = _zip_with(tmp_path / "many.zip", [(f"f{i}.txt", b"") for i in range(500)])
    with pytest.raises(DomainError, match="zip_max_entries"):
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))


def test_invalid_json_file_reports_line_and_column(ctx, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [\n  {"type": }\n]}')
    with pytest.raises(GeometryInputError) as info:
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    assert info.value.errors[0].line == 2


def test_repair_applies_make_valid_only_when_asked(ctx, tmp_path):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[106.5, 29.5], [106.51, 29.51], [106.51, 29.5], [106.5, 29.51], [106.5, 29.5]]
        ],
    }
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": bowtie, "properties": {}}],
    }
    path = write_geojson(tmp_path / "f.geojson", fc)
    summary = import_layer(ctx, path, farmland_options(crs="EPSG:4490", repair=True))
    assert summary.repaired == 1
    with ctx.db.session() as s:
        geom = shapely.from_wkb(s.scalars(select(Feature.geom)).one())
    assert geom.is_valid and geom.geom_type == "MultiPolygon"


def test_bad_layer_id_and_kind_are_refused_before_reading(ctx, tmp_path):
    path = tmp_path / "does-not-matter.geojson"
    path.write_text("{}")
    with pytest.raises(DomainError, match="layer id"):
        import_layer(ctx, path, ImportOptions(layer_id="Bad Id!", kind="basic_farmland"))
    with pytest.raises(DomainError, match="expected one of"):
        import_layer(ctx, path, ImportOptions(layer_id="x", kind="farmland"))


def test_empty_collection_is_refused(ctx, tmp_path):
    path = write_geojson(tmp_path / "e.geojson", {"type": "FeatureCollection", "features": []})
    with pytest.raises((DomainError, GeometryInputError)):
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    assert count(ctx, Layer) == 0


def test_shapefile_parts_without_zip_are_explained(ctx, tmp_path):
    path = tmp_path / "layer.shp"
    path.write_bytes(b"\0\0\x27\x0a" + b"\0" * 96)
    with pytest.raises(DomainError, match=r"\.zip"):
        import_layer(ctx, path, farmland_options(crs="EPSG:4490"))


def test_json_dump_of_summary_is_plain(ctx, tmp_path):
    path = write_geojson(tmp_path / "f.geojson", feature_collection([square(*JIEFANGBEI, 50)]))
    summary = import_layer(ctx, path, farmland_options(crs="EPSG:4490"))
    assert json.loads(json.dumps(summary.to_dict()))["feature_count"] == 1
