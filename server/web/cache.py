"""The shared cache (flask-caching): Redis when configured, else in-process.

The cache only ever saves work, so it never fails a request: when Redis cannot be reached
(stopped, restarting, a network fault) a read is a miss and a write is dropped, and Redis is
left alone for `RETRY_S` before the next try, so a dead server costs one quick connection
attempt every few seconds rather than one per request. Service comes back by itself when
Redis does. `probe()` tells /readyz and the service page whether the cache answers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask
from flask_caching import Cache

from planfuse.http.context import CACHE_KEY
from planfuse.settings import Settings

log = logging.getLogger("planfuse.cache")

#: After a failure, how long the cache is bypassed before Redis is tried again.
RETRY_S = 5.0
#: Connecting to and answering from Redis: a cache that takes longer is worth nothing.
REDIS_CONNECT_TIMEOUT_S = 0.5
REDIS_SOCKET_TIMEOUT_S = 1.0


class FailSafeCache:
    """`get`, `set`, `delete` of a flask-caching cache that never raise."""

    def __init__(self, cache: Cache, *, retry_s: float = RETRY_S):
        self.cache = cache
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.last_error: str | None = None

    @property
    def down(self) -> bool:
        """Whether the cache is being bypassed after a failure."""
        return time.monotonic() < self._down_until

    def get(self, key: str) -> Any:
        if self.down:
            return None
        try:
            value = self.cache.get(key)
        except Exception as exc:  # any backend error: a miss
            self._failed(exc)
            return None
        self._recovered()
        return value

    def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
        if self.down:
            return False
        try:
            done = bool(self.cache.set(key, value, timeout=timeout))
        except Exception as exc:  # any backend error: dropped
            self._failed(exc)
            return False
        self._recovered()
        return done

    def delete(self, key: str) -> bool:
        if self.down:
            return False
        try:
            return bool(self.cache.delete(key))
        except Exception as exc:
            self._failed(exc)
            return False

    def probe(self) -> tuple[bool, str | None]:
        """(answers, why not): a value written and read back, bypassing the pause."""
        try:
            self.cache.set("readiness-probe", "1", timeout=60)
            ok = self.cache.get("readiness-probe") == "1"
        except Exception as exc:
            self._failed(exc)
            return False, f"{type(exc).__name__}: {str(exc)[:200]}"
        if not ok:
            return False, "a value written could not be read back"
        self._recovered()
        return True, None

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self.retry_s
            self.last_error = type(exc).__name__
        if first:
            log.warning("cache unreachable (%s); serving without it", type(exc).__name__)

    def _recovered(self) -> None:
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    self.last_error = None
                    log.warning("cache reachable again")


def init_cache(app: Flask, settings: Settings) -> FailSafeCache:
    if settings.redis_url:
        config: dict[str, Any] = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": settings.redis_url,
            "CACHE_KEY_PREFIX": "planfuse:",
            "CACHE_OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
                "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
            },
        }
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 20_000}
    config["CACHE_DEFAULT_TIMEOUT"] = settings.cache_timeout_s
    cache = Cache(config=config)
    cache.init_app(app)
    safe = FailSafeCache(cache)
    app.extensions[CACHE_KEY] = safe
    return safe
