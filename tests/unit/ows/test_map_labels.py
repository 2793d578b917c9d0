"""Feature names on server-drawn maps (planfuse.services.maps.labels): where they go, which
are left out, and from which scale on — the widget's rules for its district names."""

from __future__ import annotations

import math

import pytest
import shapely

from planfuse.services.maps.labels import (
    MAX_RESOLUTION,
    METRES_PER_DEGREE,
    Label,
    label_font,
    mercator_resolution,
    place_labels,
)


def test_the_resolution_of_a_map_in_each_kind_of_crs():
    # 1° over 256 px: 434.84 Web Mercator metres a pixel, whatever the latitude.
    one_degree = mercator_resolution(
        (106, 29, 107, 30), 256, degrees=True, mercator=False, latitude=30
    )
    assert one_degree == pytest.approx(METRES_PER_DEGREE / 256)
    # Web Mercator metres are already the unit.
    assert (
        mercator_resolution((0, 0, 2560, 2560), 256, degrees=False, mercator=True, latitude=30)
        == 10
    )
    # Ground metres (Gauss–Krüger) at 30°N: 10 m on the ground are 11.547 Web Mercator metres.
    ground = mercator_resolution(
        (0, 0, 2560, 2560), 256, degrees=False, mercator=False, latitude=30
    )
    assert ground == pytest.approx(10 / math.cos(math.radians(30)))
    assert MAX_RESOLUTION == 320  # the widget's DISTRICT_LABEL_MAX_RESOLUTION


def test_a_name_goes_inside_its_feature_larger_features_first():
    big = Label("沙坪坝区", shapely.box(10, 10, 210, 110))
    small = Label("九龙坡区", shapely.box(100, 40, 180, 80))  # its name would cover the big one's
    placed = dict(place_labels([small, big], 300, 200))
    assert list(placed) == ["沙坪坝区"]
    x, y = placed["沙坪坝区"]
    assert shapely.box(10, 10, 210, 110).contains(shapely.Point(x, y))


def test_names_that_do_not_fit_are_left_out():
    _, cjk = label_font(13)
    assert cjk, "./bootstrap installs fonts-wqy-microhei for the Chinese names"
    # Narrower than its name, out of the picture, empty: none written.
    narrow = Label("沙坪坝区", shapely.box(10, 10, 30, 200))
    outside = Label("九龙坡区", shapely.box(-300, 10, -100, 60))
    at_edge = Label("渝中区", shapely.box(250, 0, 400, 6))
    blank = Label("  ", shapely.box(0, 0, 300, 200))
    assert place_labels([narrow, outside, at_edge, blank], 300, 200) == []
    # Two features side by side each keep their name.
    left = Label("沙坪坝区", shapely.box(0, 0, 150, 100))
    right = Label("九龙坡区", shapely.box(150, 0, 300, 100))
    assert sorted(t for t, _ in place_labels([left, right], 300, 100)) == ["九龙坡区", "沙坪坝区"]
