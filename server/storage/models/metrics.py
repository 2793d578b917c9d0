"""Service metrics: per minute and service, the request count, errors and a latency
histogram, added to by every server process (see `planfuse.services.monitoring.metrics`).

The histogram has fixed log-spaced buckets (powers of two milliseconds), so rows written
by different processes add up column by column and percentiles can be estimated from the
sums (`planfuse.services.monitoring.metrics.percentile_ms`).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, String, Table

from planfuse.storage.models.base import Base

#: Upper bounds of the latency buckets in milliseconds: 0.25 ms … 32.8 s, doubling. Bucket
#: i counts requests with latency ≤ LATENCY_BOUNDS_MS[i] (and above the previous bound);
#: the last bucket counts everything slower than the last bound. Changing them changes the
#: meaning of stored rows: add a migration that clears the table.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(2.0**k for k in range(-2, 16))
LATENCY_BUCKET_COLUMNS: tuple[str, ...] = tuple(
    f"latency_{i:02d}" for i in range(len(LATENCY_BOUNDS_MS) + 1)
)
#: Columns summed when rows are merged (the key and the last request time are not).
COUNTER_COLUMNS: tuple[str, ...] = (
    "requests",
    "client_errors",
    "server_errors",
    *LATENCY_BUCKET_COLUMNS,
)

service_metrics_table = Table(
    "service_metrics",
    Base.metadata,
    # Minutes since the Unix epoch (UTC): the minute the requests finished in.
    Column("minute", Integer, primary_key=True),
    # A service id of the catalogue (`planfuse.services.monitoring.catalogue.SERVICES`).
    Column("service", String(32), primary_key=True),
    Column("requests", Integer, nullable=False, default=0),
    # Responses with status 400–499 and 500–599.
    Column("client_errors", Integer, nullable=False, default=0),
    Column("server_errors", Integer, nullable=False, default=0),
    *(Column(name, Integer, nullable=False, default=0) for name in LATENCY_BUCKET_COLUMNS),
    # When the last request of this minute finished, in seconds since the epoch.
    Column("last_request_epoch_s", Float, nullable=False, default=0.0),
)


class ServiceMetric(Base):
    __table__ = service_metrics_table
