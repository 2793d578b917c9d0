"""Servers a department might run, for the remote-services tests: a second PlanFuse
instance over its own database (restartable on the same port), and tiny HTTP servers that
echo, sleep, redirect, send garbage or too much."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from werkzeug.serving import make_server


class Restartable:
    """A WSGI app served on loopback from a thread; `stop()` closes the port, `start()`
    opens the same port again."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = 0
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
                break
            except OSError:  # the port is still being released
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Echo:
    url: str
    seen: list[Seen] = field(default_factory=list)


Behaviour = Callable[[BaseHTTPRequestHandler, Echo], None]


def _echo_answer(handler: BaseHTTPRequestHandler, echo: Echo) -> None:
    body = b'{"ok": true, "self": "' + echo.url.encode() + b'/api/things/1"}'
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close, X-Hop")
    handler.send_header("X-Hop", "1")
    handler.send_header("Keep-Alive", "timeout=5")
    handler.send_header("Set-Cookie", "remote_session=abc; Path=/")
    handler.send_header("WWW-Authenticate", 'Basic realm="remote"')
    handler.send_header("X-Remote", "kept")
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def http_server(behaviour: Behaviour = _echo_answer) -> Iterator[Echo]:
    """A loopback HTTP server recording each request and answering with `behaviour`."""
    echo = Echo(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            echo.seen.append(Seen(self.command, self.path, headers, body))
            with suppress(BrokenPipeError, ConnectionResetError):
                behaviour(self, echo)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any

        def log_message(self, *args):
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    echo.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield echo
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def raw_server(answer: bytes) -> Iterator[str]:
    """A loopback TCP server that reads a request and writes `answer` (not HTTP)."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(2)
            try:
                self.request.recv(65536)
                self.request.sendall(answer)
            except OSError:
                pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
