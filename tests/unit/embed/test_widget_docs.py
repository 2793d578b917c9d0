"""docs/widgets.md is generated from the widget manifest and kept identical to it."""

from pathlib import Path

from embed_support import register

from planfuse.embed.docs import widgets_markdown
from planfuse.widgets.registry import load_registry

ROOT = Path(__file__).resolve().parents[3]


def test_docs_widgets_md_matches_the_manifest():
    generated = widgets_markdown(load_registry())
    current = (ROOT / "docs" / "widgets.md").read_text(encoding="utf-8")
    assert current == generated, "docs/widgets.md is stale: run python scripts/update_docs.py"


def test_every_manifest_entry_is_in_the_generated_docs():
    registry = load_registry()
    register(registry)
    text = widgets_markdown(registry)
    for widget in registry:
        for section in ("params", "commands", "events", "errors"):
            for name in widget.manifest[section]:
                assert f"`{name}`" in text, (widget.name, section, name)
