"""Chains published by administrators (服务串联发布): each is a function service of the
catalogue, run at `POST /api/v1/services/{id}/run` like a shipped chain.

Versions are append-only rows of `published_chains`: publishing a changed document under
an id publishes its next version (1 for a new id); each version's document is kept, so a
caller may pin one (`?version=N`) and every run records the version it ran. A chain is
unpublished by stopping it (`POST /api/v1/admin/services/{id}/stop`). The id of a service
declared in code (a shipped chain included) cannot be taken.

Every server process keeps the latest version of each chain and re-reads them at most
every `service_state_cache_s` seconds; the process that publishes at once.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from planfuse.context import PlanFuse
from planfuse.errors import Conflict, InvalidInput, NotFound
from planfuse.services.chains.catalogue_entries import chain_service
from planfuse.services.chains.document import Chain, chain_from_document
from planfuse.services.monitoring.catalogue import SERVICES_BY_ID
from planfuse.services.monitoring.departments import list_departments
from planfuse.services.monitoring.spec import ServiceSpec
from planfuse.storage.models import PublishedChain, RemoteService
from planfuse.storage.models.base import utcnow

log = logging.getLogger("planfuse.chains")

SHARED_KEY = "published_chains"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # SQLite drops the zone; stored as UTC
    return value.isoformat(timespec="seconds")


class PublishedChains:
    """One process's view of the latest version of every published chain."""

    def __init__(self, ctx: PlanFuse, *, clock=time.monotonic):
        self._ctx = ctx
        self._ttl_s = float(ctx.settings.service_state_cache_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, dict[str, Any]] | None = None
        self._specs: dict[str, ServiceSpec] = {}
        self._read_at = 0.0

    def latest(self) -> dict[str, dict[str, Any]]:
        """Chain id → the document of its latest version."""
        latest = self._latest
        if latest is not None and self._clock() - self._read_at < self._ttl_s:
            return latest
        with self._lock:
            if self._latest is not None and self._clock() - self._read_at < self._ttl_s:
                return self._latest
            try:
                documents = self._read()
            except SQLAlchemyError as exc:
                log.error("published chains could not be read (%s)", type(exc).__name__)
                documents = self._latest or {}
            if documents != self._latest:
                self._specs = {cid: chain_service(doc) for cid, doc in documents.items()}
            self._latest, self._read_at = documents, self._clock()
            return documents

    def specs(self) -> dict[str, ServiceSpec]:
        """Chain id → its catalogue entry (the latest version's)."""
        self.latest()
        return self._specs

    def invalidate(self) -> None:
        with self._lock:
            self._latest = None

    def _read(self) -> dict[str, dict[str, Any]]:
        newest = (
            select(PublishedChain.chain_id, func.max(PublishedChain.version).label("version"))
            .group_by(PublishedChain.chain_id)
            .subquery()
        )
        query = (
            select(PublishedChain)
            .join(
                newest,
                (PublishedChain.chain_id == newest.c.chain_id)
                & (PublishedChain.version == newest.c.version),
            )
            .order_by(PublishedChain.chain_id)
        )
        with self._ctx.db.session() as session:
            return {row.chain_id: row.document for row in session.scalars(query)}


def published_state(ctx: PlanFuse) -> PublishedChains:
    return ctx.shared(SHARED_KEY, lambda: PublishedChains(ctx))


def published_specs(ctx: PlanFuse) -> dict[str, ServiceSpec]:
    """The catalogue entries of the published chains (latest versions), by id."""
    return published_state(ctx).specs()


def published_chains(ctx: PlanFuse) -> dict[str, Chain]:
    """The latest version of every published chain, by id."""
    return {cid: chain_from_document(doc) for cid, doc in published_state(ctx).latest().items()}


def _unknown(chain_id: str, version: int | None = None) -> NotFound:
    if version is None:
        return NotFound(
            "chain",
            chain_id,
            code="unknown_chain",
            hint="GET /api/v1/admin/chains lists the published chains",
        )
    return NotFound(
        "chain version",
        f"{chain_id} v{version}",
        code="unknown_chain_version",
        hint=f"GET /api/v1/admin/chains/{chain_id} lists its versions",
    )


def published_chain(ctx: PlanFuse, chain_id: str, version: int | None = None) -> Chain:
    """A published chain: its latest version, or version `version`; NotFound otherwise."""
    if version is None:
        document = published_state(ctx).latest().get(chain_id)
        if document is None:
            raise _unknown(chain_id)
        return chain_from_document(document)
    with ctx.db.session() as session:
        row = session.scalars(
            select(PublishedChain).where(
                PublishedChain.chain_id == chain_id, PublishedChain.version == version
            )
        ).first()
        if row is None:
            raise _unknown(chain_id, version)
        return chain_from_document(row.document)


