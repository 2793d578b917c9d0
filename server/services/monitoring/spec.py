"""What a catalogue entry says about a service (服务目录条目), and how a request is matched
to it.

A service is declared once, as data, with :class:`ServiceSpec`; its :class:`Endpoint`\\ s
are the requests it answers. See docs/services.md for how to add one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

#: The catalogue's kinds: 数据服务, 功能服务, 应用服务 (a function service with a UI, a
#: widget), and the platform's own plumbing (admin console, embed session exchange, home
#: page and probes) that is monitored but not offered in the catalogue.
KINDS = ("data", "function", "application", "platform")
#: Kinds a department can pick from the catalogue (the console's three tabs).
CATALOGUE_KINDS = ("data", "function", "application")
KIND_NAMES: dict[str, tuple[str, str]] = {
    "data": ("数据服务", "Data service"),
    "function": ("功能服务", "Function service"),
    "application": ("应用服务", "Application service"),
    "platform": ("平台", "Platform"),
}

#: Service ids: lower-case words joined by underscores, at most 32 characters (the
#: metrics table keys rows by them).
SERVICE_ID = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PLACEHOLDER = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Endpoint:
    """One request a service answers.

    method    GET, POST, …; None for every method
    path      the request path; ``{name}`` stands for one path segment
              (``/api/v1/siting/plans/{id}``)
    query     query parameters that pick this service out of a route several share
              (``{"by": "city"}`` on ``/api/v1/ledgers/urban_plan``)
    defaults  the values the route assumes for query parameters a request leaves out
              (``{"by": "district"}``), so a request without ``by`` matches ``by=district``
    subpaths  True when every path below ``path`` belongs to the service too (``/ogc``)
    openapi   the path of the OpenAPI operation documenting it, when it is not ``path``
              without the ``/api/v1`` prefix (``/ledgers/{name}``)
    """

    method: str | None
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, str] = field(default_factory=dict)
    subpaths: bool = False
    openapi: str | None = None

    def __post_init__(self) -> None:
        if self.method is not None and self.method not in METHODS:
            raise ValueError(f"endpoint method {self.method!r}: expected one of {METHODS}")
        if not self.path.startswith("/"):
            raise ValueError(f"endpoint path {self.path!r} must start with /")
        object.__setattr__(self, "query", _frozen(self.query))
        object.__setattr__(self, "defaults", _frozen(self.defaults))

    @cached_property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.path.split("/") if s)

    @cached_property
    def literal_segments(self) -> int:
        """How specific the path is: its segments that are not placeholders."""
        return sum(1 for s in self.segments if not _PLACEHOLDER.match(s))

    def matches(self, method: str, segments: tuple[str, ...], args: Mapping[str, str]) -> bool:
        """Whether a request (its method, path segments and query) is this endpoint's."""
        if (
            self.method is not None
            and method != self.method
            and not (method == "HEAD" and self.method == "GET")
        ):
            return False
        if not self.matches_path(segments):
            return False
        for name, value in self.query.items():
            if args.get(name, self.defaults.get(name)) != value:
                return False
        return True

    def matches_path(self, segments: tuple[str, ...]) -> bool:
        """Whether a request path (its segments) is this endpoint's, whatever the method."""
        own = self.segments
        if len(segments) < len(own) or (len(segments) > len(own) and not self.subpaths):
            return False
        for mine, theirs in zip(own, segments, strict=False):
            if mine != theirs and not _PLACEHOLDER.match(mine):
                return False
        return True

    def could_match_rule(self, rule_segments: tuple[str, ...]) -> bool:
        """Whether some request of a Flask route rule (``<name>`` segments) could be this
        endpoint's (the rule's variable segments match anything)."""
        own = self.segments
        if any(s.startswith("<path:") for s in rule_segments):
            head = next(i for i, s in enumerate(rule_segments) if s.startswith("<path:"))
            return all(
                m == r or _PLACEHOLDER.match(m) or "<" in r
                for m, r in zip(own, rule_segments[:head], strict=False)
            )
        if len(rule_segments) < len(own) or (len(rule_segments) > len(own) and not self.subpaths):
            return False
        return all(
            m == r or _PLACEHOLDER.match(m) or "<" in r
            for m, r in zip(own, rule_segments, strict=False)
        )

    @property
    def openapi_path(self) -> str | None:
        """The OpenAPI document's path of this endpoint (paths there are under /api/v1)."""
        if self.openapi is not None:
            return self.openapi
        if self.path.startswith("/api/v1/"):
            return self.path[len("/api/v1") :]
        return None

    def describe(self) -> dict[str, Any]:
        text = self.path + (
            "?" + "&".join(f"{k}={v}" for k, v in self.query.items()) if self.query else ""
        )
        return {
            "method": self.method or "*",
            "path": self.path,
            "query": dict(self.query),
            "subpaths": self.subpaths,
            "url": text,
        }


