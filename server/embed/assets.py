"""Static assets gzip-compressed for browsers that accept it.

Widget bundles are large (the map library alone is a few hundred KB minified) and often
served straight from `planfuse serve` without a compressing proxy in front; gzip cuts them
to about a third. Each file is compressed once per version (path, mtime, size) and kept in
memory; the compressed variant has its own ETag.
"""

from __future__ import annotations

import gzip
import os
from functools import lru_cache
from pathlib import Path

from flask import Response, request, send_from_directory
from werkzeug.security import safe_join

COMPRESSIBLE_SUFFIXES = frozenset({".js", ".css", ".json", ".svg", ".map", ".html", ".txt"})
#: Below this, gzip saves less than the header costs.
MIN_COMPRESS_BYTES = 1024
#: Copied from the plain response to the compressed one.
CACHE_HEADERS = ("Cache-Control", "Expires", "Last-Modified", "Content-Disposition")


@lru_cache(maxsize=128)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    # mtime=0: the same file always compresses to the same bytes (stable ETag across workers).
    return gzip.compress(Path(path).read_bytes(), compresslevel=9, mtime=0)


def _accepts_gzip() -> bool:
    return request.accept_encodings["gzip"] > 0


def send_asset(directory: str | os.PathLike, filename: str, *, max_age: int) -> Response:
    """`send_from_directory`, answered gzip-compressed when the client accepts it."""
    plain = send_from_directory(directory, filename, max_age=max_age)
    plain.vary.add("Accept-Encoding")
    path = safe_join(os.fspath(directory), filename)
    if (
        plain.status_code != 200
        or path is None
        or Path(path).suffix.lower() not in COMPRESSIBLE_SUFFIXES
        or not _accepts_gzip()
    ):
        return plain
    stat = os.stat(path)
    if stat.st_size < MIN_COMPRESS_BYTES:
        return plain
    body = _gzipped(path, stat.st_mtime_ns, stat.st_size)
    plain.close()
    compressed = Response(body, status=200, mimetype=plain.mimetype)
    compressed.content_type = plain.content_type
    for name in CACHE_HEADERS:
        if name in plain.headers:
            compressed.headers[name] = plain.headers[name]
    compressed.headers["Content-Encoding"] = "gzip"
    compressed.vary.add("Accept-Encoding")
    etag, weak = plain.get_etag()
    if etag:
        compressed.set_etag(f"{etag}-gz", weak=weak)
    return compressed.make_conditional(request)
