"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from planfuse.app import planfuse
from planfuse.errors import ProblemError

health_bp = Blueprint("health", __name__)
log = logging.getLogger("planfuse.health")


@health_bp.get("/healthz")
def healthz():
    """The process is alive and serving."""
    return jsonify(status="ok")


@health_bp.get("/readyz")
def readyz():
    """The database answers; 503 with the reason otherwise."""
    try:
        planfuse().db.ping()
    except SQLAlchemyError as exc:
        reason = type(exc).__name__
        log.warning("readiness check failed: %s", reason)
        raise ProblemError(
            503,
            "not_ready",
            f"the planning database is not reachable ({reason}); check PLANFUSE_DATABASE_URL "
            "and that the database server is running",
            title="Service unavailable",
        ) from None
    return jsonify(status="ready", database=planfuse().db.dialect)
