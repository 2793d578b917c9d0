"""Host apps and their keys, embed-token validation, widget sessions and callers.

Plain functions over a `PlanFuse` context, nothing of HTTP: `planfuse.http.caller` reads
the request's `Authorization` header and hands it to `planfuse.auth.caller.authenticate`.
"""
