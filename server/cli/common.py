"""Shared CLI plumbing: settings, a ready database, and errors printed for people."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import click

from planfuse.context import PlanFuse, build_context
from planfuse.errors import DomainError
from planfuse.http.problems import ProblemError, problem_dict, problem_from_exception
from planfuse.services import audit
from planfuse.services.audit import bind_origin
from planfuse.settings import SettingsError, load_settings


class CLIContext:
    """Lazily builds the PlanFuse context; upgrades a new or old database once."""

    def __init__(self) -> None:
        self._ctx: PlanFuse | None = None

    def get(self, *, upgrade: bool = True) -> PlanFuse:
        if self._ctx is None:
            settings = load_settings()
            self._ctx = build_context(settings, describe_failure=problem_dict)
            if upgrade:
                self._ctx.db.upgrade()
        return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()


def cli_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """Pass a `CLIContext` as first argument and turn known errors into messages + exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        holder = CLIContext()
        try:
            with bind_origin("cli"):
                return func(holder, *args, **kwargs)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except (ProblemError, DomainError) as exc:
            fail(problem_from_exception(exc))
        except Exception as exc:
            from planfuse.geo.errors import GeoError
            from planfuse.storage import DatabaseConfigError

            if isinstance(exc, GeoError):
                fail(problem_from_exception(exc))
            if isinstance(exc, DatabaseConfigError):
                raise click.ClickException(str(exc)) from None
            raise
        finally:
            holder.close()

    return wrapper


def audit_cli(
    ctx: PlanFuse, action: str, target: str, detail: dict[str, Any] | None = None
) -> None:
    """Record a change made from the command line in the audit log (actor and origin "cli")."""
    audit.record(ctx, audit.CLI, action, target, detail)


def fail(problem: ProblemError, max_errors: int = 50) -> None:
    click.secho(f"error: {problem.detail}", fg="red", err=True)
    for entry in problem.errors[:max_errors]:
        where = ", ".join(f"{k} {v}" for k, v in entry.items() if k != "message")
        click.echo(f"  - {where + ': ' if where else ''}{entry.get('message', '')}", err=True)
    if len(problem.errors) > max_errors:
        click.echo(f"  … and {len(problem.errors) - max_errors} more", err=True)
    sys.exit(2)
