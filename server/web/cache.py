"""The shared cache (flask-caching): Redis when configured, else in-process."""

from __future__ import annotations

from flask import Flask
from flask_caching import Cache

from planfuse.settings import Settings


def init_cache(app: Flask, settings: Settings) -> Cache:
    if settings.redis_url:
        config = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": settings.redis_url,
            "CACHE_KEY_PREFIX": "planfuse:",
        }
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 20_000}
    config["CACHE_DEFAULT_TIMEOUT"] = settings.cache_timeout_s
    cache = Cache(config=config)
    cache.init_app(app)
    app.extensions["planfuse_cache"] = cache
    return cache
