"""The service catalogue (服务目录): every service PlanFuse offers, and which service a
request belongs to.

Services are declared as data (:class:`~planfuse.services.monitoring.spec.ServiceSpec`)
next to the code that serves them, and listed here in :data:`REGISTERED` — the one place a
new service is added (docs/services.md). Departments' remote services, registered at run
time, are records in the database and join these in the catalogue listing.

A request is attributed to the service of the most specific endpoint it matches (most
literal path segments, then exact paths before sub-path ranges, then query and method
conditions); a request that matches no endpoint by method and query is attributed by its
path alone, and one that matches nothing to :data:`OTHER`. The web layer resolves a Flask
endpoint once when only one service can answer it (:meth:`ServiceMatcher.for_rule`).
"""

from __future__ import annotations

from collections.abc import Mapping

from planfuse.services.approval import catalogue_entries as approval
from planfuse.services.chains import catalogue_entries as chains
from planfuse.services.features import catalogue_entries as data_services
from planfuse.services.monitoring import builtin
from planfuse.services.monitoring.spec import KINDS, Endpoint, ServiceSpec
from planfuse.services.plan_monitoring import catalogue_entries as plan_monitoring
from planfuse.services.remote import catalogue_entries as remote
from planfuse.services.reserve import catalogue_entries as reserve
from planfuse.services.webhooks import catalogue_entries as webhooks

#: Every service declared in code. Add yours here: `*your_package.catalogue_entries.SERVICES`.
REGISTERED: tuple[ServiceSpec, ...] = (
    *builtin.SERVICES,
    *reserve.SERVICES,
    *approval.SERVICES,
    *plan_monitoring.SERVICES,
    *chains.SERVICES,
    *webhooks.SERVICES,
    *data_services.SERVICES,
    *remote.SERVICES,
)

OTHER = "other"
OTHER_SERVICE = ServiceSpec(
    id=OTHER,
    name_zh="其他",
    name_en="Other (home, probes, static files)",
    kind="platform",
    dept=builtin.NR,
    description_zh="首页、健康探针、静态文件和无法归属的请求。",
    description_en="The home page, health probes, static files and unmatched requests.",
    endpoints=(Endpoint(None, "/", subpaths=True),),
)

SERVICES: tuple[ServiceSpec, ...] = (*REGISTERED, OTHER_SERVICE)


def _by_id(services: tuple[ServiceSpec, ...]) -> dict[str, ServiceSpec]:
    found: dict[str, ServiceSpec] = {}
    for service in services:
        if service.id in found:
            raise ValueError(f"service id {service.id!r} is declared twice")
        found[service.id] = service
    return found


SERVICES_BY_ID: dict[str, ServiceSpec] = _by_id(SERVICES)
assert all(s.kind in KINDS for s in SERVICES)


def _specificity(item: tuple[Endpoint, str]) -> tuple:
    endpoint = item[0]
    return (
        -endpoint.literal_segments,
        endpoint.subpaths,
        -len(endpoint.query),
        endpoint.method is None,
    )


def _path_rank(endpoint: Endpoint) -> tuple[int, bool]:
    return (-endpoint.literal_segments, endpoint.subpaths)


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


class ServiceMatcher:
    """Attributes requests to services (one per set of services; see :func:`matcher`)."""

    def __init__(self, services: tuple[ServiceSpec, ...]):
        self.endpoints: tuple[tuple[Endpoint, str], ...] = tuple(
            sorted(
                ((e, s.id) for s in services if s.id != OTHER for e in s.endpoints),
                key=_specificity,
            )
        )

    def resolve(
        self,
        method: str,
        path: str,
        args: Mapping[str, str] | None = None,
        candidates: tuple[tuple[Endpoint, str], ...] | None = None,
    ) -> str:
        """The id of the service answering a request (method, path, query arguments)."""
        segments = _segments(path)
        pool = self.endpoints if candidates is None else candidates
        args = args or {}
        # The most specific path wins; among endpoints as specific, the one whose method and
        # query match, else the first (OPTIONS, an unknown `by`: attributed by path).
        first: tuple[Endpoint, str] | None = None
        for endpoint, service_id in pool:
            if first is not None and _path_rank(endpoint) != _path_rank(first[0]):
                break
            if not endpoint.matches_path(segments):
                continue
            if endpoint.matches(method, segments, args):
                return service_id
            first = first or (endpoint, service_id)
        if first is not None:
            return first[1]
        return OTHER

    def for_rule(self, rule: str) -> str | tuple[tuple[Endpoint, str], ...]:
        """For a Flask route rule: the service id when every request of the rule belongs
        to one service, else the endpoints its requests may match (to `resolve` among)."""
        rule_segments = _segments(rule)
        candidates = tuple(
            (e, sid) for e, sid in self.endpoints if e.could_match_rule(rule_segments)
        )
        if not candidates:
            return OTHER
        ids = {sid for _, sid in candidates}
        # One service, and one of its endpoints takes every path of the rule: whatever the
        # method and query, `resolve` ends there.
        if len(ids) == 1 and any(_covers(e, rule_segments) for e, _ in candidates):
            return candidates[0][1]
        return candidates


def _covers(endpoint: Endpoint, rule_segments: tuple[str, ...]) -> bool:
    """Whether every request of the rule matches the endpoint's path."""
    own = endpoint.segments
    if any(s.startswith("<path:") for s in rule_segments[: len(own)]):
        return False
    if len(rule_segments) < len(own) or (len(rule_segments) > len(own) and not endpoint.subpaths):
        return False
    for mine, theirs in zip(own, rule_segments, strict=False):
        if mine.startswith("{"):
            continue
        if mine != theirs:
            return False
    return True


_MATCHER = ServiceMatcher(SERVICES)


def service_for_request(method: str, path: str, args: Mapping[str, str] | None = None) -> str:
    """The id of the code-declared service answering a request."""
    return _MATCHER.resolve(method, path, args)


def service_for_path(path: str) -> str:
    """The id of the service answering a GET of `path` (a request path)."""
    return _MATCHER.resolve("GET", path)


def matcher() -> ServiceMatcher:
    """The matcher of the code-declared services."""
    return _MATCHER
