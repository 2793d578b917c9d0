"""Dependency cycles of the reserve, found without recursion and named deterministically."""

from __future__ import annotations

import pytest

from planfuse.errors import InvalidInput
from planfuse.services.reserve.graph import check_dependencies, find_cycle


def test_no_cycle_in_a_forest():
    assert find_cycle({1: [], 2: [1], 3: [1, 2], 4: [3]}) is None


def test_the_cycle_is_returned_as_a_closed_path():
    assert find_cycle({1: [2], 2: [3], 3: [1], 4: [1]}) == [1, 2, 3, 1]
    assert find_cycle({5: [5]}) == [5, 5]


def test_a_long_chain_needs_no_recursion():
    n = 20_000
    chain = {i: [i - 1] for i in range(2, n + 1)} | {1: []}
    assert find_cycle(chain) is None
    chain[1] = [n]
    assert len(find_cycle(chain)) == n + 1


def test_unknown_and_self_dependencies_are_named():
    with pytest.raises(InvalidInput) as info:
        check_dependencies({1: [1, 7]}, {1})
    messages = [e["message"] for e in info.value.errors]
    assert messages == ["depends on itself", "project 7 does not exist in this reserve"]
