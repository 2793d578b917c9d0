"""The one HTTP client that calls departments' remote services (planfuse.services.remote).

Every call is checked as planfuse.services.remote.network says (http(s) only, and every
address the host resolves to allowed), then connects to the address that was checked — a
name resolving elsewhere a moment later is not followed, and the certificate is still
checked for the name. Redirects are followed only within the first URL's origin, each
checked the same way; any other is refused. The whole answer must come within `timeout_s`
and hold at most `max_bytes`; what goes wrong is an UpstreamFailed (502) or
UpstreamTimeout (504) naming what happened.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from planfuse.errors import UpstreamFailed, UpstreamTimeout
from planfuse.services.remote.network import (
    AddressRefused,
    Resolver,
    check_url_shape,
    checked_address,
    origin,
    system_resolve,
)

MAX_REDIRECTS = 3
CHUNK = 65536
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Answer:
    """What a remote service answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed_ms: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to an address checked beforehand (Host still the name)."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; the certificate is checked for the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _remaining(deadline: float, timeout_s: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise UpstreamTimeout(
            f"the remote service did not {what} within {timeout_s:g} s (remote_service_timeout_s)",
            code="remote_timeout",
        )
    return left


def _read_body(
    response: http.client.HTTPResponse,
    connection: http.client.HTTPConnection,
    deadline: float,
    timeout_s: float,
    max_bytes: int,
) -> bytes:
    declared = response.getheader("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise UpstreamFailed(
            f"the remote service's answer is {int(declared)} bytes, more than the "
            f"{max_bytes} accepted (remote_service_max_bytes)",
            code="remote_too_large",
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        if connection.sock is not None:
            connection.sock.settimeout(_remaining(deadline, timeout_s, "answer in full"))
        chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
        if not chunk:
            if declared and declared.isdigit() and size < int(declared):
                raise UpstreamFailed(
                    f"the remote service's answer ended after {size} of the {declared} bytes "
                    "it announced",
                    code="remote_bad_answer",
                )
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise UpstreamFailed(
                f"the remote service's answer is larger than the {max_bytes} bytes accepted "
                "(remote_service_max_bytes)",
                code="remote_too_large",
            )
        chunks.append(chunk)


def fetch(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout_s: float,
    max_bytes: int,
    allow_private: bool,
    resolve: Resolver = system_resolve,
) -> Answer:
    """Call a remote service (see the module docstring for what is checked)."""
    started = time.monotonic()
    deadline = started + timeout_s
    home = origin(url)
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            scheme, host, port = check_url_shape(url)
            address = checked_address(host, port, allow_private, resolve)
        except AddressRefused as exc:
            raise UpstreamFailed(
                f"the remote service's address is refused: {exc.message}", code=exc.code
            ) from None
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        connection = kind(host, port, address, _remaining(deadline, timeout_s, "answer"))
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            if connection.sock is not None:
                connection.sock.settimeout(_remaining(deadline, timeout_s, "answer"))
            response = connection.getresponse()
            location = response.getheader("Location")
            if response.status in REDIRECTS and location:
                response.read(CHUNK)
                next_url = urljoin(url, location)
                try:
                    same = origin(next_url) == home
                except AddressRefused:
                    same = False
                if not same:
                    raise UpstreamFailed(
                        "the remote service redirected to another address; PlanFuse follows "
                        "redirects only within the registered service's origin "
                        f"({home[0]}://{home[1]}:{home[2]})",
                        code="remote_redirect_refused",
                    )
                url = next_url
                if response.status == 303:
                    method, body = "GET", None
                continue
            content = _read_body(response, connection, deadline, timeout_s, max_bytes)
            return Answer(
                response.status,
                response.getheaders(),
                content,
                (time.monotonic() - started) * 1000,
            )
        except TimeoutError:
            raise UpstreamTimeout(
                f"the remote service did not answer within {timeout_s:g} s "
                "(remote_service_timeout_s)",
                code="remote_timeout",
            ) from None
        except ssl.SSLError as exc:
            raise UpstreamFailed(
                "the TLS connection to the remote service failed "
                f"({exc.reason or type(exc).__name__})",
                code="remote_tls_failed",
            ) from None
        except (http.client.HTTPException, ValueError) as exc:
            raise UpstreamFailed(
                f"the remote service answered something that is not HTTP ({type(exc).__name__})",
                code="remote_bad_answer",
            ) from None
        except OSError as exc:
            raise UpstreamFailed(
                f"the remote service cannot be reached ({type(exc).__name__}: "
                f"{exc.strerror or exc})",
                code="remote_unreachable",
            ) from None
        finally:
            connection.close()
    raise UpstreamFailed(
        f"the remote service redirected more than {MAX_REDIRECTS} times",
        code="remote_redirect_refused",
    )
