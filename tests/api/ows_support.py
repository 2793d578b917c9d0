"""A PlanFuse app served over HTTP from a thread, for the real OGC clients (OWSLib, GDAL's
command-line tools) that the OWS interfaces are tested with; and helpers to read the
exception documents they answer."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

OWS = "{http://www.opengis.net/ows/1.1}"

requires_gdal = pytest.mark.skipif(
    shutil.which("ogrinfo") is None and not os.environ.get("CI"),
    reason="GDAL's command-line tools (Debian gdal-bin, installed by ./bootstrap test)",
)


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` on loopback; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="ows-under-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def gdal(*args: str, env: dict[str, str] | None = None) -> str:
    """Run a GDAL tool; its standard output (fails the test on a non-zero exit). The WMS and
    WMTS drivers' tile cache goes to a temporary folder, not the working directory."""
    with tempfile.TemporaryDirectory(prefix="gdalwmscache-") as cache:
        done = subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **os.environ,
                "GDAL_HTTP_TIMEOUT": "60",
                "GDAL_DEFAULT_WMS_CACHE_PATH": cache,
                **(env or {}),
            },
            check=False,
        )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done.stdout


def exception_of(response) -> tuple[str, str | None, str]:
    """(exceptionCode, locator, text) of an OWS ExceptionReport response."""
    assert response.mimetype in ("application/xml", "text/xml"), response.mimetype
    root = ET.fromstring(response.data)
    assert root.tag == f"{OWS}ExceptionReport", root.tag
    exc = root.find(f"{OWS}Exception")
    assert exc is not None
    return exc.get("exceptionCode"), exc.get("locator"), exc.findtext(f"{OWS}ExceptionText")
