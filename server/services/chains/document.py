"""Checking a chain document before it is published: its shape (the JSON Schema), then
what the schema cannot say — every step calls a known, running function service that is
not the chain itself nor a chain leading back to it; expressions parse; each refers only to
the inputs, earlier steps and (in a `for_each` step) `item`; named fields exist in the
inputs, in the called service's parameters and in the earlier step's answer. Every problem
names its step and field."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import jmespath
import jsonschema
from jmespath.exceptions import JMESPathError

from planfuse.errors import InvalidInput
from planfuse.services.chains.schema import CHAIN_SCHEMA
from planfuse.services.monitoring.spec import ServiceSpec

ROOTS = ("inputs", "steps", "item")
DEFAULT_MAX_ITEMS = 10

#: What the checks know of a service: its parameter and body field names (None: not
#: described) and the top-level fields of its answer (None: not described).
Fields = tuple[frozenset[str] | None, frozenset[str] | None]


@dataclass(frozen=True)
class Step:
    id: str
    service: str
    args: Mapping[str, str]
    for_each: str | None = None
    max_items: int = DEFAULT_MAX_ITEMS
    when: str | None = None


@dataclass(frozen=True)
class Chain:
    id: str
    version: int
    name: Mapping[str, str]
    description: Mapping[str, str]
    dept: str
    inputs: Mapping[str, Any]
    steps: tuple[Step, ...]
    outputs: Mapping[str, str]
    example: Mapping[str, Any] | None = None
    document: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Problems:
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(self, step: str | None, where: str, message: str) -> None:
        entry: dict[str, Any] = {"field": where, "message": message}
        if step is not None:
            entry["step"] = step
        self.errors.append(entry)


_PROJECTIONS = (
    "projection",
    "value_projection",
    "filter_projection",
    "flatten",
    "index_expression",
)


def _leading(node: Mapping[str, Any] | None) -> list[str]:
    """The field path an expression starts with (`candidates` of `candidates[:3]`)."""
    if not node:
        return []
    kind = node.get("type")
    if kind == "field":
        return [node["value"]]
    if kind == "subexpression":
        return _chain(node["children"])
    if kind in _PROJECTIONS and node.get("children"):
        return _leading(node["children"][0])
    return []


def _chain(children: list[Mapping[str, Any]]) -> list[str]:
    """`a.b.c` (and `a.b.c[*]…`): the fields up to the first projection's left side."""
    path: list[str] = []
    for child in children:
        if child.get("type") == "field":
            path.append(child["value"])
            continue
        if child.get("type") in _PROJECTIONS:
            path += _leading(child)
        break
    return path


def _paths(node: Mapping[str, Any]) -> Iterator[list[str]]:
    """The field paths an expression reads from the context it is evaluated on (the parts
    evaluated on list elements or on a pipe's result are relative and left out)."""
    kind = node.get("type")
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    if kind == "field":
        yield [node["value"]]
    elif kind == "subexpression":
        path = _chain(children)
        if path:
            yield path
        elif children:
            yield from _paths(children[0])
    elif kind in _PROJECTIONS:
        path = _leading(node)
        if path:
            yield path
    elif kind == "pipe":
        if children:
            yield from _paths(children[0])
    elif kind not in ("literal", "current", "identity", "slice", "expref"):
        for child in children:
            yield from _paths(child)


