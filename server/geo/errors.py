"""Typed errors of the geo core.

Every error carries a user-facing ``message`` that says how to fix the problem and, for
geometry input, the list of :class:`InputProblem` naming where each problem is (feature,
part, ring, vertex, line). The geo core knows nothing of HTTP: the API layer maps these
classes onto 4xx responses (``code`` is a stable machine-readable name for that mapping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

# At most this many problems are kept in one error; the rest are counted ("and N more").
# Why: a 250,000-vertex upload with a systematic mistake would otherwise produce an error
# body as large as the upload.
MAX_PROBLEMS = 100


@dataclass(frozen=True)
class InputProblem:
    """One problem in untrusted input, and where it is.

    Indices are 0-based positions in the input (feature in a FeatureCollection, part of a
    Multi* geometry, ring of a polygon — 0 is the exterior — and vertex of a ring or line);
    ``line`` is the 1-based line number of text input; ``field`` names a JSON member or a
    column.
    """

    message: str
    feature: int | None = None
    part: int | None = None
    ring: int | None = None
    vertex: int | None = None
    line: int | None = None
    field: str | None = None

    def where(self) -> str:
        """Human text such as ``"feature 3, ring 0, vertex 17"`` (empty if nowhere)."""
        bits = []
        if self.line is not None:
            bits.append(f"line {self.line}")
        for name in ("feature", "part", "ring", "vertex"):
            value = getattr(self, name)
            if value is not None:
                bits.append(f"{name} {value}")
        if self.field is not None:
            bits.append(f"field '{self.field}'")
        return ", ".join(bits)

    def to_dict(self) -> dict:
        """The problem as a JSON-ready dict with only the keys that are set."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        where = self.where()
        if where:
            out["where"] = where
        return out

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class GeoError(Exception):
    """Base class of the geo core's errors: a message saying how to fix it, and problems."""

    code = "geo_error"

    def __init__(self, message: str, errors: Iterable[InputProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: list[InputProblem] = list(errors or [])

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        """JSON-ready ``{"code", "message", "errors": [...]}``."""
        return {
            "code": self.code,
            "message": self.message,
            "errors": [p.to_dict() for p in self.errors],
        }


class UnknownCRSError(GeoError):
    """The CRS name is malformed, unknown, or not in the supported set."""

    code = "unknown_crs"


class GeometryInputError(GeoError):
    """Invalid geometry input; collects many problems (capped at :data:`MAX_PROBLEMS`)."""

    code = "invalid_geometry"

    def __init__(
        self,
        message: str | None = None,
        errors: Iterable[InputProblem] | None = None,
        *,
        more: int = 0,
    ) -> None:
        problems = list(errors or [])
        more += max(0, len(problems) - MAX_PROBLEMS)
        problems = problems[:MAX_PROBLEMS]
        #: number of further problems found but not kept
        self.more = more
        if message is None:
            message = summarize(problems, more)
        super().__init__(message, problems)

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.more:
            out["more"] = self.more
        return out


class DatumTransformError(GeoError):
    """A datum change PROJ can only do as a "ballpark" (null) transformation was refused,
    or the configured datum-shift parameters are malformed."""

    code = "datum_transform"


class CoordinateRangeError(GeometryInputError):
    """Coordinates outside the CRS's area of use, or eastings whose zone does not match."""

    code = "coordinate_range"


def summarize(problems: list[InputProblem], more: int = 0) -> str:
    """One-paragraph message: the count and the first few problems with their places."""
    total = len(problems) + more
    if total == 0:
        return "the geometry input is invalid"
    head = "; ".join(str(p) for p in problems[:3])
    noun = "problem" if total == 1 else "problems"
    text = f"{total} {noun} in the geometry input: {head}"
    rest = total - min(3, len(problems))
    if rest > 0:
        text += f"; and {rest} more"
    return text


class ProblemCollector:
    """Collects problems up to :data:`MAX_PROBLEMS` and counts the rest."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.limit = limit
        self.problems: list[InputProblem] = []
        self.more = 0

    def add(self, message: str, **where: int | str | None) -> None:
        if len(self.problems) < self.limit:
            self.problems.append(InputProblem(message, **where))
        else:
            self.more += 1

    @property
    def full(self) -> bool:
        return len(self.problems) >= self.limit

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __len__(self) -> int:
        return len(self.problems) + self.more

    def raise_if_any(self, cls: type[GeometryInputError] = GeometryInputError) -> None:
        """Raise one ``cls`` error holding every problem collected, if there are any."""
        if self.problems:
            raise cls(None, self.problems, more=self.more)


def shown(text: str, limit: int = 60) -> str:
    """Untrusted text made safe to quote in a message: printable and bounded."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return text if len(text) <= limit else text[:limit] + "…"
