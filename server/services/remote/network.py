"""Which addresses a remote service may have (the HTTP client that calls them, in the web
toolkit, is planfuse.http.outbound).

Server-side request forgery: PlanFuse calls URLs an administrator typed in, from inside the
network. Only `http` and `https` URLs without credentials are accepted, and every address
the host name resolves to must be a public one — not loopback, private, link-local,
shared, multicast or reserved — unless `remote_services_allow_private` is on (an intranet
deployment). The check is made at registration and again on every call, after DNS
resolution; the connection then goes to the address that was checked (a name that
resolves elsewhere a moment later is not followed). Redirects are followed only within the
registered service's origin, each checked the same way; any other is refused.

The client is passed in where it is needed (:data:`Fetch`): services know nothing of HTTP.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

from planfuse.errors import InvalidInput

SCHEMES = ("http", "https")
URL_MAX = 2000
USER_AGENT = "PlanFuse-Remote/1"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses``; tests replace it to make a name resolve elsewhere.
Resolver = Callable[[str, int], list[str]]


class AddressRefused(Exception):
    """A URL or address a remote service may not have; `message` says why."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def is_allowed_address(address: Address, allow_private: bool) -> bool:
    """Whether PlanFuse may connect to `address` (see the module docstring)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified or address.is_multicast:
        return False
    if allow_private:
        return True
    return address.is_global and not address.is_reserved


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def check_url_shape(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL without credentials, else
    :class:`AddressRefused`."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise AddressRefused(
            f"the URL must be an absolute http:// or https:// URL of at most {URL_MAX} characters",
            "invalid_remote_url",
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise AddressRefused(
            f"{url!r}: only http:// and https:// URLs are accepted "
            f"(not {parts.scheme or 'a relative URL'!r})",
            "remote_url_scheme",
        )
    if not parts.hostname:
        raise AddressRefused(f"{url!r} names no host", "invalid_remote_url")
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(
            f"{url!r} holds credentials: give them as the service's `auth`, which is stored "
            "sealed and never shown",
            "remote_url_credentials",
        )
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise AddressRefused(f"{url!r} has an invalid port", "invalid_remote_url") from None
    return parts.scheme.lower(), parts.hostname, port


def checked_address(
    host: str, port: int, allow_private: bool, resolve: Resolver = system_resolve
) -> str:
    """The address to connect to for `host`: every address it resolves to must be allowed
    (one private address among public ones refuses it all)."""
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        found = [str(literal)]
    else:
        try:
            found = resolve(host, port)
        except (OSError, UnicodeError):
            raise AddressRefused(
                f"the host {host!r} does not resolve (DNS)", "remote_host_unknown"
            ) from None
        if not found:
            raise AddressRefused(f"the host {host!r} does not resolve (DNS)", "remote_host_unknown")
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not is_allowed_address(address, allow_private):
            raise AddressRefused(
                f"the host {host!r} resolves to {address}, a loopback, private, link-local or "
                "reserved address; such addresses are refused unless the setting "
                "remote_services_allow_private is on",
                "remote_address_refused",
            )
    return found[0]


def check_registered_url(
    url: object, field: str, allow_private: bool, resolve: Resolver = system_resolve
) -> str:
    """A URL an administrator registers, checked as it will be called (InvalidInput naming
    `field` otherwise)."""
    try:
        if not isinstance(url, str):
            raise AddressRefused(
                "the URL must be an absolute http:// or https:// URL", "invalid_remote_url"
            )
        url = url.strip()
        _, host, port = check_url_shape(url)
        if urlsplit(url).fragment:
            raise AddressRefused(
                f"{url!r}: a URL of a service has no #fragment", "invalid_remote_url"
            )
        checked_address(host, port, allow_private, resolve)
    except AddressRefused as exc:
        raise InvalidInput(f"`{field}`: {exc.message}", field=field, code=exc.code) from None
    return url


def origin(url: str) -> tuple[str, str, int]:
    scheme, host, port = check_url_shape(url)
    return scheme, host.lower(), port


class Fetch(Protocol):
    """Calls a remote service: planfuse.http.outbound.fetch (tests may pass their own).
    Answers an object with `status`, `headers` (pairs), `body`, `elapsed_ms` and
    `header(name)`; raises UpstreamFailed / UpstreamTimeout."""

    def __call__(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout_s: float,
        max_bytes: int,
        allow_private: bool,
    ) -> Any: ...
