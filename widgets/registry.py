"""The widget registry: every widget, built in or third party, registers the same way.

A widget is a Python module (or package) with a function `register(registry)` that calls
`registry.add(Widget.from_manifest(path))`. Widgets are found in three places, in order:

1. the subpackages of `planfuse.widgets` (the widgets PlanFuse ships);
2. the `planfuse.widgets` entry-point group of installed distributions (third parties);
3. the modules named in the `widget_modules` setting (deployments and tests).

Each widget's `manifest.json` lists its parameters, commands, events and error codes; the
aggregated manifest (`/embed/manifest.json`) adds the protocol's own messages, lifecycle
events and error codes from `protocol.json`.
"""

from __future__ import annotations

import functools
import importlib
import json
import pkgutil
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from planfuse.context import PlanFuse
from planfuse.paths import BUILD_DIR, PROTOCOL_FILE

#: The built-in widgets are the packages beside this module.
BUILTIN_DIR = Path(__file__).resolve().parent
#: Where `npm run build` puts the bundles of the widgets under widgets/.
BUILD_WIDGETS_DIR = BUILD_DIR / "widgets"
ENTRY_POINT_GROUP = "planfuse.widgets"
EXTRA_KEY = "widgets"

WIDGET_NAME = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PARAM_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})
#: Longest accepted string parameter value unless the manifest sets `max_length`.
DEFAULT_MAX_LENGTH = 2000
CSP_DIRECTIVES = frozenset({"img-src", "connect-src", "font-src", "style-src", "worker-src"})


class WidgetError(ValueError):
    """A widget definition or manifest that cannot be used; the message says what to fix."""


