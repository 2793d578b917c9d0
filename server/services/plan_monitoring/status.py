"""Status of an indicator value against its target (DOMAIN.md, "Monitoring").

Upper-bound indicators (建设用地总规模 …): 正常 `normal` at or under 90 % of the target,
预警 `warning` up to 100 %, 超标 `exceeded` above. Lower-bound ones (耕地保有量 …): `normal`
at or above the target, else 不达标 `below_target`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NORMAL = "normal"
WARNING = "warning"
EXCEEDED = "exceeded"
BELOW_TARGET = "below_target"
NO_TARGET = "no_target"
NO_DATA = "no_data"
STATUSES = (NORMAL, WARNING, EXCEEDED, BELOW_TARGET, NO_TARGET, NO_DATA)
#: Statuses that are warnings (预警) pushed to subscribers.
ALERT_STATUSES = (WARNING, EXCEEDED, BELOW_TARGET)

#: An upper-bound value over this share of its target is a warning (预警线).
WARNING_RATIO = 0.9


def value_status(
    direction: str, value: float | None, target: float | None, warning_ratio: float = WARNING_RATIO
) -> str:
    """The status of `value` against `target` for an `upper` or `lower` bound indicator."""
    if value is None:
        return NO_DATA
    if target is None:
        return NO_TARGET
    if direction == "lower":
        return NORMAL if value >= target else BELOW_TARGET
    if value <= warning_ratio * target:
        return NORMAL
    return WARNING if value <= target else EXCEEDED


def target_for(targets: Sequence[dict[str, Any]], area: str, year: int) -> tuple[float, int] | None:
    """(value, target year) of `area`'s target for `year`: that year's own, else the next
    target year's (a year between two target years is held to the later one)."""
    best: tuple[float, int] | None = None
    for target in targets:
        if target["area"] != area or target["year"] < year:
            continue
        if best is None or target["year"] < best[1]:
            best = (float(target["value"]), int(target["year"]))
    return best


def ratio_of(value: float | None, target: float | None) -> float | None:
    """value / target, rounded to 1e-6 (None without both)."""
    if value is None or not target:
        return None
    return round(value / target, 6)
