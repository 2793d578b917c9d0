"""Health checks of the departments' remote services, on a schedule.

Each server process runs one checker thread (started when the process first meets a
registered remote service, and by every `planfuse serve` worker; the web layer passes it
the HTTP client, planfuse.http.outbound). Every
`remote_service_health_interval_s` each service is checked once, by whichever process
claims it first (its `health_due_at` moved forward, compare-and-set); the outcome —
``up``, ``slow`` (answered slower than `remote_service_slow_ms`), ``down`` — with the
latency, the HTTP status and the error is stored on the registration, so the catalogue of
every process shows it. The catalogue's status is ``degraded`` (异常) while a service is
down or slow.

What a check asks, by kind: an OGC API – Features collection its JSON description; a WFS
or WMS its capabilities (the right document); an ArcGIS REST service its JSON description
(`?f=json`, without an ``error``); a JSON API its OpenAPI document when one is registered,
else its base URL.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

import orjson
from sqlalchemy import func, select, update

from planfuse.context import PlanFuse
from planfuse.errors import UpstreamFailed
from planfuse.services.remote import network
from planfuse.services.remote.records import Target, call_target, remote_state
from planfuse.storage.models import RemoteService

log = logging.getLogger("planfuse.remote")

SHARED_KEY = "remote.health_checker"
IDLE_WAIT_S = 60.0
MAX_ERROR = 500


@dataclass(frozen=True)
class Health:
    status: str
    latency_ms: float | None
    http_status: int | None
    error: str | None


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    present = {p.split("=", 1)[0].lower() for p in parts.query.split("&") if p}
    extra = {k: v for k, v in params.items() if k.lower() not in present}
    query = "&".join(q for q in (parts.query, urlencode(extra)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def probe_url(target: Target) -> tuple[str, str]:
    """(URL, Accept) of the health check of a service of `target.kind`."""
    if target.kind == "wfs":
        return _with_query(
            target.base_url, {"service": "WFS", "request": "GetCapabilities"}
        ), "application/xml"
    if target.kind == "wms":
        return _with_query(
            target.base_url, {"service": "WMS", "request": "GetCapabilities"}
        ), "application/xml"
    if target.kind in ("arcgis_feature", "arcgis_map"):
        return _with_query(target.base_url, {"f": "json"}), "application/json"
    if target.kind == "json_api" and target.openapi_url:
        return target.openapi_url, "application/json"
    return target.base_url, "application/json"


def _content_problem(kind: str, body: bytes) -> str | None:
    """Why an answer with a 2xx status is still not the service's, or None."""
    if kind in ("wfs", "wms"):
        head = body[:4096]
        wanted = (
            (b"WFS_Capabilities",)
            if kind == "wfs"
            else (b"WMS_Capabilities", b"WMT_MS_Capabilities")
        )
        if not any(w in head for w in wanted):
            return f"the answer is not {kind.upper()} capabilities"
        return None
    if kind in ("ogc_features", "arcgis_feature", "arcgis_map") or kind == "json_api":
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "the answer is not JSON" if kind != "json_api" else None
        if kind.startswith("arcgis") and isinstance(document, dict) and "error" in document:
            return f"the service answered an ArcGIS error: {str(document['error'])[:200]}"
        if kind == "ogc_features" and not isinstance(document, dict):
            return "the answer is not a JSON object"
    return None


