"""The OpenAPI 3.1 document, merged from one YAML fragment per area.

Each area documents its paths in `server/api/openapi/<area>.yaml`; a test checks that the
document and the registered routes agree.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from flask import jsonify

from planfuse.api import api_bp

FRAGMENTS_DIR = Path(__file__).resolve().parent / "openapi"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """Merge base.yaml with every other fragment's `paths` and `components`."""
    document = yaml.safe_load((FRAGMENTS_DIR / "base.yaml").read_text(encoding="utf-8"))
    document.setdefault("paths", {})
    for fragment_path in sorted(FRAGMENTS_DIR.glob("*.yaml")):
        if fragment_path.name == "base.yaml":
            continue
        fragment = yaml.safe_load(fragment_path.read_text(encoding="utf-8")) or {}
        for path, item in (fragment.get("paths") or {}).items():
            if path in document["paths"]:
                raise ValueError(f"{fragment_path.name}: path {path} is documented twice")
            document["paths"][path] = item
        for section, entries in (fragment.get("components") or {}).items():
            target = document.setdefault("components", {}).setdefault(section, {})
            for name, value in entries.items():
                if name in target:
                    raise ValueError(f"{fragment_path.name}: {section}.{name} defined twice")
                target[name] = value
    return document


@api_bp.get("/openapi.json")
def openapi_json():
    """This API's OpenAPI 3.1 document."""
    return jsonify(openapi_document())
