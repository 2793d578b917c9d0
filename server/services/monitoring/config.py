"""Per-service configuration (服务配置): values a service reads while it runs, declared in
its catalogue entry (:class:`~planfuse.services.monitoring.spec.ConfigItem`), defaulting to
an instance setting, changed by an administrator with validation, every change kept.

A service reads a value with :func:`config_value` (from the process's cached snapshot, so
a change applies in every process within `service_state_cache_s`).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import delete, select

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput
from planfuse.services.monitoring.control import catalogued_service, framework_state, iso_time
from planfuse.services.monitoring.spec import ConfigItem
from planfuse.storage.models import ServiceConfigChange, ServiceConfigValue
from planfuse.storage.models.base import utcnow

MAX_NOTE_LENGTH = 500
MAX_STRING_LENGTH = 200


def config_value(ctx: PlanFuse, service_id: str, name: str) -> Any:
    """The value of a service's configuration item: the administrator's, else the
    default from the instance setting the item names."""
    service = catalogued_service(service_id, ctx)
    item = service.config_item(name)
    if item is None:
        raise KeyError(f"service {service_id} declares no configuration item {name!r}")
    value = framework_state(ctx).snapshot().config.get((service_id, name))
    return ctx.settings[item.setting] if value is None else value


def service_config(ctx: PlanFuse, service_id: str) -> list[dict[str, Any]]:
    """Every configuration item of a service with its value, default and description."""
    service = catalogued_service(service_id, ctx)
    current = framework_state(ctx).snapshot().config
    return [
        {
            **item.describe(),
            "value": current.get((service_id, item.name), ctx.settings[item.setting]),
            "default": ctx.settings[item.setting],
            "changed": (service_id, item.name) in current,
        }
        for item in service.config
    ]


def check_value(item: ConfigItem, value: Any, field: str) -> Any:
    """`value` for `item` if valid, else InvalidInput naming `field` and what is allowed."""
    if item.type in ("number", "integer"):
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise InvalidInput(f"`{field}` must be a finite number", field=field)
        if item.type == "integer":
            if value != int(value):
                raise InvalidInput(f"`{field}` must be a whole number", field=field)
            value = int(value)
        else:
            value = float(value)
        if item.minimum is not None and value < item.minimum:
            raise InvalidInput(f"`{field}` must be at least {item.minimum:g}", field=field)
        if item.maximum is not None and value > item.maximum:
            raise InvalidInput(f"`{field}` must be at most {item.maximum:g}", field=field)
        return value
    if item.type == "boolean":
        if not isinstance(value, bool):
            raise InvalidInput(f"`{field}` must be true or false", field=field)
        return value
    if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH:
        raise InvalidInput(
            f"`{field}` must be text of at most {MAX_STRING_LENGTH} characters", field=field
        )
    if item.choices and value not in item.choices:
        raise InvalidInput(
            f"`{field}` {value!r} is not one of {', '.join(item.choices)}", field=field
        )
    return value


def set_service_config(ctx: PlanFuse, service_id: str, body: Any, *, by: str) -> dict[str, Any]:
    """Change configuration: ``{"values": {name: value or null (the default)}, "note": …}``.

    Every value is checked before anything is stored; the changes and their history rows
    are written in one transaction.
    """
    service = catalogued_service(service_id, ctx)
    if not isinstance(body, dict) or not isinstance(body.get("values"), dict):
        raise InvalidInput('send {"values": {"name": value}, "note": "why"}', field="values")
    unknown = sorted(set(body) - {"values", "note"})
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}", field=unknown[0])
    note = body.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput(
            f"`note` must be text of at most {MAX_NOTE_LENGTH} characters", field="note"
        )
    values = body["values"]
    if not values:
        raise InvalidInput("`values` names no configuration item", field="values")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        item = service.config_item(name)
        if item is None:
            known = ", ".join(i.name for i in service.config) or "none"
            raise InvalidInput(
                f"service {service_id!r} has no configuration item {name!r}; it has: {known}",
                field=f"values.{name}",
            )
        checked[name] = None if value is None else check_value(item, value, f"values.{name}")
    now = utcnow()
    with ctx.db.write_session() as session:
        for name, value in checked.items():
            row = session.get(ServiceConfigValue, (service_id, name))
            old = row.value if row is not None else None
            if value is None:
                session.execute(
                    delete(ServiceConfigValue).where(
                        ServiceConfigValue.service_id == service_id,
                        ServiceConfigValue.name == name,
                    )
                )
            else:
                row = row or ServiceConfigValue(service_id=service_id, name=name)
                row.value, row.changed_by, row.changed_at = value, by, now
                session.add(row)
            if old != value:
                session.add(
                    ServiceConfigChange(
                        service_id=service_id,
                        name=name,
                        old_value=old,
                        new_value=value,
                        note=note.strip(),
                        changed_by=by,
                        changed_at=now,
                    )
                )
    framework_state(ctx).invalidate()
    return {"service_id": service_id, "config": service_config(ctx, service_id)}


def config_history(ctx: PlanFuse, service_id: str) -> list[dict[str, Any]]:
    """Every change of a service's configuration, newest first (null: the default)."""
    catalogued_service(service_id, ctx)
    query = (
        select(ServiceConfigChange)
        .where(ServiceConfigChange.service_id == service_id)
        .order_by(ServiceConfigChange.id.desc())
    )
    with ctx.db.session() as session:
        return [
            {
                "name": row.name,
                "old_value": row.old_value,
                "new_value": row.new_value,
                "note": row.note,
                "changed_by": row.changed_by,
                "changed_at": iso_time(row.changed_at),
            }
            for row in session.scalars(query)
        ]
