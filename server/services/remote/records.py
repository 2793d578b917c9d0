"""Registered remote services as stored (`remote_services`), and the catalogue entries
made from them.

A registration names the service (zh-CN and English), its department, its kind — one of
:data:`REMOTE_KINDS` — its base URL, optionally its OpenAPI document, and the credential
PlanFuse sends to it (`auth`: HTTP Basic, a bearer token or one header). The credential is
stored sealed (AES-256-GCM under a key derived from the server key, bound to the service
id) and is never shown again: descriptions say only which kind of credential is set.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from planfuse.context import PlanFuse
from planfuse.services.monitoring.spec import Endpoint, ServiceSpec
from planfuse.services.remote.catalogue_entries import PROXY_PREFIX
from planfuse.signing.secret import derived_key
from planfuse.storage.models import RemoteService

log = logging.getLogger("planfuse.remote")

AUTH_KEY_LABEL = b"planfuse/remote-service-auth/v1"
SHARED_KEY = "remote_services"


@dataclass(frozen=True)
class RemoteKind:
    """One kind of remote service: its catalogue kind, interface and the methods proxied."""

    catalogue_kind: str
    interface: str
    name_zh: str
    name_en: str
    methods: tuple[str, ...]


READ = ("GET", "HEAD")
REMOTE_KINDS: dict[str, RemoteKind] = {
    "ogc_features": RemoteKind(
        "data", "OGC API – Features", "OGC API 要素集合", "OGC API – Features collection", READ
    ),
    "wfs": RemoteKind("data", "WFS", "WFS 要素服务", "Web Feature Service", (*READ, "POST")),
    "wms": RemoteKind("data", "WMS", "WMS 地图服务", "Web Map Service", READ),
    "arcgis_feature": RemoteKind(
        "data",
        "ArcGIS REST FeatureServer",
        "ArcGIS 要素服务",
        "ArcGIS REST FeatureServer",
        (*READ, "POST"),
    ),
    "arcgis_map": RemoteKind(
        "data", "ArcGIS REST MapServer", "ArcGIS 地图服务", "ArcGIS REST MapServer", READ
    ),
    "json_api": RemoteKind(
        "function",
        "HTTP JSON (OpenAPI)",
        "JSON 接口",
        "JSON API",
        (*READ, "POST", "PUT", "PATCH", "DELETE"),
    ),
}
AUTH_KINDS = ("none", "basic", "bearer", "header")
#: What `RemoteEntry.describe(admin=True)` adds: the remote's own address, the kind of
#: credential sent to it and who registered it, an administrator's business.
ADMIN_FIELDS = ("base_url", "openapi_url", "auth", "created_by")
#: Health as last checked: up, slow (answered, slower than remote_service_slow_ms), down
#: (no answer, an error status, or not what the kind answers), unknown (not checked yet).
HEALTH_NAMES: dict[str, tuple[str, str]] = {
    "up": ("正常", "Up"),
    "slow": ("缓慢", "Slow"),
    "down": ("不可用", "Down"),
    "unknown": ("未检查", "Not checked yet"),
}
DEFAULT_DESCRIPTION = (
    "部门自有服务，经 PlanFuse 认证和授权代理访问，数据保留在原部门。",
    "A department's own service, proxied under PlanFuse's authentication and grants; the "
    "data stays with the department.",
)


def proxy_path(service_id: str) -> str:
    return f"{PROXY_PREFIX}/{service_id}"


@dataclass(frozen=True)
class RemoteEntry:
    """One registered service as every process caches it (no credential)."""

    id: str
    kind: str
    dept: str
    base_url: str
    openapi_url: str | None
    auth_kind: str
    spec: ServiceSpec
    health_status: str
    health_latency_ms: float | None
    health_http_status: int | None
    health_error: str | None
    health_checked_at: datetime | None
    created_by: str

    @property
    def degraded(self) -> bool:
        return self.health_status in ("down", "slow")

    def health(self) -> dict[str, Any]:
        zh, en = HEALTH_NAMES.get(self.health_status, HEALTH_NAMES["unknown"])
        return {
            "status": self.health_status,
            "status_name": {"zh-CN": zh, "en": en},
            "latency_ms": (
                round(self.health_latency_ms, 1) if self.health_latency_ms is not None else None
            ),
            "http_status": self.health_http_status,
            "error": self.health_error,
            "checked_at": _iso(self.health_checked_at),
        }

    def describe(self, *, admin: bool) -> dict[str, Any]:
        """The remote part of a catalogue entry; the remote's own URLs for admins only."""
        kind = REMOTE_KINDS[self.kind]
        entry: dict[str, Any] = {
            "kind": self.kind,
            "kind_name": {"zh-CN": kind.name_zh, "en": kind.name_en},
            "proxy_path": proxy_path(self.id),
            "methods": list(kind.methods),
            "health": self.health(),
        }
        if admin:
            entry |= {
                "base_url": self.base_url,
                "openapi_url": self.openapi_url,
                "auth": {"type": self.auth_kind, "set": self.auth_kind != "none"},
                "created_by": self.created_by,
            }
        return entry


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def spec_of(row: RemoteService) -> ServiceSpec:
    """The catalogue entry of a registration: every request under its proxy path."""
    kind = REMOTE_KINDS[row.kind]
    return ServiceSpec(
        id=row.id,
        name_zh=row.name_zh,
        name_en=row.name_en,
        kind=kind.catalogue_kind,
        dept=row.dept,
        description_zh=row.description_zh or DEFAULT_DESCRIPTION[0],
        description_en=row.description_en or DEFAULT_DESCRIPTION[1],
        endpoints=(Endpoint(None, proxy_path(row.id), subpaths=True),),
        interface=kind.interface,
        granted_by_default=False,
    )


