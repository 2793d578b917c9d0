"""The service metrics' pure parts: histogram buckets, percentiles, attribution, and a
recorder whose database write fails."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from planfuse.services.monitoring.catalogue import SERVICES, service_for_path
from planfuse.services.monitoring.metrics import MetricsRecorder, latency_bucket, percentile_ms
from planfuse.services.monitoring.status import service_state
from planfuse.storage.models.metrics import LATENCY_BOUNDS_MS, LATENCY_BUCKET_COLUMNS


def histogram(**counts: int) -> list[int]:
    """Bucket counts from `b<index>=count` keywords."""
    buckets = [0] * len(LATENCY_BUCKET_COLUMNS)
    for name, count in counts.items():
        buckets[int(name[1:])] = count
    return buckets


def test_buckets_double_from_a_quarter_millisecond():
    assert LATENCY_BOUNDS_MS[0] == 0.25 and LATENCY_BOUNDS_MS[-1] == 32768.0
    assert len(LATENCY_BUCKET_COLUMNS) == len(LATENCY_BOUNDS_MS) + 1
    assert latency_bucket(0.0) == 0
    assert latency_bucket(0.25) == 0  # a bound belongs to the bucket it closes
    assert latency_bucket(0.26) == 1
    assert latency_bucket(100.0) == 9  # (64, 128]
    assert latency_bucket(128.0) == 9
    assert latency_bucket(10**6) == len(LATENCY_BOUNDS_MS)  # the open last bucket


def test_percentiles_from_known_histograms():
    assert percentile_ms(histogram(), 0.5) is None
    # 100 requests in (64, 128] ms: the median sits halfway on the log scale.
    one_bucket = histogram(b9=100)
    assert percentile_ms(one_bucket, 0.5) == pytest.approx(64 * 2**0.5)
    assert percentile_ms(one_bucket, 1.0) == pytest.approx(128)
    # 90 fast (≤ 0.25 ms), 10 slow in (512, 1024] ms: p50 is fast, p95 halfway into the slow.
    split = histogram(b0=90, b12=10)
    assert percentile_ms(split, 0.5) == pytest.approx(0.125 * 2 ** (50 / 90))
    assert percentile_ms(split, 0.95) == pytest.approx(512 * 2**0.5)
    assert percentile_ms(split, 0.9) == pytest.approx(0.25)
    # Everything slower than the last bound reports that bound.
    assert percentile_ms(histogram(b18=3), 0.95) == LATENCY_BOUNDS_MS[-1]
    # A single request: every percentile lands in its bucket.
    single = histogram(b5=1)
    assert 4 < percentile_ms(single, 0.5) <= percentile_ms(single, 0.95) <= 8


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/compliance/check", "compliance_check"),
        ("/api/v1/compliance/rulesets/<ruleset_id>", "compliance_check"),
        ("/api/v1/projects", "compliance_check"),
        ("/api/v1/compliance/reports/<report_id>/items.csv", "compliance_reports"),
        ("/api/v1/compliance/jwks.json", "compliance_reports"),
        ("/api/v1/siting/search", "siting_advanced"),
        ("/api/v1/siting/plans/<int:id>/run", "siting_plans_run"),
        ("/api/v1/conflicts/detect", "conflict_detection"),
        ("/api/v1/jobs/<job_id>", "conflict_detection"),
        ("/api/v1/conflicts/<conflict_id>/history", "conflicts"),
        ("/api/v1/ledgers/<name>", "layer_ledgers"),
        ("/api/v1/layers", "layer_catalogue"),
        ("/ogc/collections/<collection_id>/items", "ogc_features"),
        ("/tiles/<layer_id>/<z>/<x>/<y>.mvt", "vector_tiles"),
        ("/embed/session", "embed_session"),
        ("/api/v1/embed-tokens", "embed_session"),
        ("/embed/compliance", "widget_compliance"),
        ("/embed.js", "embed_sdk"),
        ("/admin/services.json", "admin"),
        ("/api/v1/admin/services", "admin"),
        ("/healthz", "other"),
        ("/api/v1/nothing-here", "other"),
        ("/ogcx", "other"),  # a prefix ends at a path boundary
        ("/layers-and-more", "other"),
    ],
)
def test_paths_are_attributed_to_the_catalogue(path, service):
    assert service_for_path(path) == service


def test_catalogue_entries_are_complete():
    ids = [s.id for s in SERVICES]
    assert len(ids) == len(set(ids))
    for service in SERVICES:
        assert service.name_zh and service.name_en and service.base_path.startswith("/")
        assert service.kind in {"function", "data", "application", "platform"}


def test_status_is_high_error_rate_over_one_percent_5xx():
    assert service_state({"requests": 0, "server_error_rate": 0}) == "idle"
    assert service_state({"requests": 100, "server_error_rate": 0.01}) == "ok"
    assert service_state({"requests": 100, "server_error_rate": 0.02}) == "high_error_rate"


class BrokenEngine:
    def begin(self):
        raise RuntimeError("database is down")


def fake_ctx(flush_s: float = 10.0):
    db = SimpleNamespace(engine=BrokenEngine(), dialect="sqlite")
    settings = SimpleNamespace(service_metrics_flush_s=flush_s, service_metrics_retention_days=7)
    return SimpleNamespace(db=db, settings=settings)


def test_a_failed_flush_is_logged_and_its_counts_kept(caplog):
    now = [1_800_000_000.0]
    recorder = MetricsRecorder(fake_ctx(), clock=lambda: now[0])
    assert recorder.record("ogc_features", 200, 3.0) is False
    now[0] += 11
    assert recorder.record("ogc_features", 503, 3.0) is True  # a flush is due
    with caplog.at_level(logging.ERROR, logger="planfuse.service_metrics"):
        assert recorder.flush() is False
    assert "could not be written" in caplog.text
    assert recorder.record("ogc_features", 404, 40.0) is False  # next flush 10 s later
    (key, row), *rest = recorder.pending().items()
    assert not rest and key == (int(now[0] // 60), "ogc_features")
    assert row[:3] == [3, 1, 1]  # requests, 4xx, 5xx
    assert sum(row[3:-1]) == 3 and row[-1] == now[0]


def test_threads_recording_at_once_lose_nothing():
    import threading

    recorder = MetricsRecorder(fake_ctx(flush_s=1e9))

    def work():
        for i in range(5000):
            recorder.record("vector_tiles", 200 if i % 10 else 500, float(i % 50))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = recorder.pending().values()
    assert sum(row[0] for row in rows) == 40_000
    assert sum(row[2] for row in rows) == 4_000
    assert sum(sum(row[3:-1]) for row in rows) == 40_000


def test_the_report_survives_an_unreachable_database():
    """A real context over a PostgreSQL nobody listens on (port 9): the report still
    answers, naming the database as down, with the services it knows without it."""
    from planfuse.context import build_context
    from planfuse.services.monitoring.status import service_report
    from planfuse.settings import load_settings

    settings = load_settings(
        {"database_url": "postgresql://postgres@127.0.0.1:9/test", "secret_key": "k" * 40},
        environ={},
    )
    ctx = build_context(settings)
    try:
        body = service_report(ctx, cache=None, now=1_800_000_000.0)
    finally:
        ctx.close()
    (database,) = body["dependencies"]
    assert database["ready"] is False and database["backend"] == "postgresql"
    assert database["label"] == {"zh-CN": "数据库", "en": "Database"}
    # The error's class and its first line (planfuse.services.monitoring.status).
    assert database["detail"].startswith("OperationalError: ")
    assert "Connection refused" in database["detail"]
    assert "OperationalError" in body["metrics_error"] and body["layers"] is None
    assert {s["status"] for s in body["services"]} == {"idle"}
    assert body["generated_at"] == "2027-01-15T08:00:00+00:00"