def _version_entry(row: PublishedChain, *, document: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "version": row.version,
        "published_by": row.published_by,
        "published_at": _iso(row.published_at),
    }
    if document:
        entry["document"] = row.document
    return entry


def chain_versions(ctx: PlanFuse, chain_id: str) -> dict[str, Any]:
    """A published chain's versions, newest first, with the latest document."""
    with ctx.db.session() as session:
        rows = list(
            session.scalars(
                select(PublishedChain)
                .where(PublishedChain.chain_id == chain_id)
                .order_by(PublishedChain.version.desc())
            )
        )
        if not rows:
            raise _unknown(chain_id)
        return {
            "id": chain_id,
            "latest_version": rows[0].version,
            "dept": rows[0].dept,
            "name": rows[0].document["name"],
            "document": rows[0].document,
            "versions": [_version_entry(row, document=False) for row in rows],
        }


def chain_version(ctx: PlanFuse, chain_id: str, version: int) -> dict[str, Any]:
    """One published version with its document."""
    with ctx.db.session() as session:
        row = session.scalars(
            select(PublishedChain).where(
                PublishedChain.chain_id == chain_id, PublishedChain.version == version
            )
        ).first()
        if row is None:
            raise _unknown(chain_id, version)
        return {"id": chain_id, **_version_entry(row, document=True)}


def list_published(ctx: PlanFuse) -> list[dict[str, Any]]:
    """Every published chain: id, names, department, latest version, version count."""
    with ctx.db.session() as session:
        counts = dict(
            session.execute(
                select(PublishedChain.chain_id, func.count()).group_by(PublishedChain.chain_id)
            ).all()
        )
    return [
        {
            "id": cid,
            "name": doc["name"],
            "dept": doc["dept"],
            "latest_version": doc["version"],
            "versions": counts.get(cid, 0),
        }
        for cid, doc in published_state(ctx).latest().items()
    ]


def _without_version(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "version"}


def publish_chain(
    ctx: PlanFuse, body: Any, *, by: str, check: Callable[[dict[str, Any]], Chain]
) -> tuple[dict[str, Any], bool]:
    """Publish a chain document: its next version (1 for a new id), checked by `check` as
    `POST /api/v1/chains/validate` checks it. The `version` the document carries is
    replaced by the one assigned. A document equal to the latest version publishes
    nothing. Returns (the version's entry with its document, whether one was created)."""
    if not isinstance(body, dict):
        raise InvalidInput("send the chain document as a JSON object", field="body")
    chain_id = body.get("id")
    if isinstance(chain_id, str) and chain_id in SERVICES_BY_ID:
        shipped = SERVICES_BY_ID[chain_id]
        raise Conflict(
            f"id {chain_id!r} is taken by the service {shipped.name_en!r} ({shipped.name_zh}) "
            "that PlanFuse ships; publish the chain under an id of its own",
            code="service_id_taken",
            errors=[{"field": "id", "message": f"{chain_id!r} is a shipped service"}],
        )
    if isinstance(chain_id, str):
        with ctx.db.session() as session:
            remote = session.get(RemoteService, chain_id)
            if remote is not None:
                raise Conflict(
                    f"id {chain_id!r} is taken by the department's registered service "
                    f"{remote.name_en!r} ({remote.name_zh}); publish the chain under an id of "
                    "its own",
                    code="service_id_taken",
                    errors=[{"field": "id", "message": f"{chain_id!r} is a registered service"}],
                )
    dept = body.get("dept")
    departments = {d.id for d in list_departments(ctx)}
    if isinstance(dept, str) and dept not in departments:
        raise InvalidInput(
            f"department {dept!r} is unknown; expected one of {', '.join(sorted(departments))}",
            field="dept",
        )
    with ctx.db.session() as session:
        newest = (
            session.scalars(
                select(PublishedChain)
                .where(PublishedChain.chain_id == chain_id)
                .order_by(PublishedChain.version.desc())
                .limit(1)
            ).first()
            if isinstance(chain_id, str)
            else None
        )
        current = (newest.version, newest.document) if newest is not None else (0, None)
    document = copy.deepcopy(body)
    document["version"] = current[0] + 1
    if current[1] is not None and _without_version(current[1]) == _without_version(document):
        return chain_version(ctx, chain_id, current[0]), False
    chain = check(document)
    try:
        with ctx.db.session() as session:
            row = PublishedChain(
                chain_id=chain.id,
                version=document["version"],
                dept=chain.dept,
                document=document,
                published_by=by,
                published_at=utcnow(),
            )
            session.add(row)
    except IntegrityError:
        raise Conflict(
            f"chain {chain_id!r} was published by someone else at the same time; "
            "read its latest version and publish again",
            code="chain_published_concurrently",
        ) from None
    published_state(ctx).invalidate()
    return chain_version(ctx, chain.id, document["version"]), True
