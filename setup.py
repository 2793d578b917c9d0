"""Derive the package list from the folders: server/ is `planfuse`, widgets/ is
`planfuse.widgets` (the mapping in pyproject.toml). Everything else is in pyproject.toml."""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
MAPPING = {"planfuse": "server", "planfuse.widgets": "widgets"}
SKIP = {"node_modules", "migrations", "__pycache__"}


def packages() -> list[str]:
    found = []
    for package, folder in MAPPING.items():
        base = ROOT / folder
        for init in sorted(base.rglob("__init__.py")):
            rel = init.parent.relative_to(base)
            if SKIP & set(rel.parts):
                continue
            found.append(".".join((package, *rel.parts)))
    return found


setup(packages=packages())
