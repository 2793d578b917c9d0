"""The HTTP toolkit every web area shares (Flask, no area of its own): the current
PlanFuse context, JSON responses and downloads, reading request bodies and arguments, the
caller behind a request and the parameters its embed token locked, layer uploads, and the
one mapping from errors to RFC 9457 problems.

Below the areas (admin, api, embed, ogc) and above the services: an area never imports
another area; what two areas share lives here or in a service.
"""
