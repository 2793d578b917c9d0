"""Which layer versions a year is measured on.

A land-use status layer (`land_use_status`, the annual land survey) has a version per
survey date (`as_of`); the value of a year is measured on the version current at the end
of that year. A year is a monitoring year when a status version describes a date in it.
Layers of other kinds are measured on their version current at the end of the year when
their versions carry dates, else on their current version.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from planfuse.context import PlanFuse
from planfuse.errors import NotFound
from planfuse.storage.models import Layer, LayerVersion

STATUS_KIND = "land_use_status"

#: (layer id, version): one layer version a measure reads.
LayerRef = tuple[str, int]


def status_years(ctx: PlanFuse) -> list[int]:
    """The years some land-use status version describes, ascending."""
    with ctx.db.session() as session:
        dates = session.scalars(
            select(LayerVersion.as_of)
            .join(Layer, Layer.id == LayerVersion.layer_id)
            .where(Layer.kind == STATUS_KIND, LayerVersion.as_of.is_not(None))
            .distinct()
        ).all()
    return sorted({d.year for d in dates})


def require_year(ctx: PlanFuse, year: int) -> None:
    """NotFound (404) unless a land-use status version describes `year`, naming the years
    that have one."""
    years = status_years(ctx)
    if year in years:
        return
    there = ", ".join(str(y) for y in years)
    raise NotFound(
        "status version",
        year,
        code="year_not_found",
        message=(
            f"no land-use status version describes {year}; "
            + (
                f"there are versions for {there}"
                if years
                else "import one with `planfuse layers import FILE --kind land_use_status "
                "--as-of YYYY-12-31`"
            )
        ),
    )


def versions_at_year_end(ctx: PlanFuse, kind: str, year: int) -> tuple[LayerRef, ...]:
    """The version of each layer of `kind` current at the end of `year`."""
    year_end = date(year, 12, 31)
    with ctx.db.session() as session:
        layers = session.execute(
            select(Layer.id, Layer.current_version).where(
                Layer.kind == kind, Layer.current_version > 0
            )
        ).all()
        refs: list[LayerRef] = []
        for layer_id, current in layers:
            dated = session.execute(
                select(LayerVersion.version, LayerVersion.as_of).where(
                    LayerVersion.layer_id == layer_id, LayerVersion.as_of.is_not(None)
                )
            ).all()
            if not dated:
                refs.append((layer_id, current))
                continue
            before = [(as_of, version) for version, as_of in dated if as_of <= year_end]
            if before:
                refs.append((layer_id, max(before)[1]))
    return tuple(sorted(refs))


def status_version_before(ctx: PlanFuse, year: int) -> tuple[LayerRef, ...]:
    """The status versions current at the end of the monitoring year before `year`."""
    earlier = [y for y in status_years(ctx) if y < year]
    if not earlier:
        raise NotFound(
            "status version",
            year - 1,
            code="year_not_found",
            message=f"no land-use status version before {year} to compare {year} with",
        )
    return versions_at_year_end(ctx, STATUS_KIND, earlier[-1])
