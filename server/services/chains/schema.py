"""The JSON Schema of a chain document (published at `GET /api/v1/chains/schema`)."""

from __future__ import annotations

from typing import Any

ID_PATTERN = "^[a-z][a-z0-9_]{1,31}$"
STEP_PATTERN = "^[a-z][a-z0-9_]{0,31}$"

LOCAL_TEXT: dict[str, Any] = {
    "type": "object",
    "required": ["zh-CN", "en"],
    "additionalProperties": False,
    "properties": {
        "zh-CN": {"type": "string", "minLength": 1},
        "en": {"type": "string", "minLength": 1},
    },
}

#: A JMESPath expression over `{"inputs": …, "steps": {step id: output}, "item": …}`.
EXPRESSION: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 1000}

CHAIN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://planfuse.dev/schemas/chain.json",
    "title": "PlanFuse chain (服务串联)",
    "type": "object",
    "required": ["id", "name", "description", "dept", "version", "inputs", "steps", "outputs"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "name": LOCAL_TEXT,
        "description": LOCAL_TEXT,
        "dept": {"type": "string", "pattern": ID_PATTERN},
        "version": {"type": "integer", "minimum": 1},
        "inputs": {
            "description": "The JSON Schema of the run's input object.",
            "type": "object",
            "required": ["type", "properties"],
            "properties": {"type": {"const": "object"}, "properties": {"type": "object"}},
        },
        "steps": {
            "type": "array",
            "minItems": 1,
            "maxItems": 20,
            "items": {
                "type": "object",
                "required": ["id", "service", "args"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": STEP_PATTERN},
                    "service": {"type": "string", "pattern": ID_PATTERN},
                    "args": {"type": "object", "additionalProperties": EXPRESSION},
                    "for_each": EXPRESSION,
                    "max_items": {"type": "integer", "minimum": 1, "maximum": 50},
                    "when": EXPRESSION,
                },
            },
        },
        "outputs": {"type": "object", "minProperties": 1, "additionalProperties": EXPRESSION},
        "example": {"type": "object", "description": "Example inputs for the console."},
    },
}
