"""Embedding: widget pages, the token → session exchange, the SDK, the manifest, the
widget registry, and the sample host application.

`embed_bp` is registered by `planfuse.web.register_web`; the API routes of this area
(`/api/v1/embed-tokens`) live in `planfuse.embed.api` on the API blueprint.
"""
