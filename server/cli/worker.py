"""`planfuse worker`: run queued jobs (conflict detection, …) as Celery tasks.

Needs ``PLANFUSE_BROKER_URL`` (Redis). Any number of workers on any hosts take tasks from
the one queue; server processes only submit. See docs/deploy.md.
"""

from __future__ import annotations

import os
import socket

import click

from planfuse.cli.common import CLIContext, cli_context


@click.command()
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Tasks this process runs at once (threads). One overlay already uses every core "
    "(overlay_workers), so one task per process is usually right; run more processes or "
    "hosts to scale out.",
)
@click.option(
    "--name",
    default=None,
    help="Worker name in logs and in the jobs' `worker` column (default: planfuse@HOST:PID).",
)
@cli_context
def worker(holder: CLIContext, concurrency: int, name: str | None) -> None:
    """Run queued jobs from the broker (PLANFUSE_BROKER_URL) until stopped."""
    from planfuse.logs import configure_logging
    from planfuse.services.job_queue import QUEUE, celery_app

    ctx = holder.get()
    if not ctx.settings.broker_url:
        raise click.ClickException(
            "PLANFUSE_BROKER_URL is not set: without a broker, each server process runs the "
            "jobs it accepts itself and no worker is needed. Set it (e.g. "
            "redis://127.0.0.1:6379/1) on the servers and the workers."
        )
    configure_logging(os.environ.get("PLANFUSE_LOG_LEVEL", ctx.settings.log_level))
    hostname = name or f"planfuse@{socket.gethostname()}:{os.getpid()}"
    click.echo(f"PlanFuse worker {hostname}: {concurrency} task(s) at a time", err=True)
    app = celery_app(ctx)
    app.Worker(
        hostname=hostname,
        pool="threads",
        concurrency=concurrency,
        queues=[QUEUE],
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        loglevel=ctx.settings.log_level,
        quiet=True,
    ).start()


commands = [worker]
