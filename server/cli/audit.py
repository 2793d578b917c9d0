"""`planfuse audit`: the audit log from the command line (the same filters as the console
and `GET /api/v1/admin/audit`)."""

from __future__ import annotations

import json
import sys

import click

from planfuse.cli.common import CLIContext, cli_context

FILTERS = (
    click.option("--action", help="An action (app.create) or a thing (app: every app.*)."),
    click.option("--actor", help="An actor id: an admin token id, an app id, app_id/user, cli."),
    click.option("--target", help="A target (app:app_3f…) or a kind ending in a colon (layer:)."),
    click.option("--since", help="From this time on (ISO 8601 with a time zone)."),
    click.option("--until", help="Before this time (ISO 8601 with a time zone)."),
)


def _filters(func):
    for option in reversed(FILTERS):
        func = option(func)
    return func


def _args(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


@click.group()
def audit() -> None:
    """Who did what to apps, keys, layers, rulesets, conflicts and services."""


@audit.command("list")
@_filters
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
@cli_context
def list_(holder: CLIContext, limit: int, as_json: bool, **filters: str | None) -> None:
    """The newest events matching the filters."""
    from planfuse.services.audit import list_events, parse_query

    query = parse_query({**_args(**filters), "limit": str(limit)})
    events = list_events(holder.get(), query)["events"]
    if as_json:
        click.echo(json.dumps(events, ensure_ascii=False))
        return
    for e in events:
        who = e["actor"]["name"] or e["actor"]["id"]
        click.echo(
            f"{e['at'][:19].replace('T', ' ')}  {e['action']:<20} {e['target']:<32} "
            f"{e['actor']['kind']}:{who}  from {e['origin']}"
        )


@audit.command("export")
@_filters
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True), default="-")
@cli_context
def export(holder: CLIContext, file, **filters: str | None) -> None:
    """Every event matching the filters as CSV (UTF-8 with BOM) to FILE (default: stdout)."""
    from planfuse.services.audit import export_csv, parse_query

    for chunk in export_csv(holder.get(), parse_query(_args(**filters))):
        file.write(chunk)
    if file is not sys.stdout:
        file.close()


commands = [audit]
