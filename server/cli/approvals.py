"""`planfuse approvals`: coordinated approval (协同审批) from the command line."""

from __future__ import annotations

import click

from planfuse.cli.common import CLIContext, cli_context


@click.group()
def approvals() -> None:
    """Coordinated approval cases (协同审批)."""


@approvals.command("flag-overdue")
@cli_context
def flag_overdue_command(holder: CLIContext) -> None:
    """Mark the departments past their deadline without an opinion (once each, in the
    case's history). Run it daily, e.g. from cron."""
    from planfuse.services.approval.overdue import flag_overdue

    marked = flag_overdue(holder.get())
    for m in marked:
        click.echo(
            f"{m['case']}  {m['dept']}  due {m['due']}  {m['overdue_working_days']} working "
            "day(s) late"
        )
    click.echo(f"{len(marked)} department(s) newly overdue", err=True)


commands = [approvals]
