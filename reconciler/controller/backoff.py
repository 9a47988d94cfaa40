"""How long the controller leaves something alone after it failed: exponential backoff.

A broken lock retried every run would eat the API's rate limit for the whole fleet, and a run
that fails (provider down, journal unwritable) retried at once would spin. Both wait 30 s after
the first failure, doubling each time, up to a ceiling; a success starts afresh.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from reconciler.core.models import DeviceId

BACKOFF_BASE = 30.0  # seconds after the first failure
BACKOFF_MAX = 3600.0  # the longest any backoff grows


def backoff(failures: int, ceiling: float = BACKOFF_MAX) -> float:
    """30 s, 60 s, 120 s ... for the n-th failure in a row, at most `ceiling`."""
    return min(BACKOFF_BASE * 2 ** min(failures - 1, 30), ceiling)


class LockBackoff:
    """Which locks to leave alone, and until when, after their writes failed."""

    def __init__(self) -> None:
        self._failures: dict[DeviceId, tuple[int, datetime]] = {}

    def waiting(self, device_id: DeviceId, now: datetime) -> bool:
        """Whether this lock's changes must wait for a later run."""
        failures, until = self._failures.get(device_id, (0, now))
        return failures > 0 and now < until

    def record(self, tried: Iterable[DeviceId], failed: set[DeviceId], now: datetime) -> None:
        """One failure per lock per run, however many of its changes failed; a lock whose
        changes all went through starts afresh."""
        for device_id in set(tried):
            if device_id not in failed:
                self._failures.pop(device_id, None)
                continue
            count = self._failures.get(device_id, (0, now))[0] + 1
            self._failures[device_id] = (count, now + timedelta(seconds=backoff(count)))