@functools.cache
def protocol() -> dict[str, Any]:
    """The protocol manifest shared with the SDK and the widget runtime."""
    return json.loads(PROTOCOL_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Widget:
    """One embeddable widget.

    name            URL name: `/embed/<name>`, lower-case letters, digits and dashes
    title           {"zh-CN": ..., "en": ...} shown in the admin console and the iframe title
    manifest_path   the widget's manifest.json (params, commands, events, errors)
    template        Jinja template of the page body; extends "embed/widget.html"
    assets_dir      folder with the built `<name>.js` (and `<name>.css`), served under
                    /embed/assets/<name>/
    default_height  iframe height in CSS pixels before the widget reports its own
    csp             extra Content-Security-Policy sources by directive, e.g.
                    {"img-src": ("https://t0.tianditu.gov.cn",)}
    """

    name: str
    title: Mapping[str, str]
    manifest_path: Path
    template: str = "embed/widget.html"
    assets_dir: Path = BUILD_WIDGETS_DIR
    default_height: int = 400
    csp: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_manifest(cls, manifest_path: str | Path, **overrides: Any) -> Widget:
        """A widget whose name, title and default height come from its manifest."""
        path = Path(manifest_path)
        data = _read_manifest(path)
        values: dict[str, Any] = {
            "name": data.get("name"),
            "title": data.get("title") or {},
            "manifest_path": path,
        }
        if "default_height" in data:
            values["default_height"] = data["default_height"]
        values.update(overrides)
        return cls(**values)

    @functools.cached_property
    def manifest(self) -> dict[str, Any]:
        data = _read_manifest(self.manifest_path)
        data.setdefault("params", {})
        data.setdefault("commands", {})
        data.setdefault("events", {})
        data.setdefault("errors", {})
        return data

    @property
    def params(self) -> dict[str, dict[str, Any]]:
        return self.manifest["params"]

    @property
    def templates_dir(self) -> Path | None:
        """The widget's own `templates/` folder beside its manifest, if it has one; the app
        looks there for templates it does not find in the shared templates/ folder."""
        path = Path(self.manifest_path).parent / "templates"
        return path if path.is_dir() else None

    def asset(self, suffix: str) -> Path | None:
        """The built `<name><suffix>` file, or None when it is not built."""
        path = self.assets_dir / f"{self.name}{suffix}"
        return path if path.is_file() else None

    def validate(self) -> None:
        """Raise WidgetError naming every problem with the definition and its manifest."""
        problems = []
        if not isinstance(self.name, str) or not WIDGET_NAME.match(self.name):
            problems.append(f"name {self.name!r} must match {WIDGET_NAME.pattern}")
        for locale in protocol()["locales"]:
            if not (self.title or {}).get(locale):
                problems.append(f"title needs a {locale!r} text")
        if self.manifest.get("name", self.name) != self.name:
            problems.append(f"manifest name {self.manifest.get('name')!r} differs")
        for pname, spec in self.params.items():
            if not PARAM_NAME.match(pname):
                problems.append(f"param {pname!r} must match {PARAM_NAME.pattern}")
            if not isinstance(spec, dict) or spec.get("type") not in PARAM_TYPES:
                problems.append(
                    f"param {pname!r} needs a type, one of {', '.join(sorted(PARAM_TYPES))}"
                )
        for section in ("commands", "events", "errors"):
            if not isinstance(self.manifest[section], dict):
                problems.append(f"{section} must be an object keyed by name")
        clash = set(self.manifest["events"]) & set(protocol()["lifecycle_events"])
        if clash:
            problems.append(f"events {sorted(clash)} are lifecycle events of the protocol")
        for directive in self.csp:
            if directive not in CSP_DIRECTIVES:
                problems.append(f"csp directive {directive!r} is not one a widget may extend")
        if problems:
            raise WidgetError(f"widget {self.name!r}: " + "; ".join(problems))

    def describe(self) -> dict[str, Any]:
        """This widget's entry in the aggregated manifest."""
        m = self.manifest
        return {
            "name": self.name,
            "title": dict(self.title),
            "description": m.get("description", {}),
            "default_height": self.default_height,
            "params": m["params"],
            "commands": m["commands"],
            "events": m["events"],
            "errors": m["errors"],
        }


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WidgetError(f"widget manifest {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise WidgetError(f"widget manifest {path} must hold a JSON object")
    return data


class WidgetRegistry:
    """The widgets of one PlanFuse instance, by name."""

    def __init__(self) -> None:
        self._widgets: dict[str, Widget] = {}

    def add(self, widget: Widget) -> Widget:
        widget.validate()
        if widget.name in self._widgets:
            raise WidgetError(f"widget {widget.name!r} is registered twice")
        self._widgets[widget.name] = widget
        return widget

    def get(self, name: str) -> Widget | None:
        return self._widgets.get(name)

    def names(self) -> list[str]:
        return sorted(self._widgets)

    def __iter__(self) -> Iterator[Widget]:
        return iter(sorted(self._widgets.values(), key=lambda w: w.name))

    def __contains__(self, name: object) -> bool:
        return name in self._widgets

    def __len__(self) -> int:
        return len(self._widgets)

    def manifest(self) -> dict[str, Any]:
        """The aggregated, machine-readable manifest served at /embed/manifest.json."""
        proto = protocol()
        return {
            "protocol_version": proto["protocol_version"],
            "messages": proto["messages"],
            "lifecycle_events": proto["lifecycle_events"],
            "error_codes": proto["error_codes"],
            "command_errors": proto["command_errors"],
            "theme": proto["theme"],
            "theme_defaults": proto["theme_defaults"],
            "locales": proto["locales"],
            "default_locale": proto["default_locale"],
            "widgets": {w.name: w.describe() for w in self},
        }


def _call_register(target: Any, registry: WidgetRegistry, where: str) -> None:
    register = target if callable(target) else getattr(target, "register", None)
    if not callable(register):
        raise WidgetError(f"{where} has no register(registry) function")
    register(registry)


def load_registry(module_names: list[str] | tuple[str, ...] = ()) -> WidgetRegistry:
    """Build a registry from the built-in widgets, entry points and `module_names`."""
    registry = WidgetRegistry()
    for info in sorted(pkgutil.iter_modules([str(BUILTIN_DIR)]), key=lambda i: i.name):
        if info.name == "common" or not info.ispkg:
            continue
        module = importlib.import_module(f"planfuse.widgets.{info.name}")
        if hasattr(module, "register"):
            _call_register(module, registry, f"planfuse.widgets.{info.name}")
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        _call_register(ep.load(), registry, f"entry point {ep.name!r} ({ep.value})")
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise WidgetError(
                f"widget module {name!r} (setting widget_modules) cannot be imported: {exc}"
            ) from None
        _call_register(module, registry, f"module {name!r}")
    return registry


def widget_registry(ctx: PlanFuse) -> WidgetRegistry:
    """The instance's registry, built on first use from its settings."""
    return ctx.shared(
        EXTRA_KEY, lambda: load_registry(tuple(ctx.settings.get("widget_modules") or ()))
    )


# --- parameter values -------------------------------------------------------------------


class ParamError(ValueError):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def check_param(name: str, spec: Mapping[str, Any], value: Any) -> Any:
    """`value` if it fits the manifest's `spec`, else ParamError saying why."""
    kind = spec.get("type")
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(kind, False)
    if not ok:
        raise ParamError(name, f"parameter {name!r} must be of type {kind}")
    if isinstance(value, str) and len(value) > spec.get("max_length", DEFAULT_MAX_LENGTH):
        raise ParamError(name, f"parameter {name!r} is longer than the widget accepts")
    if "enum" in spec and value not in spec["enum"]:
        choices = ", ".join(map(str, spec["enum"]))
        raise ParamError(name, f"parameter {name!r} must be one of {choices}")
    if kind == "array" and "items" in spec:
        for i, item in enumerate(value):
            check_param(f"{name}[{i}]", {"type": spec["items"]}, item)
    return value


def parse_param(name: str, spec: Mapping[str, Any], raw: str) -> Any:
    """A parameter from a URL query string: strings as they are, others as JSON."""
    if spec.get("type") == "string":
        return check_param(name, spec, raw)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ParamError(
            name, f"parameter {name!r} must be JSON of type {spec.get('type')}"
        ) from None
    return check_param(name, spec, value)


def check_locked_params(widget: Widget, params: Any) -> dict[str, Any]:
    """Validate an embed token's `params` claim against the widget's manifest."""
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ParamError("params", "the params claim must be a JSON object")
    for name, value in params.items():
        spec = widget.params.get(name)
        if spec is None:
            known = ", ".join(sorted(widget.params)) or "none"
            raise ParamError(
                name, f"widget {widget.name!r} has no parameter {name!r} (it has: {known})"
            )
        if not spec.get("lockable", True):
            raise ParamError(name, f"parameter {name!r} of {widget.name!r} cannot be locked")
        check_param(name, spec, value)
    return dict(params)