class _Checker:
    def __init__(
        self,
        doc: Mapping[str, Any],
        services: Mapping[str, ServiceSpec],
        stopped: set[str],
        fields: Callable[[str], Fields],
        chains: Mapping[str, Chain],
    ):
        self.doc = doc
        self.services = services
        self.stopped = stopped
        self.fields = fields
        self.chains = chains
        self.problems = Problems()
        self.input_names = frozenset((doc.get("inputs") or {}).get("properties") or {})
        self.step_ids = [s["id"] for s in doc["steps"]]

    def expression(self, text: str, step: str | None, where: str, position: int, item: bool):
        try:
            parsed = jmespath.compile(text).parsed
        except JMESPathError as exc:
            self.problems.add(step, where, f"not a JMESPath expression: {exc}".splitlines()[0])
            return
        for path in _paths(parsed):
            self.reference(path, step, where, position, item)

    def reference(self, path: list[str], step: str | None, where: str, position: int, item: bool):
        root = path[0]
        if root == "item":
            if not item:
                self.problems.add(step, where, "`item` exists only in a step with for_each")
            return
        if root == "inputs":
            if len(path) > 1 and path[1] not in self.input_names:
                known = ", ".join(sorted(self.input_names)) or "none"
                self.problems.add(
                    step, where, f"input {path[1]!r} is not declared (inputs: {known})"
                )
            return
        if root != "steps":
            self.problems.add(
                step, where, f"{root!r} is unknown: expressions start with inputs, steps or item"
            )
            return
        if len(path) < 2:
            return
        target = path[1]
        if target not in self.step_ids:
            self.problems.add(step, where, f"there is no step {target!r}")
            return
        index = self.step_ids.index(target)
        if index >= position:
            self.problems.add(
                step,
                where,
                f"step {target!r} runs later (or is this step): a step reads only earlier "
                "steps, so a chain has no cycle",
            )
            return
        target_doc = self.doc["steps"][index]
        if len(path) > 2:
            if target_doc.get("for_each"):
                self.problems.add(
                    step,
                    where,
                    f"step {target!r} runs for each item: its answer is a list of "
                    "{item, output}; project it, e.g. steps." + target + "[*].output",
                )
                return
            target_service = target_doc["service"]
            if target_service not in self.services:
                return  # an unknown service: reported on its own step
            outputs = self.fields(target_service)[1]
            if outputs is not None and path[2] not in outputs:
                self.problems.add(
                    step,
                    where,
                    f"step {target!r} ({target_doc['service']}) answers no field {path[2]!r}; "
                    f"it has: {', '.join(sorted(outputs))}",
                )

    def service(self, step: Mapping[str, Any], chain_id: str) -> ServiceSpec | None:
        sid = step["service"]
        name = step["id"]
        if sid == chain_id:
            self.problems.add(name, "service", "the chain calls itself")
            return None
        if sid in self.chains:
            if self._leads_back(sid, chain_id, set()):
                self.problems.add(
                    name, "service", f"chain {sid!r} calls back into {chain_id!r} (a cycle)"
                )
            return self.services.get(sid)
        service = self.services.get(sid)
        if service is None:
            self.problems.add(name, "service", f"service {sid!r} is not in the catalogue")
            return None
        if service.kind != "function" or service.endpoints[0].method is None:
            self.problems.add(
                name,
                "service",
                f"service {sid!r} is a {service.kind} service, not a callable function service",
            )
            return None
        if sid in self.stopped:
            self.problems.add(name, "service", f"service {sid!r} is stopped")
        return service

    def _leads_back(self, sid: str, chain_id: str, seen: set[str]) -> bool:
        if sid == chain_id:
            return True
        if sid in seen or sid not in self.chains:
            return False
        seen.add(sid)
        return any(self._leads_back(s.service, chain_id, seen) for s in self.chains[sid].steps)

    def check(self) -> None:
        chain_id = self.doc["id"]
        seen: set[str] = set()
        for position, step in enumerate(self.doc["steps"]):
            name = step["id"]
            if name in seen:
                self.problems.add(name, "id", f"step id {name!r} is used twice")
            seen.add(name)
            service = self.service(step, chain_id)
            item = bool(step.get("for_each"))
            if step.get("for_each"):
                self.expression(step["for_each"], name, "for_each", position, False)
            if step.get("when"):
                self.expression(step["when"], name, "when", position, item)
            if step["service"] in self.chains:
                accepted = frozenset({"inputs"})  # a chain is run with {"inputs": …}
            else:
                accepted = self.fields(service.id)[0] if service else None
            for arg, text in step["args"].items():
                if accepted is not None and arg not in accepted:
                    self.problems.add(
                        name,
                        f"args.{arg}",
                        f"service {step['service']!r} takes no parameter {arg!r}; it takes: "
                        f"{', '.join(sorted(accepted))}",
                    )
                self.expression(text, name, f"args.{arg}", position, item)
        for output, text in self.doc["outputs"].items():
            self.expression(text, None, f"outputs.{output}", len(self.doc["steps"]), False)


def check_chain(
    document: Any,
    *,
    services: Mapping[str, ServiceSpec],
    stopped: set[str],
    fields: Callable[[str], Fields],
    chains: Mapping[str, Chain] | None = None,
) -> Chain:
    """A checked :class:`Chain`, or InvalidInput (`invalid_chain`) listing every problem
    with its step and field."""
    validator = jsonschema.Draft202012Validator(CHAIN_SCHEMA)
    shape = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if shape:
        raise InvalidInput(
            f"the chain document does not match the chain schema: {shape[0].message}",
            code="invalid_chain",
            errors=[
                {"field": ".".join(map(str, e.absolute_path)) or "(document)", "message": e.message}
                for e in shape[:20]
            ],
            title="Invalid chain",
        )
    checker = _Checker(document, services, stopped, fields, chains or {})
    checker.check()
    errors = checker.problems.errors
    if errors:
        first = errors[0]
        where = f"step {first['step']!r}, " if "step" in first else ""
        raise InvalidInput(
            f"the chain has {len(errors)} problem(s); first: {where}{first['field']}: "
            f"{first['message']}",
            code="invalid_chain",
            errors=errors,
            title="Invalid chain",
        )
    return chain_from_document(document)


def chain_from_document(document: Mapping[str, Any]) -> Chain:
    """The :class:`Chain` of a document already checked (a shipped or published one)."""
    return Chain(
        id=document["id"],
        version=document["version"],
        name=document["name"],
        description=document["description"],
        dept=document["dept"],
        inputs=document["inputs"],
        steps=tuple(
            Step(
                s["id"],
                s["service"],
                s["args"],
                s.get("for_each"),
                s.get("max_items", DEFAULT_MAX_ITEMS),
                s.get("when"),
            )
            for s in document["steps"]
        ),
        outputs=document["outputs"],
        example=document.get("example"),
        document=document,
    )
