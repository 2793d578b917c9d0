"""`planfuse db`: schema migrations."""

from __future__ import annotations

import click

from planfuse.cli.common import CLIContext, cli_context
from planfuse.storage.database import current_revision


@click.group()
def db() -> None:
    """The planning database's schema."""


@db.command()
@cli_context
def upgrade(holder: CLIContext) -> None:
    """Create the database or apply new migrations."""
    ctx = holder.get(upgrade=False)
    before = current_revision(ctx.db.engine)
    ctx.db.upgrade()
    after = current_revision(ctx.db.engine)
    url = ctx.db.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"{url}: already at revision {after}")
    else:
        click.echo(f"{url}: upgraded {before or '(new database)'} → {after}")
