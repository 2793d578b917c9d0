"""The chains PlanFuse ships, one JSON document each (checked by
tests/unit/chains/test_shipped_chains.py against the catalogue and the OpenAPI document)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SHIPPED_DIR = Path(__file__).resolve().parent


@cache
def shipped_documents() -> tuple[dict[str, Any], ...]:
    """Every shipped chain document, by file name."""
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(SHIPPED_DIR.glob("*.json"))
    )
