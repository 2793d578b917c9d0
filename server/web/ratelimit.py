"""Rate limits (Flask-Limiter): per client IP and per host app, with stricter ones on the
token exchange (`/embed/session`) and the OGC item pages.

Counters live in Redis when `redis_url` is set (shared by every server process), else in
this process's memory; when Redis cannot be reached the limiter keeps counting in memory
rather than failing requests. A request over a limit gets a 429 problem with
`Retry-After`; every limited response carries the IETF RateLimit headers
(`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` in seconds, and
`RateLimit-Policy`) of the limit closest to running out.

The per-app limit counts only requests whose credentials were accepted: a client cannot
spend another app's budget by sending its id with a wrong secret or a forged token.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time

import orjson
from flask import Flask, Response, g, request
from flask_limiter import ApplicationLimit, Limit, Limiter
from limits.storage import MemoryStorage

from planfuse.settings import Settings


class LockedMemoryStorage(MemoryStorage):
    """limits' in-memory counters, their expiry timer restarted under a lock. limits 5.8
    restarts it from every request thread and reads `self.timer` again after assigning
    it, so two threads can start the same timer twice; the second start fails inside
    Python's threading (KeyError in `_bootstrap_inner`) in a threaded server."""

    STORAGE_SCHEME = ("planfuse-memory",)  # type: ignore[assignment]

    def __init__(self, uri: str = "planfuse-memory://", wrap_exceptions: bool = False, **options):
        self._timer_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def __setstate__(self, state: dict) -> None:
        self._timer_lock = threading.Lock()
        super().__setstate__(state)

    def _MemoryStorage__schedule_expiry(self) -> None:  # the base class's private hook
        with self._timer_lock:
            if not self.timer.is_alive():
                timer = threading.Timer(0.01, self._MemoryStorage__expire_events)
                self.timer = timer
                timer.start()


#: Paths never limited: the load balancer's probes and the static files.
EXEMPT_PREFIXES = ("/healthz", "/readyz", "/static/")
OGC_ITEMS_SUFFIX = "/items"


def client_ip(proxy_hops: int) -> str:
    """The client's address: the peer, or — behind `proxy_hops` trusted reverse proxies —
    the address the outermost of them saw (X-Forwarded-For)."""
    peer = request.remote_addr or "unknown"
    if proxy_hops <= 0:
        return peer
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")
    route = [address.strip() for address in forwarded if address.strip()] + [peer]
    # Each trusted proxy appended the address it saw; anything further left is the
    # client's own claim and could be forged.
    return route[-(proxy_hops + 1)] if len(route) > proxy_hops else route[0]


def claimed_app(authorization: str | None) -> str | None:
    """The host app a request's credentials name (Basic user name, or a widget session
    token's `app`), unverified: only a key for counting; see `counted_for_app`."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    try:
        if scheme == "basic":
            user = base64.b64decode(value, validate=True).decode("utf-8").partition(":")[0]
            return user[:64] or None
        if scheme == "bearer" and value.count(".") == 2 and len(value) < 8192:
            payload = value.split(".")[1]
            claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            app = claims.get("app") if isinstance(claims, dict) else None
            return app[:64] if isinstance(app, str) and app else None
    except (ValueError, binascii.Error, UnicodeDecodeError, orjson.JSONDecodeError):
        return None
    return None


def _exempt() -> bool:
    return request.method == "OPTIONS" or request.path.startswith(EXEMPT_PREFIXES)


def _counted_for_app(response: Response) -> bool:
    # 401/403: the credentials were refused, so the app they name did not make the request.
    return response.status_code not in (401, 403)


def register_rate_limits(app: Flask, settings: Settings) -> Limiter | None:
    """Limit `app`'s requests as the settings say; None when `rate_limits_enabled` is off."""
    if not settings.rate_limits_enabled:
        return None
    hops = int(settings.proxy_hops)

    def ip_key() -> str:
        return client_ip(hops)

    def app_key() -> str:
        return "app:" + (claimed_app(request.headers.get("Authorization")) or "")

    def no_app() -> bool:
        return _exempt() or claimed_app(request.headers.get("Authorization")) is None

    def only(path_test):
        return lambda: _exempt() or not path_test(request.path)

    limiter = Limiter(
        ip_key,
        app=app,
        storage_uri=settings.redis_url or "planfuse-memory://",
        strategy="moving-window",
        headers_enabled=False,  # the IETF headers below, with Reset in seconds
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        key_prefix="planfuse-limits",
        application_limits=[
            ApplicationLimit(settings.rate_limit_per_ip, key_function=ip_key, exempt_when=_exempt),
            ApplicationLimit(
                settings.rate_limit_per_app,
                key_function=app_key,
                scope="app",
                exempt_when=no_app,
                deduct_when=_counted_for_app,
            ),
        ],
        default_limits=[
            Limit(
                settings.rate_limit_session_per_ip,
                key_function=ip_key,
                exempt_when=only(lambda path: path == "/embed/session"),
            ),
            Limit(
                settings.rate_limit_ogc_items_per_ip,
                key_function=ip_key,
                exempt_when=only(
                    lambda path: path.startswith("/ogc/") and path.endswith(OGC_ITEMS_SUFFIX)
                ),
            ),
        ],
    )

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        if g.get("_rate_limit_headers_done"):
            return response
        g._rate_limit_headers_done = True
        current = [lim for lim in (limiter.current_limits or []) if lim is not None]
        if not current:
            return response
        # The limit closest to running out is the one the client needs to know.
        tightest = min(current, key=lambda lim: (not lim.breached, lim.remaining))
        reset_s = max(0, int(tightest.reset_at - time.time()))
        amount = tightest.limit.amount
        window_s = tightest.limit.get_expiry()
        response.headers["RateLimit-Limit"] = str(amount)
        response.headers["RateLimit-Remaining"] = str(max(0, tightest.remaining))
        response.headers["RateLimit-Reset"] = str(reset_s)
        response.headers["RateLimit-Policy"] = f"{amount};w={window_s}"
        # A 429 of another limit (an app's rate limit or quota for a service) says its own.
        if response.status_code == 429 and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(max(1, reset_s))
        return response

    return limiter