def entry_of(row: RemoteService) -> RemoteEntry:
    return RemoteEntry(
        id=row.id,
        kind=row.kind,
        dept=row.dept,
        base_url=row.base_url,
        openapi_url=row.openapi_url,
        auth_kind=row.auth_kind,
        spec=spec_of(row),
        health_status=row.health_status,
        health_latency_ms=row.health_latency_ms,
        health_http_status=row.health_http_status,
        health_error=row.health_error,
        health_checked_at=row.health_checked_at,
        created_by=row.created_by,
    )


def read_entries(session: Session) -> dict[str, RemoteEntry]:
    """Every registration, by id (the service framework's snapshot reads this)."""
    rows = session.scalars(select(RemoteService).order_by(RemoteService.id))
    return {row.id: entry_of(row) for row in rows}


class RemoteServices:
    """One process's view of the registrations (health included), re-read at most every
    `service_state_cache_s` seconds; the process that changes one, or checks its health,
    drops it at once."""

    def __init__(self, ctx: PlanFuse, *, clock=time.monotonic):
        self._ctx = ctx
        self._ttl_s = float(ctx.settings.service_state_cache_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, RemoteEntry] | None = None
        self._specs: dict[str, ServiceSpec] = {}
        self._read_at = 0.0

    def entries(self) -> dict[str, RemoteEntry]:
        entries = self._entries
        if entries is not None and self._clock() - self._read_at < self._ttl_s:
            return entries
        with self._lock:
            if self._entries is not None and self._clock() - self._read_at < self._ttl_s:
                return self._entries
            try:
                with self._ctx.db.session() as session:
                    entries = read_entries(session)
            except SQLAlchemyError as exc:
                # The database is down: the last registrations hold.
                log.error("remote services could not be read (%s)", type(exc).__name__)
                entries = self._entries or {}
            self._entries, self._read_at = entries, self._clock()
            self._specs = {sid: entry.spec for sid, entry in entries.items()}
            return entries

    def specs(self) -> dict[str, ServiceSpec]:
        self.entries()
        return self._specs

    def invalidate(self) -> None:
        with self._lock:
            self._entries = None


def remote_state(ctx: PlanFuse) -> RemoteServices:
    return ctx.shared(SHARED_KEY, lambda: RemoteServices(ctx))


def remote_entries(ctx: PlanFuse) -> dict[str, RemoteEntry]:
    """Every registered remote service, by id, as this process last read them."""
    return remote_state(ctx).entries()


def remote_specs(ctx: PlanFuse) -> dict[str, ServiceSpec]:
    """The catalogue entries of the registered remote services, by id."""
    return remote_state(ctx).specs()


# --- the credential sent to the remote ------------------------------------------------


def _auth_cipher(ctx: PlanFuse) -> AESGCM:
    return AESGCM(derived_key(ctx, AUTH_KEY_LABEL))


def seal_auth(ctx: PlanFuse, service_id: str, auth: dict[str, str]) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _auth_cipher(ctx).encrypt(nonce, orjson.dumps(auth), service_id.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def open_auth(ctx: PlanFuse, service_id: str, sealed: str | None) -> dict[str, str] | None:
    """The stored credential, or None (none set, or sealed under another server key)."""
    if not sealed:
        return None
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        return orjson.loads(_auth_cipher(ctx).decrypt(raw[:12], raw[12:], service_id.encode()))
    except (InvalidTag, ValueError, orjson.JSONDecodeError):
        return None


def auth_headers(auth: dict[str, str] | None) -> dict[str, str]:
    """The header(s) carrying the credential to the remote."""
    if not auth:
        return {}
    kind = auth.get("type")
    if kind == "basic":
        pair = f"{auth['username']}:{auth['password']}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    if kind == "bearer":
        return {"Authorization": f"Bearer {auth['token']}"}
    if kind == "header":
        return {auth["name"]: auth["value"]}
    return {}


@dataclass(frozen=True)
class Target:
    """What a call to a remote service needs, credential opened."""

    id: str
    kind: str
    base_url: str
    openapi_url: str | None
    headers: dict[str, str]


def call_target(ctx: PlanFuse, service_id: str) -> Target | None:
    """The registration with its credential's headers, or None when it does not exist."""
    with ctx.db.session() as session:
        row = session.get(RemoteService, service_id)
        if row is None:
            return None
        auth = open_auth(ctx, row.id, row.auth_sealed)
        return Target(row.id, row.kind, row.base_url, row.openapi_url, auth_headers(auth))
