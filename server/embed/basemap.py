"""The shared map's optional basemap (e.g. 天地图 with its key), from the `basemap_url` setting.

The map draws PlanFuse's own vector tiles and nothing from the internet unless a deployment
sets `basemap_url` to an XYZ tile URL template. Every widget page then gets

- `basemap_url` in its page configuration (the shared map reads it), and
- the basemap's host in its Content-Security-Policy `img-src` (tiles are images; the map
  never fetches them with `fetch`, so `connect-src` stays `'self'`).

A template whose host holds a placeholder (`https://t{0-7}.tianditu.gov.cn/...`, OpenLayers'
subdomain range) is allowed as a wildcard of the rest of the host (`https://*.tianditu.gov.cn`).
A value that is not such a template is ignored (logged once): a typo must not open the CSP.
"""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import urlsplit

log = logging.getLogger("planfuse.embed")

_PLACEHOLDER = re.compile(r"\{[^{}]{1,16}\}")
_HOST = re.compile(r"^[a-z0-9.-]+$")


@functools.lru_cache(maxsize=8)
def basemap_template(url: str | None) -> str | None:
    """`url` if it is an http(s) XYZ template with {z}, {x} and {y} (or {-y}); else None."""
    if not url:
        return None
    text = url.strip()
    if not (text.startswith("https://") or text.startswith("http://")) or any(
        ch.isspace() or ch in "\"'<>\\" for ch in text
    ):
        log.warning("basemap_url ignored: it must be an http(s) URL template")
        return None
    if "{z}" not in text or "{x}" not in text or ("{y}" not in text and "{-y}" not in text):
        log.warning("basemap_url ignored: the template needs {z}, {x} and {y} (or {-y})")
        return None
    if basemap_csp_source(text) is None:
        log.warning("basemap_url ignored: its host cannot be named in a CSP source")
        return None
    return text


def basemap_csp_source(template: str) -> str | None:
    """The CSP source expression of the template's origin (scheme://host[:port]), with a
    host placeholder turned into a leading wildcard; None when no safe source exists."""
    # Placeholders may stand in the host; anything else ({z}/{x}/{y}, keys) is in the path.
    parts = urlsplit(_PLACEHOLDER.sub("0", template))
    netloc = template.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc or not parts.hostname:
        return None
    host_pattern = netloc.rsplit(":", 1)[0] if parts.port else netloc
    port = f":{parts.port}" if parts.port else ""
    if _PLACEHOLDER.search(host_pattern):
        _, _, rest = host_pattern.partition(".")
        # Only the first label may vary, and what stays must be a real domain (a.b).
        if _PLACEHOLDER.search(rest) or "." not in rest or not _HOST.match(rest.lower()):
            return None
        return f"{parts.scheme}://*.{rest.lower()}{port}"
    if not _HOST.match(host_pattern.lower()):
        return None
    return f"{parts.scheme}://{host_pattern.lower()}{port}"


def basemap_page_parts(url: str | None) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(page configuration entries, extra CSP sources) for the `basemap_url` setting."""
    template = basemap_template(url)
    if template is None:
        return {}, {}
    source = basemap_csp_source(template)
    assert source is not None  # basemap_template only accepts templates that have one
    return {"basemap_url": template}, {"img-src": (source,)}
