"""Where the files the server reads beside its Python live: templates, static files, the
JavaScript bundles `npm run build` makes, and the embed protocol's manifest (shared with the
SDK and the widget runtime, which import it at build time)."""

from __future__ import annotations

from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parent
#: The repository (or installation) root.
ROOT = SERVER_DIR.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
#: Where `npm run build` puts the SDK (embed.js) and the widget bundles.
BUILD_DIR = STATIC_DIR / "build"
PROTOCOL_FILE = SERVER_DIR / "embed" / "protocol.json"
