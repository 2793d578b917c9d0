"""The `planfuse` command line. Each area adds its commands in its own module."""

from __future__ import annotations

import sys

import click

from planfuse.cli.common import CLIContext, cli_context

__all__ = ["CLIContext", "cli_context", "main"]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Settings come from PLANFUSE_* environment variables; `planfuse settings` lists "
    "them with their defaults.",
)
@click.version_option(package_name="planfuse")
def cli() -> None:
    """PlanFuse: embeddable planning widgets, function services and OGC data services."""


def _register() -> None:
    from planfuse.cli import db, layers, serve, settings_cmd

    cli.add_command(db.db)
    cli.add_command(layers.layers)
    cli.add_command(serve.serve)
    cli.add_command(serve.demo)
    cli.add_command(settings_cmd.settings)
    cli.add_command(settings_cmd.secret)
    for module in (
        "planfuse.cli.admin",
        "planfuse.cli.apps",
        "planfuse.cli.keys",
        "planfuse.cli.token",
        "planfuse.cli.demo_data",
        "planfuse.cli.worker",
        "planfuse.cli.monitoring",
        "planfuse.cli.approvals",
        "planfuse.cli.audit",
    ):
        _optional(module)


def _optional(module: str) -> None:
    """Register the commands of an area that ships them (`commands` list in the module)."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return
        raise
    for command in getattr(mod, "commands", []):
        cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    _register()
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="planfuse")
