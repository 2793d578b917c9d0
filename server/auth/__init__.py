"""Host apps and their keys, embed-token validation, widget sessions and caller auth.

Plain functions over a `PlanFuse` context; only `planfuse.auth.caller` reads the Flask
request (it is the helper the HTTP adapters call).
"""
