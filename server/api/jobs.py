"""Background jobs over HTTP (server/api/openapi/jobs.yaml): progress and cancellation.

Any authenticated caller (a widget session of any widget, or a host backend) reads the
jobs of its own app and the shared ones (conflict detection); only the app that started
a job may cancel it. State lives in the database, so every server process answers.
"""

from __future__ import annotations

from planfuse.http.caller import require_caller
from planfuse.http.context import planfuse
from planfuse.http.responses import json_response
from planfuse.http.routes import RouteTable
from planfuse.services.jobs import cancel_job, get_job

routes = RouteTable()


@routes.get("/jobs/<job_id>")
def jobs_get(job_id: str):
    """A job: state, progress (0–1), stage, summary (when done), error (when failed)."""
    caller = require_caller()
    return json_response(get_job(planfuse(), job_id[:64], app_id=caller.app_id))


@routes.delete("/jobs/<job_id>")
def jobs_cancel(job_id: str):
    """Cancel a job: 200 with the job once cancelled (a queued job at once), 202 while a
    running job is still stopping (it stops at its next check, within about a second)."""
    caller = require_caller()
    job = cancel_job(planfuse(), job_id[:64], app_id=caller.app_id)
    return json_response(job, 202 if job["state"] == "running" else 200)
