"""Forwarding a caller's request to a department's remote service.

The caller is authenticated and its grant checked by PlanFuse before this runs (the web
adapter, planfuse.api.remote); what is forwarded is the method, the path below the
service's base URL, the query string, the body and a few content-negotiation headers —
never the caller's `Authorization` or cookies. PlanFuse's own credential for the remote, if
one is registered, is added. The answer comes back with its status, its body (at most
`remote_service_max_bytes`, within `remote_service_timeout_s`) and its headers less the
hop-by-hop ones, cookies and authentication challenges. In JSON and XML answers the
remote's own base URL (its self-links, the capabilities' operation URLs) is rewritten to the
proxy's, so clients that follow links stay behind PlanFuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from planfuse.context import PlanFuse
from planfuse.errors import InvalidInput, NotFound
from planfuse.services.remote import network
from planfuse.services.remote.records import REMOTE_KINDS, call_target

#: Request headers passed on to the remote (content negotiation and caching only).
FORWARDED_REQUEST_HEADERS = (
    "Accept",
    "Accept-Language",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
)
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
#: Response headers never passed back: hop-by-hop, the length (recomputed), the remote's
#: cookies and challenges (they would land on PlanFuse's origin), its server banner; nor
#: its CORS headers (Access-Control-*).
DROPPED_RESPONSE_HEADERS = HOP_BY_HOP | {
    "content-length",
    "set-cookie",
    "set-cookie2",
    "www-authenticate",
    "server",
    "x-powered-by",
    "strict-transport-security",
    "alt-svc",
    "location",
    "content-location",
}
REWRITTEN_TYPES = ("json", "xml", "gml")


@dataclass(frozen=True)
class Forwarded:
    """The remote's answer as the proxy returns it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _target_url(base_url: str, path: str, query: str) -> str:
    segments = [s for s in path.split("/") if s]
    if any(s in (".", "..") or "\\" in s for s in segments):
        raise InvalidInput(
            "the path below a remote service may not hold '.' or '..' segments", field="path"
        )
    base = urlsplit(base_url)
    joined = base.path.rstrip("/")
    if segments:
        joined += "/" + "/".join(quote(s, safe="!$&'()*+,;=:@-._~") for s in segments)
        if path.endswith("/"):
            joined += "/"
    joined = joined or "/"
    full_query = "&".join(q for q in (base.query, query) if q)
    return urlunsplit((base.scheme, base.netloc, joined, full_query, ""))


def _kept_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    # The remote's CORS headers would speak for PlanFuse's origin: PlanFuse's own apply.
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in DROPPED_RESPONSE_HEADERS
        and name.lower() not in named
        and not name.lower().startswith("access-control-")
    ]


def _rewrite(body: bytes, content_type: str, base_url: str, public_base: str) -> bytes:
    if not any(t in content_type.lower() for t in REWRITTEN_TYPES):
        return body
    base = base_url.split("?", 1)[0].rstrip("/")
    public = public_base.rstrip("/")
    body = body.replace(base.encode(), public.encode())
    # JSON writers that escape '/'.
    return body.replace(base.replace("/", "\\/").encode(), public.replace("/", "\\/").encode())


def forward(
    ctx: PlanFuse,
    service_id: str,
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_base: str,
    fetch: network.Fetch,
) -> Forwarded:
    """Call remote service `service_id` with the caller's request; its answer."""
    target = call_target(ctx, service_id)
    if target is None:
        raise NotFound(
            "service",
            service_id,
            code="unknown_service",
            hint="GET /api/v1/catalogue lists the services you may use",
        )
    methods = REMOTE_KINDS[target.kind].methods
    if method not in methods:
        raise InvalidInput(
            f"a {target.kind} service is proxied for {', '.join(methods)}, not {method}",
            field="method",
            code="method_not_proxied",
        )
    settings = ctx.settings
    sent = {name: headers[name] for name in FORWARDED_REQUEST_HEADERS if headers.get(name)}
    sent |= {
        "Accept-Encoding": "identity",
        "User-Agent": network.USER_AGENT,
        **target.headers,
    }
    answer = fetch(
        method,
        _target_url(target.base_url, path, query),
        headers=sent,
        body=body if method not in ("GET", "HEAD") else None,
        timeout_s=float(settings.remote_service_timeout_s),
        max_bytes=int(settings.remote_service_max_bytes),
        allow_private=bool(settings.remote_services_allow_private),
    )
    kept = _kept_headers(answer.headers)
    content = answer.body
    if not answer.header("Content-Encoding"):
        content_type = answer.header("Content-Type") or ""
        content = _rewrite(answer.body, content_type, target.base_url, public_base)
    if content is not answer.body and content != answer.body:
        # The remote's validators describe the bytes it sent, not these.
        kept = [(k, v) for k, v in kept if k.lower() not in ("etag", "content-md5")]
    return Forwarded(answer.status, kept, content)
