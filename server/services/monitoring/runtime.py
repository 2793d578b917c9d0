"""Services registered at run time, beside those declared in code: the chains
administrators publish (planfuse.services.chains.published) and the departments' remote
services (planfuse.services.remote). They join the catalogue listing, the gate's
attribution, start and stop, and grants like any declared service.
"""

from __future__ import annotations

from planfuse.context import PlanFuse
from planfuse.services.chains.published import published_specs
from planfuse.services.monitoring.catalogue import OTHER, SERVICES_BY_ID, ServiceMatcher
from planfuse.services.monitoring.spec import ServiceSpec
from planfuse.services.remote.records import remote_specs

_MATCHER_KEY = "runtime_service_matcher"
#: Where the services registered at run time answer: other paths (the probes, static
#: files) never wait for their records.
RUNTIME_PREFIXES = ("/api/v1/services/",)


def runtime_services(ctx: PlanFuse) -> dict[str, ServiceSpec]:
    """The services registered at run time, by id (published chains, remote services)."""
    return {**published_specs(ctx), **remote_specs(ctx)}


def find_service(ctx: PlanFuse, service_id: str) -> ServiceSpec | None:
    """A service declared in code or registered at run time, or None."""
    return SERVICES_BY_ID.get(service_id) or runtime_services(ctx).get(service_id)


def every_service(ctx: PlanFuse) -> dict[str, ServiceSpec]:
    """Every service by id: those declared in code, then those registered at run time."""
    return {**SERVICES_BY_ID, **runtime_services(ctx)}


def runtime_service_for_request(ctx: PlanFuse, method: str, path: str, args) -> str | None:
    """The run-time service a request belongs to, or None."""
    if not path.startswith(RUNTIME_PREFIXES):
        return None
    services = runtime_services(ctx)
    if not services:
        return None
    specs = tuple(services.values())
    holder = ctx.shared(_MATCHER_KEY, lambda: {})
    known = holder.get("pair")
    if known is None or known[0] != specs:
        known = holder["pair"] = (specs, ServiceMatcher(specs))
    found = known[1].resolve(method, path, args)
    return None if found == OTHER else found
