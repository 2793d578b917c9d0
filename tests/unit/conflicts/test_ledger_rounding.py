"""Ledger rounding: the grand total is the nearest rounding of its own aggregate; rows,
district subtotals and class totals add up to it exactly, each within one unit."""

from __future__ import annotations

import numpy as np
import pytest

from planfuse.services.ledgers.rounding import controlled_round, largest_remainder, round_total


def test_the_classic_three_thirds():
    # 1/3 + 1/3 + 1/3: naive rounding prints 0.33 × 3 = 0.99 against a total of 1.00.
    assert largest_remainder([33.333, 33.333, 33.334], 100).tolist() == [33, 33, 34]


def test_largest_remainder_gives_units_to_the_largest_fractions():
    assert largest_remainder([1.2, 2.7, 3.1], 7).tolist() == [1, 3, 3]
    assert largest_remainder([1.5, 1.5], 3).tolist() == [2, 1]  # ties: first position
    with pytest.raises(ValueError):
        largest_remainder([1.2, 2.7], 9)


def test_round_total_halves_up_and_ignores_float_noise():
    assert round_total(1156.5) == 1157
    assert round_total(2.4999999999) == 2
    assert round_total(0.49999999999999) == 0
    assert round_total(11.999999999) == 12


def test_controlled_rounding_of_a_table():
    x = np.array([[0.4, 0.4, 0.4], [0.4, 0.4, 0.4]])  # total 2.4 → 2
    out = controlled_round(x)
    assert out.sum() == 2
    assert set(out.sum(axis=1).tolist()) <= {0, 1, 2}
    assert (np.abs(out - x) < 1).all()
    assert (np.abs(out.sum(axis=0) - x.sum(axis=0)) < 1).all()


@pytest.mark.parametrize("seed", range(40))
def test_controlled_rounding_always_reconciles(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(1, 15, 2)
    x = rng.uniform(0, 5000, (rows, cols)) * (rng.uniform(size=(rows, cols)) > 0.4)
    out = controlled_round(x)
    assert out.sum() == round_total(x.sum())
    assert (np.abs(out - x) < 1).all()
    assert (np.abs(out.sum(axis=1) - x.sum(axis=1)) < 1).all()
    assert (np.abs(out.sum(axis=0) - x.sum(axis=0)) < 1).all()
    assert (out[x == 0] == 0).all()


def test_a_total_that_is_no_rounding_of_the_table_is_refused():
    with pytest.raises(ValueError):
        controlled_round(np.array([[1.5, 1.5]]), total_units=5)
