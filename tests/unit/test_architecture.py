"""Dependencies point one way (docs/architecture.md), read from the code's own imports.

Every `import` and `from … import` of every module under server/ (`planfuse`) and of the
widget packages under widgets/ (`planfuse.widgets`) is read with `ast` — at module level,
inside functions and under `TYPE_CHECKING` alike, since each is a dependency — and checked:

* no cycle among modules;
* no import of a higher layer (the LAYERS table, top first);
* the web areas do not import each other (what two areas share lives below them);
* the geo core imports nothing of PlanFuse outside `planfuse.geo`;
* nothing below the HTTP toolkit imports Flask, Werkzeug or `http`, or builds an HTTP
  status (a `ProblemError`, `bad_request`, `not_found`, `abort`, a `status=4xx` argument):
  services, auth, the geo core and storage raise domain errors (`planfuse.errors`), which
  `planfuse.http.problems` maps onto problems in one table.

A failure names the offending import as `file:line: importer → imported` and what to do.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The folders of the import packages (pyproject.toml's package-dir).
PACKAGE_DIRS = {"planfuse": ROOT / "server", "planfuse.widgets": ROOT / "widgets"}
SKIP_DIRS = {"node_modules", "__pycache__"}

#: Layers, top first. A module belongs to the layer of its longest listed prefix and may
#: import its own layer and the layers below it, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry points", ("planfuse.cli",)),
    ("app wiring", ("planfuse.app", "planfuse.web")),
    (
        "web areas",
        (
            "planfuse.admin",
            "planfuse.api",
            "planfuse.ogc",
            "planfuse.ows",
            "planfuse.embed",
            "planfuse.demo",
            "planfuse.widgets",
        ),
    ),
    ("HTTP toolkit", ("planfuse.http",)),
    ("services", ("planfuse.services",)),
    ("auth", ("planfuse.auth",)),
    (
        "core",
        (
            "planfuse.context",
            "planfuse.geo",
            "planfuse.storage",
            "planfuse.signing",
            "planfuse.widgets.registry",
        ),
    ),
    (
        "base",
        ("planfuse", "planfuse.settings", "planfuse.errors", "planfuse.logs", "planfuse.paths"),
    ),
)
#: Prefixes that name one module only: the root package holds no code of its own, and a new
#: top-level package must be placed in LAYERS, not fall into the base layer.
EXACT = frozenset({"planfuse"})
#: Layers whose packages are independent of each other: an area is its prefix in LAYERS
#: (`planfuse.widgets.<name>` for a widget package).
INDEPENDENT_LAYERS = ("web areas",)
#: Layers that know nothing of HTTP: no Flask, no Werkzeug, no `http` status codes.
HTTP_FREE_LAYERS = ("services", "auth", "core", "base")
HTTP_PACKAGES = ("flask", "werkzeug", "http")
#: Callables that make an HTTP error; the HTTP-free layers call none of them.
HTTP_ERROR_CALLS = frozenset({"ProblemError", "bad_request", "not_found", "abort", "HTTPException"})
#: Packages that may import only themselves (of PlanFuse).
SELF_CONTAINED = ("planfuse.geo",)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a PlanFuse module, or the top-level name of a third-party package
    file: str  # relative to the repository
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} → {self.imported}"


def module_files(package_dirs: Mapping[str, Path] = PACKAGE_DIRS) -> dict[str, Path]:
    """Every module name with its file."""
    found: dict[str, Path] = {}
    for package, base in package_dirs.items():
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if SKIP_DIRS & set(parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            # server/ holds no widgets: `planfuse.widgets` is the widgets/ folder.
            if package == "planfuse" and parts[:1] == ("widgets",):
                continue
            found[name] = path
    return found


def _resolve(name: str, modules: Mapping[str, Path]) -> str:
    """The module `name` refers to: itself, or the nearest package above it."""
    while name not in modules and "." in name:
        name = name.rpartition(".")[0]
    return name


def read_imports(modules: Mapping[str, Path], root: Path = ROOT) -> Iterator[Import]:
    """Every import of every module: PlanFuse modules resolved, others by top-level name."""
    for name, path in modules.items():
        file = path.relative_to(root).as_posix()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from package import module` imports the module.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            for target in dict.fromkeys(targets):
                if is_planfuse(target):
                    target = _resolve(target, modules)
                    if target == name:
                        continue
                else:
                    target = target.partition(".")[0]
                yield Import(name, target, file, node.lineno)


def http_statuses(modules: Mapping[str, Path], root: Path = ROOT) -> Iterator[str]:
    """Every place a module of an HTTP-free layer builds an HTTP status: a call of an HTTP
    error maker, or a `status=` argument that is an HTTP status code."""
    for name, path in modules.items():
        layer = layer_of(name)[1]
        if layer not in HTTP_FREE_LAYERS:
            continue
        file = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            statuses = [
                k.value.value
                for k in node.keywords
                if k.arg == "status"
                and isinstance(k.value, ast.Constant)
                and isinstance(k.value.value, int)
                and 100 <= k.value.value <= 599
            ]
            if called in HTTP_ERROR_CALLS or statuses:
                what = f"{called}(…)" if called in HTTP_ERROR_CALLS else f"status={statuses[0]}"
                yield (
                    f"{file}:{node.lineno}: {name} builds an HTTP status ({what}); the {layer} "
                    "layer raises a domain error of planfuse.errors instead"
                )


def is_planfuse(module: str) -> bool:
    """A PlanFuse module (not a third-party package whose name merely starts the same, such
    as the host helper `planfuse_host` the sample host uses)."""
    return module == "planfuse" or module.startswith("planfuse.")


def layer_of(module: str) -> tuple[int, str, str]:
    """(rank from the top, layer name, the prefix that placed it) of a PlanFuse module."""
    best: tuple[int, str, str] | None = None
    for rank, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or (prefix not in EXACT and module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > len(best[2])):
                best = (rank, layer, prefix)
    assert best is not None, (
        f"{module} is in no layer: add its package to LAYERS in tests/unit/test_architecture.py "
        "(see docs/architecture.md)"
    )
    return best


def _area(module: str) -> str:
    prefix = layer_of(module)[2]
    if prefix == "planfuse.widgets":
        return ".".join(module.split(".")[:3])
    return prefix


def cycles(imports: list[Import]) -> list[list[Import]]:
    """One import cycle per strongly connected group of modules, as the imports around it."""
    graph: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if is_planfuse(imp.imported):
            graph.setdefault(imp.importer, {}).setdefault(imp.imported, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: dict[str, dict[str, Import]]) -> list[Import]:
    """The shortest cycle through the group's first module (breadth-first)."""
    start = min(group)
    paths: dict[str, list[Import]] = {start: []}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w, imp in sorted(graph.get(v, {}).items()):
            if w == start:
                return [*paths[v], imp]
            if w in group and w not in paths:
                paths[w] = [*paths[v], imp]
                queue.append(w)
    raise AssertionError("a strongly connected group always has a cycle")


