"""docs/widgets.md, generated from the aggregated widget manifest (`/embed/manifest.json`).

`python scripts/update_docs.py` rewrites it; `tests/unit/embed/test_widget_docs.py` fails
when a widget's manifest and the document differ.
"""

from __future__ import annotations

import json
from typing import Any

from planfuse.widgets.registry import WidgetRegistry

INTRO = """# Widgets

Every widget PlanFuse ships, with its parameters, commands, events and error codes. This
page is generated from the widget manifest served at `/embed/manifest.json`
(`python scripts/update_docs.py`); a test keeps the two identical. The embedding protocol
itself (handshake, messages, token refresh) is described in `embed-sdk/PROTOCOL.md`.

Parameters marked *lockable* may be fixed by the host's backend in the embed token's
`params` claim; the server then refuses any request that contradicts them. Unlocked
parameters come from the SDK's `params` option (or `param.<name>=` in a plain iframe URL).

## The handle (every way of embedding)

`PlanFuse.mount(element, options)` returns it; for `<div data-planfuse-widget>` and
`<planfuse-widget>` it is `element.planfuse` (there once `PlanFuse.ready` has resolved); for
a plain `<iframe>`, `PlanFuse.attach(iframe)` returns it. How to load the SDK `async` and
wait for it: [embedding.md](embedding.md#loading-the-sdk-async).

| member | what |
| --- | --- |
| `on(event, fn)`, `off(event, fn)` | listen to an event below (each also arrives as a DOM \
`planfuse:<event>` event on the element or iframe) |
| `send(command, payload)` | a Promise of the command's result (the *result* column); \
rejected with an `Error` whose `code` is one of the command's errors or the common ones below |
| `ready` | a Promise of the `ready` payload |
| `setToken(tokenOrFunction)` | give the widget a new token (a string token cannot renew itself) |
| `destroy()` | remove the widget, cancel every timer, listener and pending command |
| `iframe` | the widget's iframe |

Events come in a stable order: `ready` is the first a widget sends once it starts (a widget
that cannot start sends `error` instead); a widget's own events (`result`, …) always come
after `ready`, e.g. a locked project's automatic check; `resize` may come at any time.
"""


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def _texts(d: Any) -> str:
    if isinstance(d, dict):
        return " / ".join(_cell(d[k]) for k in ("zh-CN", "en") if d.get(k))
    return _cell(d) if d else ""


def _commands(commands: dict[str, Any]) -> list[str]:
    """The commands table: what each takes, resolves with, and rejects with."""
    if not commands:
        return ["None."]
    out = [
        "| name | payload | result (`send` resolves with) | errors (`send` rejects with) "
        "| description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, spec in commands.items():
        spec = spec or {}
        errors = "; ".join(f"`{code}`: {when}" for code, when in spec.get("errors", {}).items())
        result = _cell(spec["result"]) if "result" in spec else "null"
        out.append(
            f"| `{name}` | {_cell(spec.get('payload', {}))} | {result} "
            f"| {_cell(errors) or '—'} | {_texts(spec.get('description'))} |"
        )
    return out


def widgets_markdown(registry: WidgetRegistry) -> str:
    m = registry.manifest()
    out = [INTRO, "## Lifecycle events (every widget)", ""]
    out += ["| event | payload | meaning |", "| --- | --- | --- |"]
    for name, spec in m["lifecycle_events"].items():
        out.append(f"| `{name}` | {_cell(spec['payload'])} | {_texts(spec['description'])} |")
    out += ["", "## Error codes (every widget)", "", "| code | zh-CN | en |", "| --- | --- | --- |"]
    for code, texts in m["error_codes"].items():
        out.append(f"| `{code}` | {_cell(texts['zh-CN'])} | {_cell(texts['en'])} |")
    out += ["", "## Command errors (every widget)", "", "| code | when |", "| --- | --- |"]
    for code, when in m.get("command_errors", {}).items():
        out.append(f"| `{code}` | {_cell(when)} |")
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
        out += ["", "### Commands (host → widget)", ""]
        out += _commands(w["commands"])
        out += ["", "### Events", ""]
        if w["events"]:
            out += ["| name | payload | description |", "| --- | --- | --- |"]
            for ename, spec in w["events"].items():
                spec = spec or {}
                out.append(
                    f"| `{ename}` | {_cell(spec.get('payload', {}))} | "
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
