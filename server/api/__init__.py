"""The JSON API under /api/v1: one blueprint, one module per area.

Views only adapt HTTP to the services in `planfuse.services`; they parse the request,
call a plain function and return its data.
"""

from __future__ import annotations

from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Route modules register themselves on `api_bp` when imported.
# Other areas' API routes (embedding and host apps).
import planfuse.admin.api  # noqa: E402
import planfuse.api.compliance  # noqa: E402
import planfuse.embed.api  # noqa: E402, F401
from planfuse.api import conflicts, jobs, layers, openapi, siting  # noqa: E402, F401
