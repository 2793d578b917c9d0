"""`planfuse settings` and `planfuse secret`."""

from __future__ import annotations

import secrets as _secrets

import click

from planfuse.settings import SETTINGS, load_settings


@click.command()
@click.option("--markdown", is_flag=True, help="Print the settings table as Markdown.")
def settings(markdown: bool) -> None:
    """List every setting: environment variable, current value and meaning."""
    from planfuse.settings import settings_markdown

    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    current = load_settings().redacted()
    for s in SETTINGS:
        click.secho(f"{s.env_var}", bold=True, nl=False)
        click.echo(f" = {current[s.name]!r}")
        click.echo(f"    {s.help}")


@click.command()
def secret() -> None:
    """Print a new random secret key for PLANFUSE_SECRET_KEY."""
    click.echo(_secrets.token_urlsafe(48))
