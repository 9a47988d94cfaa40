"""The replica's share of the fleet on /metrics: computed at each scrape from its last tick.

Scraping every replica shows who holds what: `accesscodes_device_held{device_id}` is 1 on the
replica holding that device and absent on the others, `accesscodes_devices_unowned` counts the
configured devices no replica holds (and `accesscodes_device_unowned{device_id}` names them),
`accesscodes_oldest_reconcile_age_seconds` is the longest any configured device has gone
without a reconcile, and `accesscodes_state_reachable` is 0 while the database is not.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from reconciler.controller.replicas import Replica


class ReplicaCollector(Collector):
    """Gauges of one replica's leases (module docstring)."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica

    def describe(self) -> Iterator[Metric]:
        """The families this collector yields."""
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        """The current values."""
        status = self.replica.status()
        info, reachable, live, held, held_each, unowned, unowned_each, oldest = self._families()
        info.add_metric([status.replica_id], 1)
        reachable.add_metric([], int(status.healthy))
        live.add_metric([], status.live_replicas)
        held.add_metric([], len(status.held))
        for device_id in status.held:
            held_each.add_metric([device_id], 1)
        unowned.add_metric([], len(status.unowned))
        for device_id in status.unowned:
            unowned_each.add_metric([device_id], 1)
        yield from (info, reachable, live, held, held_each, unowned, unowned_each)
        if status.oldest_reconcile_age is not None:
            oldest.add_metric([], status.oldest_reconcile_age)
            yield oldest

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("accesscodes_replica", "This replica's identity.", labels=["id"]),
            GaugeMetricFamily("accesscodes_state_reachable", "1 while the state database answers."),
            GaugeMetricFamily("accesscodes_replicas_live", "Replicas with a live heartbeat."),
            GaugeMetricFamily("accesscodes_devices_held", "Devices this replica holds."),
            GaugeMetricFamily(
                "accesscodes_device_held",
                "1 for each device this replica holds.",
                labels=["device_id"],
            ),
            GaugeMetricFamily("accesscodes_devices_unowned", "Devices no replica holds."),
            GaugeMetricFamily(
                "accesscodes_device_unowned",
                "1 for each device no replica holds.",
                labels=["device_id"],
            ),
            GaugeMetricFamily(
                "accesscodes_oldest_reconcile_age_seconds",
                "The longest any configured device has gone without a reconcile.",
            ),
        )
