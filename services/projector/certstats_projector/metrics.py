"""Prometheus metrics of one projector instance (SPEC.md section 6).

Each :class:`ProjectorMetrics` owns its registry, so two projectors in one process (tests,
a rebuild beside the live projector) never collide. No label carries a platform id: metric
labels must not reveal tenants (SPEC.md section 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BATCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ProjectorMetrics:
    """Counters, histogram and gauges the projector exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events_applied = Counter(
            "certstats_projector_events_applied",
            "Events applied to the read models, by event type.",
            ["event_type"],
            registry=self.registry,
        )
        self.events_dead_lettered = Counter(
            "certstats_projector_events_dead_lettered",
            "Malformed messages published to <topic>.dlq.",
            ["topic"],
            registry=self.registry,
        )
        self.events_skipped_unknown = Counter(
            "certstats_projector_events_skipped_unknown",
            "Messages of an event type outside contract v1, skipped.",
            ["event_type"],
            registry=self.registry,
        )
        self.batch_failures = Counter(
            "certstats_projector_batch_failures",
            "Failed batch transactions (each is retried), by kind: transient or other.",
            ["kind"],
            registry=self.registry,
        )
        self.batch_duration = Histogram(
            "certstats_projector_batch_duration_seconds",
            "Wall time to decode, dead-letter and commit one batch (s).",
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.lag = Gauge(
            "certstats_projector_lag",
            "High watermark minus stored next offset, per assigned partition (messages).",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.watermark_age = Gauge(
            "certstats_projector_watermark_age_seconds",
            "Now minus the newest applied event time (data_as_of) over all platforms (s).",
            registry=self.registry,
        )
        self.summaries_deferred = Gauge(
            "certstats_projector_summaries_deferred",
            "Platforms whose summary read models are deferred (catch-up mode, any instance).",
            registry=self.registry,
        )
        self.watermark = Gauge(
            "certstats_projector_watermark_timestamp_seconds",
            "Newest applied event time (data_as_of) over all platforms, Unix seconds.",
            registry=self.registry,
        )

    def record_applied(self, per_type: Mapping[str, int]) -> None:
        """Add ``per_type`` (event type -> events applied) to the applied counters."""
        for event_type, count in per_type.items():
            self.events_applied.labels(event_type).inc(count)

    def set_lag(self, lag: Mapping[tuple[str, int], int]) -> None:
        """Replace the lag gauges with ``lag`` ((topic, partition) -> messages)."""
        self.lag.clear()
        for (topic, partition), value in lag.items():
            self.lag.labels(topic, str(partition)).set(value)

    def set_watermark(self, data_as_of: datetime | None, now: datetime) -> None:
        """Export the watermark and its age; ``None`` (nothing applied yet) leaves them unset."""
        if data_as_of is not None:
            self.watermark.set(data_as_of.timestamp())
            self.watermark_age.set((now - data_as_of).total_seconds())
