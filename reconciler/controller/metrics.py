"""What the controller counts, through `prometheus_client`, and the state its health reads.

Each `Metrics` has its own `CollectorRegistry` (never the library's global default), so two
controllers in one process (tests make several) count apart. Running totals are the library's
Counters and Histogram; what describes the last run (drift by kind, each lock's sync and health,
the last success) is kept as plain values and turned into gauges at each scrape, so a drift kind
or a lock that went away leaves no stale series behind. The process' own metrics (CPU, memory,
open files, Python's version and garbage collector) are on the same registry.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from datetime import datetime

import prometheus_client as prom
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

# A run of the simulator takes milliseconds, one of thousands of locks at Seam minutes.
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class Metrics:
    """Counters, gauges and last-run state of one controller, on the controller's registry."""

    def __init__(self) -> None:
        registry = self.registry = prom.CollectorRegistry(auto_describe=True)
        prom.ProcessCollector(registry=registry)
        prom.PlatformCollector(registry=registry)
        prom.GCCollector(registry=registry)
        self.reconciles = prom.Counter(
            "accesscodes_reconcile", "Reconcile runs by result.", ["result"], registry=registry
        )
        self.duration = prom.Histogram(
            "accesscodes_reconcile_duration_seconds",
            "Time taken by reconcile runs.",
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.last_duration = prom.Gauge(
            "accesscodes_last_reconcile_duration_seconds",
            "The last run's duration.",
            registry=registry,
        )
        self.changes = prom.Counter(
            "accesscodes_changes",
            "Changes applied, by action and result.",
            ["action", "result"],
            registry=registry,
        )
        self.provider_errors = prom.Counter(
            "accesscodes_provider_errors",
            "Provider errors, by error code.",
            ["code"],
            registry=registry,
        )
        self.reconcile_errors = prom.Counter(
            "accesscodes_reconcile_errors",
            "Failed runs, by the error's type.",
            ["kind"],
            registry=registry,
        )
        self.notices_pending = prom.Gauge(
            "accesscodes_notices_pending",
            "Notices the webhook has not accepted yet.",
            registry=registry,
        )
        self._event_metrics(registry)
        self.codes_managed = prom.Gauge(
            "accesscodes_codes_managed", "Managed codes on the listed locks.", registry=registry
        )
        # the last run's findings, read at each scrape (LastRunCollector) and by /readyz
        self.drift: collections.Counter[str] = collections.Counter()  # kind -> current count
        self.devices: dict[str, tuple[str, str]] = {}  # device key -> (sync, health)
        self.last_success: datetime | None = None
        self.last_ok = False
        self.registry.register(LastRunCollector(self))

    def _event_metrics(self, registry: prom.CollectorRegistry) -> None:
        """What came in as Seam's events (webhooks, events/list) and the unlocks they told."""
        self.events = prom.Counter(
            "accesscodes_events",
            "Seam events received, by how they were taken (queued, duplicate, refused, "
            "unmatched: for a device the config does not list, bad_signature, bad_body).",
            ["outcome"],
            registry=registry,
        )
        self.unlocks = prom.Counter(
            "accesscodes_unlocks",
            "Doors opened with a code (lock.unlocked events), by device.",
            ["device"],
            registry=registry,
        )

    def render(self) -> str:
        """The /metrics page, in Prometheus' text format."""
        return generate_latest(self.registry).decode()


class LastRunCollector(Collector):
    """Gauges computed at each scrape from what the last run found."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterator[Metric]:
        """The families this collector yields (the registry checks names against them)."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """The current values."""
        families = self._families()
        drift, in_sync, healthy, last_success = families
        metrics = self.metrics
        for kind, count in sorted(metrics.drift.items()):
            drift.add_metric([kind], count)
        for device, (sync, health) in sorted(metrics.devices.items()):
            in_sync.add_metric([device], int(sync == "in_sync"))
            healthy.add_metric([device, health], int(health == "healthy"))
        yield from (drift, in_sync, healthy)
        if metrics.last_success is not None:
            last_success.add_metric([], metrics.last_success.timestamp())
            yield last_success

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "accesscodes_drift", "Drift found in the last run, by kind.", labels=["kind"]
            ),
            GaugeMetricFamily(
                "accesscodes_device_in_sync",
                "1 when the lock matches the config.",
                labels=["device"],
            ),
            GaugeMetricFamily(
                "accesscodes_device_healthy",
                "1 when no code on the lock is failing or pending.",
                labels=["device", "health"],
            ),
            GaugeMetricFamily(
                "accesscodes_last_success_timestamp_seconds", "End of the last good run."
            ),
        )
