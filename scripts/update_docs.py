"""Regenerate the generated parts of docs/: `python scripts/update_docs.py`.

docs/settings.md comes from the settings table in server/settings.py; a test fails when
the two differ, so run this after adding or changing a setting.
"""

from pathlib import Path

from planfuse.settings import settings_markdown

ROOT = Path(__file__).resolve().parent.parent

SETTINGS_INTRO = """# Settings

PlanFuse reads its settings from `PLANFUSE_*` environment variables; tests and embedding
applications may also pass them to `create_app(config)` by name. `planfuse settings` prints
the current values (secrets masked). This table is generated from `server/settings.py`
(`python scripts/update_docs.py`); a test keeps the two identical.

"""


def main() -> None:
    (ROOT / "docs" / "settings.md").write_text(SETTINGS_INTRO + settings_markdown(), "utf-8")
    # docs/widgets.md from the widget manifests (planfuse.embed.docs).
    from planfuse.embed.docs import widgets_markdown
    from planfuse.widgets.registry import load_registry

    (ROOT / "docs" / "widgets.md").write_text(widgets_markdown(load_registry()), "utf-8")


if __name__ == "__main__":
    main()
