"""Chain runs kept for the administrators and the app that ran them: the trace of every
step (planfuse.services.chains.run) stored once the run ends, succeeded or failed."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from planfuse.context import PlanFuse
from planfuse.errors import NotFound
from planfuse.services.chains.document import Chain
from planfuse.services.monitoring.control import iso_time
from planfuse.storage.models import ChainRun


def save_run(
    ctx: PlanFuse,
    chain: Chain,
    *,
    app_id: str | None,
    started_at: datetime,
    duration_ms: float,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None,
    trace: list[dict[str, Any]],
    failed_step: str | None = None,
    error: str | None = None,
) -> str:
    """Store a run; its id."""
    run_id = secrets.token_hex(8)
    with ctx.db.session() as session:
        session.add(
            ChainRun(
                id=run_id,
                chain_id=chain.id,
                version=chain.version,
                app_id=app_id,
                ok=failed_step is None and error is None,
                failed_step=failed_step,
                error=error,
                duration_ms=round(duration_ms, 2),
                started_at=started_at,
                inputs=inputs,
                outputs=outputs,
                trace=trace,
            )
        )
    return run_id


def get_run(ctx: PlanFuse, chain_id: str, run_id: str, app_id: str | None) -> dict[str, Any]:
    """A run with its trace; `app_id` None (an administrator) reads every app's runs."""
    with ctx.db.session() as session:
        row = session.get(ChainRun, run_id)
        if row is None or row.chain_id != chain_id or (app_id is not None and row.app_id != app_id):
            raise NotFound("chain run", run_id, code="unknown_chain_run")
        return {
            "run_id": row.id,
            "chain": row.chain_id,
            "version": row.version,
            "app_id": row.app_id,
            "ok": row.ok,
            "failed_step": row.failed_step,
            "error": row.error,
            "duration_ms": row.duration_ms,
            "started_at": iso_time(row.started_at),
            "inputs": row.inputs,
            "outputs": row.outputs,
            "trace": row.trace,
        }
