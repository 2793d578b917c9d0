"""`planfuse token`: print an embed token, for development and tests."""

from __future__ import annotations

import json

import click

from planfuse.cli.common import CLIContext, cli_context


def _param(value: str) -> tuple[str, object]:
    name, sep, raw = value.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{value!r}: write parameters as name=value")
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = raw
    # Plain words stay text; JSON numbers, booleans, lists and objects keep their type.
    return name, parsed if not isinstance(parsed, str) else raw


@click.command()
@click.option("--app", "app_id", required=True, help="Host app id (signs with its secret).")
@click.option("--widget", required=True, help="Widget the token opens.")
@click.option("--sub", required=True, help="The host's user id.")
@click.option("--param", "params", multiple=True, help="Locked parameter name=value (repeat).")
@click.option("--role", "roles", multiple=True, help="Role of the user (repeat).")
@click.option("--name", default=None, help="Display name of the user.")
@click.option("--dept", default=None, help="Department of the user.")
@click.option("--locale", type=click.Choice(["zh-CN", "en"]), default=None)
@click.option("--ttl", type=int, default=None, help="Lifetime in seconds (≤ token_max_lifetime_s).")
@cli_context
def token(holder: CLIContext, app_id, widget, sub, params, roles, name, dept, locale, ttl) -> None:
    """Print an embed token signed with APP's current secret."""
    from planfuse.auth.apps import get_host_app
    from planfuse.auth.tokens import mint_embed_token

    ctx = holder.get()
    locked = dict(_param(p) for p in params)
    value, _ = mint_embed_token(
        ctx,
        get_host_app(ctx, app_id),
        widget=widget,
        sub=sub,
        params=locked or None,
        ttl_s=ttl,
        name=name,
        dept=dept,
        roles=list(roles) or None,
        locale=locale,
    )
    click.echo(value)


commands = [token]
