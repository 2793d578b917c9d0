"""Geometries simplified for a web-map zoom level (OGC API – Features Part 7 draft): the
tolerance is half a WebMercatorQuad pixel in ground metres, and simplification happens in
metres, not degrees."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from planfuse.geo.generalise import WEB_MERCATOR_PIXEL_M, simplify_for_zoom, zoom_tolerance_m
from planfuse.geo.measure import work_projection

WORK = work_projection()


def test_the_tolerance_is_half_a_web_mercator_pixel_on_the_ground():
    # Zoom 0 on the equator: one 256-pixel tile spans the equator, 40,075,016.686 m.
    assert pytest.approx(156543.03392804097, abs=1e-8) == WEB_MERCATOR_PIXEL_M
    assert float(zoom_tolerance_m(0, 0.0)) == pytest.approx(78271.51696402048, abs=1e-8)
    # Each zoom halves it; at 60° a Mercator pixel covers half the ground it does at 0°.
    assert float(zoom_tolerance_m(10, 60.0)) == pytest.approx(
        156543.03392804097 / 1024 / 2 / 2, rel=1e-12
    )
    # Chongqing (29.5° N) at zoom 10: 66.5 m.
    assert float(zoom_tolerance_m(10, 29.5)) == pytest.approx(
        156543.03392804097 / 1024 * math.cos(math.radians(29.5)) / 2, rel=1e-12
    )


def _square_with_bumps(bump_m: float) -> shapely.Polygon:
    """A 1 km square near Chongqing (in storage lon/lat) whose edges each have a middle
    vertex pushed `bump_m` metres outwards."""
    half = 500.0
    ring = [
        (-half, -half),
        (0.0, -half - bump_m),
        (half, -half),
        (half + bump_m, 0.0),
        (half, half),
        (0.0, half + bump_m),
        (-half, half),
        (-half - bump_m, 0.0),
        (-half, -half),
    ]
    centre = WORK.to_work(shapely.Point(106.55, 29.56))
    work = shapely.affinity.translate(shapely.Polygon(ring), centre.x, centre.y)
    return WORK.to_storage(work)


def test_vertices_within_the_tolerance_go_and_the_others_stay():
    # The bumps are 20 m: inside zoom 10's 66.5 m, outside zoom 14's 4.2 m.
    polygon = _square_with_bumps(20.0)
    coarse, fine = (simplify_for_zoom(np.array([polygon]), z, WORK)[0] for z in (10, 14))
    assert shapely.get_num_coordinates(polygon) == 9
    assert shapely.get_num_coordinates(coarse) == 5
    assert shapely.get_num_coordinates(fine) == 9
    # Measured in metres: the coarse outline is 20 m from the surveyed one at most.
    gap = shapely.hausdorff_distance(WORK.to_work(coarse), WORK.to_work(polygon))
    assert gap == pytest.approx(20.0, abs=0.01)
    assert fine.equals_exact(polygon, 1e-9)


def test_the_tolerance_is_in_metres_east_west_as_north_south():
    # A degree-based tolerance would treat a 60 m east–west bump (0.00062°) differently
    # from a 60 m north–south one (0.00054°); in metres both go at zoom 10 (66.5 m) and
    # both stay at zoom 11 (33.3 m).
    polygon = _square_with_bumps(60.0)
    assert shapely.get_num_coordinates(simplify_for_zoom(np.array([polygon]), 10, WORK)[0]) == 5
    assert shapely.get_num_coordinates(simplify_for_zoom(np.array([polygon]), 11, WORK)[0]) == 9


def test_points_and_empty_input_come_back_unchanged():
    point = shapely.Point(106.55, 29.56)
    out = simplify_for_zoom(np.array([point]), 0, WORK)
    assert out[0].equals_exact(point, 1e-9)
    assert simplify_for_zoom(np.array([], dtype=object), 10, WORK).size == 0


def test_a_thin_ring_is_kept_valid_not_collapsed():
    # A 1 km × 30 m strip at zoom 8 (266 m tolerance) would collapse to a line without
    # topology preservation; it stays a valid polygon.
    centre = WORK.to_work(shapely.Point(106.55, 29.56))
    strip = WORK.to_storage(shapely.box(centre.x, centre.y, centre.x + 1000, centre.y + 30))
    out = simplify_for_zoom(np.array([strip]), 8, WORK)[0]
    assert out.geom_type == "Polygon" and out.is_valid and not out.is_empty
