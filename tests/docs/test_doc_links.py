"""Links and file paths in the documentation lead somewhere: every relative Markdown link
names a file of the repository (and, with #anchor, one of its headings), and every path in
a code span that looks like a repository path (`server/…`, `docs/….md`, `../…`) exists."""

from __future__ import annotations

import re

import pytest
from doc_snippets import DOCS, ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:\.\./|\./)?(?:[\w.-]+/)+[\w.-]+\.(?:md|py|js|json|yaml|txt|mjs))`")
#: Top-level folders a code-span path may start from.
ROOTS = (
    "server/",
    "widgets/",
    "embed-sdk/",
    "docs/",
    "tests/",
    "templates/",
    "static/",
    "host-packages/",
    "scripts/",
    "../",
    "./",
)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text("utf-8"), flags=re.S)
    return {slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def outside_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_links_and_paths_resolve(doc):
    text = outside_code(doc.read_text("utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"link {target}: no file {path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"link {target}: no heading #{anchor} in {path.name}")
    for found in CODE_PATH.findall(text):
        if not found.startswith(ROOTS) or "<" in found or "*" in found:
            continue
        candidates = [(doc.parent / found).resolve(), (ROOT / found).resolve()]
        if not any(c.exists() for c in candidates) or not all(
            c.is_relative_to(ROOT) for c in candidates if c.exists()
        ):
            broken.append(f"path `{found}` is not in the repository")
    assert not broken, "\n".join(broken)
