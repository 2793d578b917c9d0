"""Key-value-pair requests of the OWS interfaces: parameter names are case-insensitive."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from planfuse.ows.errors import OWSError, invalid, missing

MAX_VALUE_CHARS = 100_000
_INTEGER = re.compile(r"^\+?[0-9]{1,12}$")


class KVP:
    """The request's parameters by upper-cased name (the first of repeated ones)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]):
        self._values: dict[str, str] = {}
        for name, value in pairs:
            key = name.strip().upper()
            if len(value) > MAX_VALUE_CHARS:
                raise invalid(name, f"{name} is longer than {MAX_VALUE_CHARS} characters")
            self._values.setdefault(key, value)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.upper(), default)

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None or not value.strip():
            raise missing(name)
        return value.strip()

    def items(self) -> list[tuple[str, str]]:
        """(upper-cased name, value) of every parameter."""
        return list(self._values.items())

    def __contains__(self, name: str) -> bool:
        return name.upper() in self._values

    def integer(self, name: str, minimum: int, maximum: int | None = None) -> int | None:
        raw = self.get(name)
        if raw is None or raw.strip() == "":
            return None
        text = raw.strip()
        if not _INTEGER.match(text):
            raise invalid(name, f"{name} must be a whole number of at least {minimum}")
        value = int(text)
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise invalid(name, f"{name} {value} is out of range; use a whole number {bound}")
        return value


def numbers(parameter: str, raw: str, count: int) -> list[float]:
    parts = [p.strip() for p in raw.split(",")]
    if len(parts) != count:
        raise invalid(parameter, f"{parameter} must be {count} comma-separated numbers")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise invalid(parameter, f"{parameter} must be {count} comma-separated numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise invalid(parameter, f"{parameter} numbers must be finite")
    return values


def version_check(kvp: KVP, supported: tuple[str, ...], service: str) -> str:
    """The requested version (or the newest), else VersionNegotiationFailed / invalid."""
    raw = kvp.get("VERSION") or kvp.get("ACCEPTVERSIONS")
    if raw is None or not raw.strip():
        return supported[0]
    for candidate in (v.strip() for v in raw.split(",")):
        if candidate in supported:
            return candidate
    raise OWSError(
        "VersionNegotiationFailed" if "ACCEPTVERSIONS" in kvp else "InvalidParameterValue",
        f"{service} version {raw[:40]!r} is not served; use " + " or ".join(supported),
        "version" if "VERSION" in kvp else "AcceptVersions",
    )