CONFIG_TYPES = ("number", "integer", "string", "boolean")


@dataclass(frozen=True)
class ConfigItem:
    """A setting of one service that an administrator may change while it runs (catalogued
    configuration, with validation and history: planfuse.services.monitoring.config).

    name      the key within the service (``tolerance_m2``)
    setting   the instance setting giving the default (``siting_tolerance_m2``)
    type      number, integer, string or boolean
    minimum / maximum   inclusive bounds of a number; ``choices`` the values a string takes
    """

    name: str
    setting: str
    help_zh: str
    help_en: str
    type: str = "number"
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in CONFIG_TYPES:
            raise ValueError(f"config {self.name}: type {self.type!r} is not one of {CONFIG_TYPES}")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "setting": self.setting,
            "type": self.type,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) or None,
            "help": {"zh-CN": self.help_zh, "en": self.help_en},
        }


@dataclass(frozen=True)
class ServiceSpec:
    """One catalogue entry (see docs/services.md).

    id            stable id (``city_plan_ledger_by_district``); never reuse or rename one
    name_zh/_en   the names the console shows (功能名称)
    kind          data, function, application or platform (:data:`KINDS`)
    dept          the publishing department's id (发布部门, ``natural_resources``)
    description_zh/_en   one or two sentences: what it answers (功能描述)
    endpoints     the requests it answers; the first is the one the catalogue shows
    interface     how it is called (接口方式): HTTP, OGC API – Features, MVT, Embed, …
    version       the interface's version
    widget        for an application service: the widget it serves
    example       an example request body or query for the console's try-it form
    config        what an administrator may change while it runs (:class:`ConfigItem`)
    granted_by_default   whether a host app may call it without an administrator's grant
                  (False for a department's remote service: docs/services.md)
    """

    id: str
    name_zh: str
    name_en: str
    kind: str
    dept: str
    description_zh: str
    description_en: str
    endpoints: tuple[Endpoint, ...]
    interface: str = "HTTP"
    version: str = "1"
    widget: str | None = None
    example: Mapping[str, Any] | None = None
    config: tuple[ConfigItem, ...] = ()
    granted_by_default: bool = True

    def __post_init__(self) -> None:
        if not SERVICE_ID.match(self.id):
            raise ValueError(
                f"service id {self.id!r}: lower-case letters, digits and _, 2–32 characters"
            )
        if self.kind not in KINDS:
            raise ValueError(f"service {self.id}: kind {self.kind!r} is not one of {KINDS}")
        if not SERVICE_ID.match(self.dept):
            raise ValueError(f"service {self.id}: department id {self.dept!r} is malformed")
        if not self.endpoints:
            raise ValueError(f"service {self.id}: at least one endpoint")
        if not (self.name_zh and self.name_en and self.description_zh and self.description_en):
            raise ValueError(f"service {self.id}: names and descriptions in both languages")
        if self.kind == "application" and not self.widget:
            raise ValueError(f"service {self.id}: an application service names its widget")

    @property
    def base_path(self) -> str:
        return self.endpoints[0].path

    @property
    def can_stop(self) -> bool:
        """Catalogued services can be stopped; the platform's plumbing cannot."""
        return self.kind in CATALOGUE_KINDS

    def config_item(self, name: str) -> ConfigItem | None:
        return next((item for item in self.config if item.name == name), None)

    def describe(self) -> dict[str, Any]:
        """The fields every listing shows (no live figures)."""
        return {
            "id": self.id,
            "name": {"zh-CN": self.name_zh, "en": self.name_en},
            "kind": self.kind,
            "interface": self.interface,
            "description": {"zh-CN": self.description_zh, "en": self.description_en},
            "dept": self.dept,
            "version": self.version,
            "base_path": self.base_path,
            "endpoints": [e.describe() for e in self.endpoints],
            "widget": self.widget,
        }
