"""Which runner runs an instance's jobs: the job queue's when a broker is configured
(`planfuse.services.job_queue`: Celery tasks on `planfuse worker` processes), else threads
of this process (`planfuse.services.jobs.JobRunner`, the embedded default). Both keep the
job rows of `planfuse.services.jobs`, so the job API is the same."""

from __future__ import annotations

from planfuse.context import PlanFuse
from planfuse.services.job_queue import QueueJobRunner
from planfuse.services.jobs import EXTRA_KEY, JobRunner


def job_runner(ctx: PlanFuse) -> JobRunner | QueueJobRunner:
    """This process's job runner for ``ctx`` (created on first use)."""

    def make() -> JobRunner | QueueJobRunner:
        if ctx.settings.broker_url:
            return QueueJobRunner(ctx)
        return JobRunner(ctx)

    return ctx.shared(EXTRA_KEY, make)
