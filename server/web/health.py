"""Liveness and readiness probes for load balancers and orchestrators.

`/readyz` names every dependency and whether it answers. Without the database nothing can
be served: 503 with Retry-After, and `errors` names it. Without the shared cache (Redis) or
the job queue's broker the server still serves — the cache is skipped, job submissions are
answered 503 — so the process stays in the load balancer: 200 with status `degraded` and
the dependency that is down.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, jsonify

from planfuse.http.context import planfuse, response_cache
from planfuse.http.problems import DATABASE_RETRY_AFTER_S, ProblemError
from planfuse.services.monitoring.status import dependency_status

log = logging.getLogger("planfuse.health")


def healthz():
    """The process is alive and serving."""
    return jsonify(status="ok")


def readyz():
    """Each dependency and whether it answers; 503 with the reason while the database is
    down, `degraded` while a dependency the server can do without is."""
    ctx = planfuse()
    entries = dependency_status(ctx, response_cache())
    down = [e for e in entries if not e["ready"]]
    states = {e["name"]: "up" if e["ready"] else "down" for e in entries}
    if any(e["name"] == "database" for e in down):
        detail = next(e["detail"] for e in down if e["name"] == "database")
        log.warning("readiness check failed: the database is down (%s)", detail)
        raise ProblemError(
            503,
            "not_ready",
            f"the planning database is not reachable ({detail}); check PLANFUSE_DATABASE_URL "
            "and that the database server is running",
            title="Service unavailable",
            errors=[{"dependency": e["name"], "message": e["detail"] or "down"} for e in down],
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    return jsonify(
        status="degraded" if down else "ready",
        database=ctx.db.dialect,
        dependencies=states,
        down=[{"dependency": e["name"], "detail": e["detail"]} for e in down],
    )


def register(app: Flask) -> None:
    """Serve the probes /healthz and /readyz from `app` (the `health` blueprint)."""
    bp = Blueprint("health", __name__)
    bp.get("/healthz")(healthz)
    bp.get("/readyz")(readyz)
    app.register_blueprint(bp)
