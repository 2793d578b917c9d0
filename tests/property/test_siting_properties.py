"""Properties of the siting search on the small world (tests/siting_world.py):

- the filtered set is monotone in the area bounds (a wider range never loses a parcel) and
  every candidate's area lies within them;
- adding a condition never adds a candidate;
- candidates are ranked by score, ties by area then id, scores within 0…1;
- whatever searches ran before (any fill state of the relation cache), a search returns
  exactly what it returns on a cold cache.
"""

from __future__ import annotations

import copy

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planfuse.context import build_context
from planfuse.services.siting import search
from planfuse.services.siting.relations import siting_cache
from planfuse.settings import load_settings
from tests.siting_world import DISTRICT_A, DISTRICT_B, EXAMPLE, build_world

SCOPE = {"districts": [DISTRICT_A, DISTRICT_B]}
AREAS = st.one_of(st.none(), st.floats(min_value=0, max_value=120_000, allow_nan=False))
CONTROLS = [
    {"kind": "urban_boundary", "mode": "inside"},
    {"kind": "ecological_redline", "mode": "outside"},
    {"kind": "basic_farmland", "mode": "outside"},
    {"kind": "sensitive_zone", "mode": "outside"},
]
EXCLUDES = [
    {"type": "geohazard", "level": "high"},
    {"type": "geohazard", "level": "medium"},
    {"type": "geohazard"},
]
PROXIMITY = [
    {"kind": "road", "class": "provincial", "within_m": 2000},
    {"kind": "road", "within_m": 800},
    {"kind": "facility", "type": "school", "within_m": 1500},
    {"kind": "road", "class": "county"},
]
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("siting-properties")
    ctx = build_context(load_settings({"database_url": f"sqlite:///{folder / 'p.db'}"}, environ={}))
    ctx.db.upgrade()
    build_world(ctx, folder)
    yield ctx
    ctx.close()


def ids(ctx, **conditions) -> set[int]:
    result = search(ctx, SCOPE, conditions, {"area_fit": 1.0}, limit=500)
    return {c["feature_id"] for c in result["candidates"]}


def bounds(lo, hi):
    out = {}
    if lo is not None:
        out["area_min_m2"] = lo
    if hi is not None:
        out["area_max_m2"] = hi
    return out


@SLOW
@given(a=AREAS, b=AREAS, widen_lo=st.floats(0, 50_000), widen_hi=st.floats(0, 50_000))
def test_filtered_set_is_monotone_in_the_area_bounds(world, a, b, widen_lo, widen_hi):
    lo, hi = (a, b) if a is None or b is None or a <= b else (b, a)
    narrow = ids(world, **bounds(lo, hi))
    wider_lo = None if lo is None else max(0.0, lo - widen_lo)
    wider_hi = None if hi is None else hi + widen_hi
    assert narrow <= ids(world, **bounds(wider_lo, wider_hi))
    result = search(world, SCOPE, bounds(lo, hi), {"area_fit": 1.0}, limit=500)
    for c in result["candidates"]:
        area = next(r["value"] for r in c["reasons"] if r["condition"] == "area")
        assert lo is None or area >= round(lo, 2) - 0.01
        assert hi is None or area <= round(hi, 2) + 0.01


@SLOW
@given(
    controls=st.lists(st.sampled_from(CONTROLS), max_size=3, unique_by=str),
    exclude=st.lists(st.sampled_from(EXCLUDES), max_size=2, unique_by=str),
    proximity=st.lists(st.sampled_from(PROXIMITY), max_size=2, unique_by=str),
    extra=st.sampled_from(["control", "exclude", "proximity", "land_use"]),
)
def test_a_further_condition_never_adds_a_candidate(world, controls, exclude, proximity, extra):
    base = {"controls": controls, "exclude": exclude, "proximity": proximity}
    more = copy.deepcopy(base)
    if extra == "control":
        more["controls"].append({"kind": "urban_boundary", "mode": "inside"})
    elif extra == "exclude":
        more["exclude"].append({"type": "geohazard"})
    elif extra == "proximity":
        more["proximity"].append({"kind": "road", "within_m": 1000, "required": True})
    else:
        more["land_use"] = "1001"
    assert ids(world, **more) <= ids(world, **base)


@SLOW
@given(
    weights=st.lists(st.integers(0, 10), min_size=6, max_size=6).filter(lambda w: sum(w) > 0),
    proximity=st.lists(st.sampled_from(PROXIMITY), max_size=2, unique_by=str),
)
def test_ranking_follows_the_score_then_area_then_id(world, weights, proximity):
    names = [
        "area_fit",
        "road_distance",
        "facility_distance",
        "compactness",
        "urban_share",
        "centre_distance",
    ]
    total = sum(weights)
    # Integer tenths keep the sum exactly 1 after the last weight takes the remainder.
    w = {n: k / total for n, k in zip(names, weights, strict=True)}
    w[names[-1]] = 1.0 - sum(w[n] for n in names[:-1])
    if w[names[-1]] < 0:
        w[names[-1]] = 0.0
    result = search(world, SCOPE, {"proximity": proximity}, w, limit=500)
    keys = [(-c["score"], -c["area_m2"], c["feature_id"]) for c in result["candidates"]]
    assert keys == sorted(keys)
    assert [c["rank"] for c in result["candidates"]] == list(range(1, len(keys) + 1))
    assert all(0.0 <= c["score"] <= 1.0 + 1e-9 for c in result["candidates"])
    assert [c["recommended"] for c in result["candidates"]][:1] == [True][: len(keys)]


QUERIES = st.fixed_dictionaries(
    {},
    optional={
        "land_use": st.sampled_from(["10", "1001", "100101", "07"]),
        "area_min_m2": st.sampled_from([5000, 9000, 20000]),
        "controls": st.lists(st.sampled_from(CONTROLS), max_size=2, unique_by=str),
        "exclude": st.lists(st.sampled_from(EXCLUDES), max_size=1, unique_by=str),
        "proximity": st.lists(st.sampled_from(PROXIMITY), max_size=2, unique_by=str),
        "scope": st.sampled_from([{"districts": [DISTRICT_A]}, {"districts": [DISTRICT_B]}]),
    },
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(QUERIES, max_size=4))
def test_results_do_not_depend_on_what_the_cache_holds(world, before):
    body = copy.deepcopy(EXAMPLE)
    scope = {"districts": [DISTRICT_A, DISTRICT_B]}
    conditions = {k: v for k, v in body.items() if k != "scope"}
    siting_cache(world).clear()
    cold = orjson.dumps(search(world, scope, conditions))
    siting_cache(world).clear()
    for q in before:
        q = dict(q)
        search(world, q.pop("scope", scope), q)
    assert orjson.dumps(search(world, scope, conditions)) == cold
