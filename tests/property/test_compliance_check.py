"""Property tests of the compliance check: no item's overlap exceeds the project; the m²
of a project split in two add up to the whole, item by item; the fast union of overlap
pieces equals a brute-force union whether layers are coverages or overlap themselves."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
import shapely
from compliance_world import CENTRE, build_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planfuse.context import build_context
from planfuse.geo.index import LayerIndex
from planfuse.geo.measure import work_projection
from planfuse.services.compliance import rules
from planfuse.services.compliance.check import check, report_bytes
from planfuse.services.compliance.overlaps import dissolve, self_overlap_mask
from planfuse.services.compliance.rules import PieceSet
from planfuse.services.compliance.rulesets import save_ruleset
from planfuse.services.layers.data import LayerRef
from planfuse.settings import load_settings

# The world spans x −1000…4200 m, y −1000…1100 m around CENTRE (tests/compliance_world.py).
X_RANGE = (-1_100.0, 4_300.0)
Y_RANGE = (-1_100.0, 1_200.0)


@pytest.fixture(scope="module")
def world_ctx(tmp_path_factory):
    db = tmp_path_factory.mktemp("compliance-property") / "planfuse.db"
    ctx = build_context(
        load_settings({"database_url": f"sqlite:///{db}", "secret_key": "p" * 40}, environ={})
    )
    ctx.db.upgrade()
    build_world(ctx)
    # Without slivers every item's area is additive under a split (a split can cut a
    # piece into slivers that the default ruleset would then ignore).
    save_ruleset(
        ctx,
        "no-slivers",
        {"name": {"zh-CN": "无碎图斑"}, "settings": {"sliver_m2": 0, "sliver_width_m": 0}},
        created_by="test",
        create=True,
    )
    yield ctx
    ctx.close()


def origin():
    x, y = work_projection().points_to_work([CENTRE[0]], [CENTRE[1]])
    return float(x[0]), float(y[0])


@st.composite
def projects(draw):
    """Simple star-shaped red lines (0.5–900 m radius) somewhere over the world."""
    cx = draw(st.floats(*X_RANGE))
    cy = draw(st.floats(*Y_RANGE))
    n = draw(st.integers(3, 16))
    radii = np.array(draw(st.lists(st.floats(5, 900), min_size=n, max_size=n)))
    jitter = np.array(draw(st.lists(st.floats(0.05, 0.95), min_size=n, max_size=n)))
    angles = (np.arange(n) + jitter) * (2 * np.pi / n)
    ox, oy = origin()
    ring = np.column_stack([ox + cx + radii * np.cos(angles), oy + cy + radii * np.sin(angles)])
    return shapely.Polygon(ring)


def geojson(geom_work) -> dict:
    return orjson.loads(shapely.to_geojson(work_projection().to_storage(geom_work)))


def run(ctx, geom_work) -> dict:
    report = check(ctx, geojson(geom_work), "EPSG:4490", "0701", "urban", "no-slivers", store=False)
    return orjson.loads(report_bytes(report))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects())
def test_no_overlap_exceeds_the_project(world_ctx, project):
    report = run(world_ctx, project)
    area = report["project_area_m2"]
    assert area == pytest.approx(project.area, rel=1e-6, abs=0.005)  # 2 decimals
    for item in report["items"]:
        assert item["overlap_area_m2"] <= area + 0.01, item["rule"]
        assert 0 <= item["overlap_ratio"] <= 1 + 1e-6
        for feature in item["features"]:
            assert feature["overlap_area_m2"] <= area + 0.01
            assert feature["overlap_area_m2"] <= feature["feature_area_m2"] + 0.01


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(project=projects(), cut=st.floats(0.1, 0.9))
def test_a_split_project_adds_up(world_ctx, project, cut):
    minx, miny, maxx, maxy = project.bounds
    x = minx + cut * (maxx - minx)
    west = shapely.intersection(project, shapely.box(minx - 1, miny - 1, x, maxy + 1))
    east = shapely.intersection(project, shapely.box(x, miny - 1, maxx + 1, maxy + 1))
    whole, a, b = (run(world_ctx, g) for g in (project, west, east))
    assert a["project_area_m2"] + b["project_area_m2"] == pytest.approx(
        whole["project_area_m2"], rel=1e-6, abs=0.02
    )
    for w, left, right in zip(whole["items"], a["items"], b["items"], strict=True):
        assert w["rule"] == left["rule"] == right["rule"]
        # Each part is rounded to 2 decimals: allow a cent per part.
        assert left["overlap_area_m2"] + right["overlap_area_m2"] == pytest.approx(
            w["overlap_area_m2"], rel=1e-6, abs=0.03
        ), w["rule"]


# --- the union of pieces ---------------------------------------------------------------------


def tiling(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    extent = shapely.box(0, 0, 5_000, 5_000)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(rng.uniform(0, 5_000, (n, 2))), extend_to=extent
        )
    )
    cells = shapely.intersection(cells, extent)
    return cells[shapely.area(cells) > 0]


def nested(seed: int, n: int) -> np.ndarray:
    """Zones with ring-shaped outer zones (their edges all shared), and big zones over them:
    the structure GEOS's coverage validation cannot see overlaps in."""
    rng = np.random.default_rng(seed)
    out = []
    for cx, cy in rng.uniform(0, 5_000, (max(1, n // 3), 2)):
        r = rng.uniform(50, 400)
        inner = shapely.Point(cx, cy).buffer(r, quad_segs=4)
        outer = shapely.Point(cx, cy).buffer(r * 2, quad_segs=4)
        out += [inner, shapely.difference(outer, inner)]
        if rng.random() < 0.5:
            out.append(shapely.box(cx - r * 3, cy - r * 3, cx + r * 3.5, cy + r * 2.5))
    return np.array(out, dtype=object)


def blobs(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 5_000, (n, 2))
    return shapely.buffer(shapely.points(centres), rng.uniform(50, 900, n), quad_segs=4)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 80),
    kind=st.sampled_from(["tiling", "blobs", "both", "nested", "stacked"]),
    x=st.floats(0, 4_000),
    y=st.floats(0, 4_000),
    size=st.floats(50, 2_500),
    precomputed=st.booleans(),
)
def test_piece_union_area_equals_a_brute_force_union(seed, n, kind, x, y, size, precomputed):
    layers = {"tiling": [tiling(seed, n)], "blobs": [blobs(seed, n)]}
    layers["both"] = [tiling(seed, n), blobs(seed + 1, n)]
    layers["nested"] = [nested(seed, n)]
    layers["stacked"] = [np.concatenate([tiling(seed, n), tiling(seed + 1, n)])]
    indexes = [LayerIndex(np.arange(len(g)), g) for g in layers[kind]]
    refs = [LayerRef(f"l{i}", 1, "basic_farmland", "", "") for i in range(len(indexes))]
    project = shapely.box(x, y, x + size, y + size * 0.7)
    # With the layer's precomputed self-overlap mask, or detected per query.
    masks = [self_overlap_mask(index) for index in indexes] if precomputed else None
    pieces = PieceSet.build(refs, indexes, project, masks)
    brute = float(shapely.area(shapely.union_all(pieces.pieces))) if len(pieces) else 0.0
    assert pieces.area_m2() == pytest.approx(brute, rel=1e-9, abs=1e-6)
    assert pieces.area_m2() <= project.area * (1 + 1e-9)
    mask = np.arange(len(pieces)) % 2 == 0
    brute_half = float(shapely.area(shapely.union_all(pieces.pieces[mask]))) if mask.any() else 0.0
    assert pieces.area_m2(mask) == pytest.approx(brute_half, rel=1e-9, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 150),
    x=st.floats(0, 4_000),
    y=st.floats(0, 4_000),
    size=st.floats(50, 3_000),
)
def test_dissolved_layer_gives_the_union_area(seed, n, x, y, size):
    # Overlapping blobs with a type attribute; areas through the dissolved layer (tiles of
    # the union) equal the brute-force union of the pieces, for all and for one type.
    geoms = blobs(seed, n)
    types = np.array(["road" if i % 3 else "blue" for i in range(len(geoms))], dtype=object)
    index = LayerIndex(np.arange(len(geoms)), geoms, {"type": types})
    ref = LayerRef("lines", 1, "control_line", "", "")
    project = shapely.box(x, y, x + size, y + size * 0.6)
    pieces = PieceSet.build([ref], [index], project, [self_overlap_mask(index)])
    pieces.project = project

    def dissolver(attribute, values):
        keep = None if attribute is None else np.isin(types.astype(str), sorted(values))
        return dissolve(index, keep)

    pieces.dissolver = dissolver
    saved = rules.DISSOLVE_MIN_PIECES
    rules.DISSOLVE_MIN_PIECES = 1  # every area through the dissolved layer
    try:
        for attribute, values in ((None, ()), ("type", ["road"]), ("type", ["blue", "road"])):
            mask = (
                np.ones(len(pieces), bool)
                if attribute is None
                else np.isin(pieces.attr("type").astype(str), values)
            )
            brute = float(shapely.area(shapely.union_all(pieces.pieces[mask]))) if mask.any() else 0
            got = pieces.area_where(attribute, values)
            assert got == pytest.approx(brute, rel=1e-7, abs=1e-4)
    finally:
        rules.DISSOLVE_MIN_PIECES = saved