def violations(imports: list[Import]) -> list[str]:
    """Every import against the rules, with what to do about it."""
    found: list[str] = []
    for imp in imports:
        rank, layer, _ = layer_of(imp.importer)
        if not is_planfuse(imp.imported):
            if layer in HTTP_FREE_LAYERS and imp.imported in HTTP_PACKAGES:
                found.append(
                    f"{imp}: the {layer} layer knows nothing of HTTP; raise a domain error "
                    "of planfuse.errors and let the web layer map it"
                )
            continue
        to_rank, to_layer, _ = layer_of(imp.imported)
        if to_rank < rank:
            found.append(
                f"{imp}: upward import from {layer} to {to_layer}; move what both need "
                "down, or pass it in"
            )
        elif (
            layer in INDEPENDENT_LAYERS
            and to_layer == layer
            and _area(imp.importer) != _area(imp.imported)
        ):
            found.append(
                f"{imp}: {_area(imp.importer)} imports another area; move what both need "
                "below the areas (planfuse.http, a service)"
            )
        for package in SELF_CONTAINED:
            inside = imp.importer == package or imp.importer.startswith(package + ".")
            if inside and not (imp.imported == package or imp.imported.startswith(package + ".")):
                found.append(f"{imp}: {package} imports only itself")
    return found


def test_every_module_is_in_a_layer():
    for module in module_files():
        layer_of(module)


def test_no_import_cycles():
    found = cycles(list(read_imports(module_files())))
    message = "\n\n".join(
        "import cycle (break it by moving what both sides need into a lower module):\n  "
        + "\n  ".join(map(str, cycle))
        for cycle in found
    )
    assert not found, message


def test_dependencies_point_one_way():
    found = violations(list(read_imports(module_files())))
    assert not found, "\n".join(found)


def test_no_http_status_below_the_web_layer():
    found = list(http_statuses(module_files()))
    assert not found, "\n".join(found)


def test_the_checks_catch_what_they_guard(tmp_path):
    """A planted upward import, area-to-area import, Flask import in a service and cycle
    are each reported, naming the file, the line and the two modules."""
    server = tmp_path / "server"
    files = {
        "__init__.py": "",
        "geo/__init__.py": "",
        "geo/crs.py": "from planfuse.storage import Database\n",
        "storage/__init__.py": "",
        "services/__init__.py": "",
        "services/a.py": "import flask\nfrom planfuse.services import b\n",
        "services/b.py": "from planfuse.services.a import x\n",
        "services/c.py": "def f():\n    raise ProblemError(409, 'busy', 'x')\n",
        "auth/__init__.py": "",
        "auth/tokens.py": "\nfrom planfuse.embed.registry import Widget\n",
        "embed/__init__.py": "",
        "embed/registry.py": "",
        "admin/__init__.py": "",
        "admin/views.py": "from planfuse.api.common import json_response\n",
        "api/__init__.py": "",
        "api/common.py": "",
    }
    for name, text in files.items():
        path = server / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    imports = list(read_imports(module_files({"planfuse": server}), root=tmp_path))
    found = "\n".join(violations(imports))
    assert "server/auth/tokens.py:2: planfuse.auth.tokens → planfuse.embed.registry" in found
    assert "upward import from auth to web areas" in found
    assert "planfuse.admin.views → planfuse.api.common: planfuse.admin imports another area" in (
        found
    )
    assert "planfuse.services.a → flask: the services layer knows nothing of HTTP" in found
    assert "planfuse.geo.crs → planfuse.storage: planfuse.geo imports only itself" in found
    statuses = "\n".join(http_statuses(module_files({"planfuse": server}), root=tmp_path))
    assert "server/services/c.py:2: planfuse.services.c builds an HTTP status (ProblemError" in (
        statuses
    )
    (cycle,) = cycles(imports)
    assert [str(i).split(": ")[1] for i in cycle] == [
        "planfuse.services.a → planfuse.services.b",
        "planfuse.services.b → planfuse.services.a",
    ]
