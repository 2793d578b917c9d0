"""docs/widgets.md, generated from the aggregated widget manifest (`/embed/manifest.json`).

`python scripts/update_docs.py` rewrites it; `tests/unit/embed/test_widget_docs.py` fails
when a widget's manifest and the document differ.
"""

from __future__ import annotations

import json
from typing import Any

from planfuse.embed.registry import WidgetRegistry

INTRO = """# Widgets

Every widget PlanFuse ships, with its parameters, commands, events and error codes. This
page is generated from the widget manifest served at `/embed/manifest.json`
(`python scripts/update_docs.py`); a test keeps the two identical. The embedding protocol
itself (handshake, messages, token refresh) is described in `embed-sdk/PROTOCOL.md`.

Parameters marked *lockable* may be fixed by the host's backend in the embed token's
`params` claim; the server then refuses any request that contradicts them. Unlocked
parameters come from the SDK's `params` option (or `param.<name>=` in a plain iframe URL).
"""


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def _texts(d: Any) -> str:
    if isinstance(d, dict):
        return " / ".join(_cell(d[k]) for k in ("zh-CN", "en") if d.get(k))
    return _cell(d) if d else ""


def widgets_markdown(registry: WidgetRegistry) -> str:
    m = registry.manifest()
    out = [INTRO, "## Lifecycle events (every widget)", ""]
    out += ["| event | payload | meaning |", "| --- | --- | --- |"]
    for name, spec in m["lifecycle_events"].items():
        out.append(f"| `{name}` | {_cell(spec['payload'])} | {_texts(spec['description'])} |")
    out += ["", "## Error codes (every widget)", "", "| code | zh-CN | en |", "| --- | --- | --- |"]
    for code, texts in m["error_codes"].items():
        out.append(f"| `{code}` | {_cell(texts['zh-CN'])} | {_cell(texts['en'])} |")
    if not m["widgets"]:
        out += ["", "No widget is registered yet."]
    for name, w in m["widgets"].items():
        out += ["", f"## `{name}` — {_texts(w['title'])}", ""]
        if w.get("description"):
            out += [_texts(w["description"]), ""]
        out.append(f"Default height: {w['default_height']} px.")
        out += ["", "### Parameters", ""]
        if w["params"]:
            out += [
                "| name | type | lockable | values | description |",
                "| --- | --- | --- | --- | --- |",
            ]
            for pname, spec in w["params"].items():
                kind = spec["type"] + (f" of {spec['items']}" if "items" in spec else "")
                values = ", ".join(f"`{v}`" for v in spec.get("enum", []))
                if "default" in spec:
                    values += f" (default `{_cell(spec['default'])}`)"
                lockable = "yes" if spec.get("lockable", True) else "no"
                out.append(
                    f"| `{pname}` | {kind} | {lockable} | {values} | "
                    f"{_texts(spec.get('description'))} |"
                )
        else:
            out.append("None.")
        for section, title in (("commands", "Commands (host → widget)"), ("events", "Events")):
            out += ["", f"### {title}", ""]
            if w[section]:
                out += ["| name | payload | description |", "| --- | --- | --- |"]
                for cname, spec in w[section].items():
                    spec = spec or {}
                    out.append(
                        f"| `{cname}` | {_cell(spec.get('payload', {}))} | "
                        f"{_texts(spec.get('description'))} |"
                    )
            else:
                out.append("None.")
        out += ["", "### Error codes", ""]
        if w["errors"]:
            out += ["| code | zh-CN | en |", "| --- | --- | --- |"]
            for code, texts in w["errors"].items():
                out.append(
                    f"| `{code}` | {_cell(texts.get('zh-CN', ''))} | {_cell(texts.get('en', ''))} |"
                )
        else:
            out.append("Only the common ones above.")
    return "\n".join(out) + "\n"
