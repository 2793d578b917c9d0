"""Making an earlier layer version current again (回退图层版本): the undo of a wrong import.

Every import adds a version and never changes or deletes an older one, so undoing an import
is a change of one number, `layers.current_version`. Everything that reads a layer reads
"the current version" at the time it runs and names it (compliance reports keep their
`data_versions`, detections their layer versions, tiles and indexes are keyed by version),
so a report made while the wrong version was current still names that version, still
verifies, and can be reproduced by reading it; the next analysis reads the version made
current. A later import gets the next number after the newest stored one, so no version
number is ever reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.layers.catalogue import layer_entry
from planfuse.storage.models import Layer, LayerVersion
from planfuse.storage.models.base import utcnow

#: Far above any real version count; keeps the number inside every database's INTEGER.
MAX_VERSION = 2**31 - 1


@dataclass(frozen=True)
class CurrentVersionChange:
    """What `make_version_current` did: the layer after it, and the version before."""

    layer: dict[str, Any]
    previous_version: int
    changed: bool

    def audit_detail(self) -> dict[str, Any]:
        """What the audit log keeps of the change (`layer.rollback`)."""
        return {"version": self.layer["version"], "previous_version": self.previous_version}

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "previous_version": self.previous_version,
            "current_version": self.layer["version"],
            "changed": self.changed,
        }


def check_version_number(value: Any) -> int:
    """The version number of a request (a whole number 1 … 2³¹−1), or InvalidInput."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            "version must be a whole number, e.g. 2 (see the layer's versions)",
            field="version",
        )
    if not 1 <= value <= MAX_VERSION:
        raise InvalidInput(
            f"version {value} is out of range; versions are numbered from 1",
            field="version",
        )
    return value


def make_version_current(ctx: PlanFuse, layer_id: str, version: Any) -> CurrentVersionChange:
    """Make stored `version` of `layer_id` its current version again.

    Idempotent: making the current version current changes nothing (`changed` False).
    The layer row is locked for the change, so it cannot interleave with an import of the
    same layer. Raises NotFound for an unknown layer or version, InvalidInput for a version
    that is not a whole number from 1.
    """
    number = check_version_number(version)
    with ctx.db.write_session() as session:
        layer = session.get(Layer, layer_id, with_for_update=True)
        if layer is None:
            raise NotFound("layer", layer_id)
        target = session.get(LayerVersion, (layer_id, number))
        if target is None:
            raise NotFound(
                "layer version",
                f"{layer_id} v{number}",
                code="layer_version_not_found",
                hint=f"GET /api/v1/layers/{layer_id} lists the versions it has",
            )
        previous = layer.current_version
        changed = previous != number
        if changed:
            layer.current_version = number
            layer.updated_at = utcnow()
            session.flush()
        entry = layer_entry(layer, target)
    return CurrentVersionChange(entry, previous, changed)
