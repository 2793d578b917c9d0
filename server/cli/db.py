"""`planfuse db`: schema migrations, backups and restores."""

from __future__ import annotations

import json
from pathlib import Path

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


@db.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@cli_context
def backup(holder: CLIContext, file: Path, as_json: bool) -> None:
    """Copy the database into FILE while servers keep using it.

    SQLite: a consistent copy through SQLite's online backup API (a SQLite file).
    PostgreSQL: pg_dump's custom format (the tools must match the server's major version).
    """
    from planfuse.storage.backup import backup_database

    ctx = holder.get(upgrade=False)
    summary = backup_database(ctx.db, file, pg_bin_dir=ctx.settings.pg_bin_dir)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    click.echo(
        f"{summary.database} (revision {summary.revision}) → {summary.path}: "
        f"{summary.bytes / 1e6:,.1f} MB in {summary.seconds:.1f} s"
    )


@db.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--replace",
    is_flag=True,
    help="Overwrite a database that already holds PlanFuse data (restart its servers after).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@cli_context
def restore(holder: CLIContext, file: Path, replace: bool, as_json: bool) -> None:
    """Restore a backup made by `planfuse db backup` into the configured database.

    The database must be empty unless --replace is given; it is then upgraded to this
    release's newest migration.
    """
    from planfuse.storage.backup import restore_database

    ctx = holder.get(upgrade=False)
    summary = restore_database(ctx.db, file, replace=replace, pg_bin_dir=ctx.settings.pg_bin_dir)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False))
        return
    click.echo(
        f"{summary.path} → {summary.database}: restored, at revision {summary.revision}, "
        f"in {summary.seconds:.1f} s"
    )