def check(ctx: PlanFuse, target: Target, fetch: network.Fetch) -> Health:
    """Check one service now."""
    settings = ctx.settings
    url, accept = probe_url(target)
    try:
        answer = fetch(
            "GET",
            url,
            headers={
                "Accept": accept,
                "Accept-Encoding": "identity",
                "User-Agent": network.USER_AGENT,
                **target.headers,
            },
            body=None,
            timeout_s=float(settings.remote_service_health_timeout_s),
            max_bytes=int(settings.remote_service_max_bytes),
            allow_private=bool(settings.remote_services_allow_private),
        )
    except UpstreamFailed as exc:
        return Health("down", None, None, f"{exc.code}: {exc.message}"[:MAX_ERROR])
    if not 200 <= answer.status < 300:
        return Health(
            "down", answer.elapsed_ms, answer.status, f"the service answered HTTP {answer.status}"
        )
    problem = _content_problem(target.kind, answer.body)
    if problem is not None:
        return Health("down", answer.elapsed_ms, answer.status, problem)
    if answer.elapsed_ms > float(settings.remote_service_slow_ms):
        return Health(
            "slow",
            answer.elapsed_ms,
            answer.status,
            f"answered in {answer.elapsed_ms:.0f} ms, slower than "
            f"{float(settings.remote_service_slow_ms):g} ms (remote_service_slow_ms)",
        )
    return Health("up", answer.elapsed_ms, answer.status, None)


def _now() -> datetime:
    return datetime.now(UTC)


def _store(ctx: PlanFuse, service_id: str, health: Health) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(RemoteService)
            .where(RemoteService.id == service_id)
            .values(
                health_status=health.status,
                health_latency_ms=health.latency_ms,
                health_http_status=health.http_status,
                health_error=health.error,
                health_checked_at=_now(),
            )
        )
    remote_state(ctx).invalidate()


def check_now(ctx: PlanFuse, service_id: str, fetch: network.Fetch) -> Health | None:
    """Check one service at once and store the outcome (None: not registered)."""
    target = call_target(ctx, service_id)
    if target is None:
        return None
    health = check(ctx, target, fetch)
    _store(ctx, service_id, health)
    return health


def _claim(ctx: PlanFuse, service_id: str, due: datetime, interval_s: float) -> bool:
    """Take the check of `service_id` for this process (compare-and-set on its due time)."""
    with ctx.db.session() as session:
        result = session.execute(
            update(RemoteService)
            .where(RemoteService.id == service_id, RemoteService.health_due_at == due)
            .values(health_due_at=_now() + timedelta(seconds=interval_s))
        )
        return result.rowcount == 1


def check_due(ctx: PlanFuse, fetch: network.Fetch) -> int:
    """Check every service whose check is due and that this process claims; how many."""
    interval_s = float(ctx.settings.remote_service_health_interval_s)
    with ctx.db.session() as session:
        due = session.execute(
            select(RemoteService.id, RemoteService.health_due_at).where(
                RemoteService.health_due_at <= _now()
            )
        ).all()
    checked = 0
    for service_id, due_at in due:
        if _claim(ctx, service_id, due_at, interval_s):
            check_now(ctx, service_id, fetch)
            checked += 1
    return checked


def _next_due_s(ctx: PlanFuse) -> float:
    with ctx.db.session() as session:
        due = session.scalar(select(func.min(RemoteService.health_due_at)))
    if due is None:
        return IDLE_WAIT_S
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    return min(IDLE_WAIT_S, max(0.05, (due - _now()).total_seconds()))


class HealthChecker:
    """A daemon thread of this process checking the remote services that are due."""

    def __init__(self, ctx: PlanFuse, fetch: network.Fetch) -> None:
        self.ctx = ctx
        self.fetch = fetch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="planfuse-remote-health", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                check_due(self.ctx, self.fetch)
                wait = _next_due_s(self.ctx)
            except Exception:  # the database restarting must not end the thread
                log.exception("remote service health checks failed; trying again shortly")
                wait = 5.0
            self._wake.wait(wait)


def health_checker(ctx: PlanFuse, fetch: network.Fetch) -> HealthChecker:
    """This process's checker (started on first use; the web layer passes the client)."""
    return ctx.shared(SHARED_KEY, lambda: HealthChecker(ctx, fetch))


def wake_checker(ctx: PlanFuse) -> None:
    """Have this process's checker, if it runs, look for due checks now."""
    checker = ctx.extras.get(SHARED_KEY)
    if checker is not None:
        checker.wake()
