"""Which devices this controller replica may write to right now: its leases as the process
sees them, on the process' own monotonic clock.

A lease renewed at monotonic time t (taken before the statement went out, so before the
database's `now()`) holds on the database until at least t + lease time; the process counts it
only until t + lease time - margin. So the process stops writing before its lease could have
expired on the database, whatever the two clocks say: a replica paused past its lease (SIGSTOP,
a long GC, a frozen VM) finds, when it wakes, that it holds nothing, before any write. A write
is counted while it is in flight (`writing`), and a lease is handed back only when no write on
its device is, so another replica never takes a device under a write still going out.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from reconciler.core.errors import LeaseLost


class Ownership:
    """This replica's devices and their lease terms, valid until a monotonic deadline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._terms: dict[str, int] = {}
        self._valid_until = 0.0
        self._writing: Counter[str] = Counter()

    def devices(self) -> frozenset[str]:
        """The devices this replica may write to now (none once its leases may have run out)."""
        with self._lock:
            return frozenset(self._terms) if self.clock() < self._valid_until else frozenset()

    def terms(self) -> dict[str, int]:
        """The leases to renew, valid or not (renewing tells which still are)."""
        with self._lock:
            return dict(self._terms)

    def hold(self, terms: Mapping[str, int], valid_until: float) -> None:
        """These leases, and no others, until `valid_until` (monotonic)."""
        with self._lock:
            self._terms = dict(terms)
            self._valid_until = valid_until

    def drop_all(self) -> set[str]:
        """Hold nothing (the database could not be asked): the devices that were held."""
        with self._lock:
            lost = set(self._terms) if self.clock() < self._valid_until else set()
            self._terms = {}
            self._valid_until = 0.0
            return lost

    def give_up(self, device_ids: list[str]) -> list[str]:
        """Stop holding those of these devices that no write is going out to; those."""
        with self._lock:
            free = [d for d in device_ids if d in self._terms and not self._writing[d]]
            for device_id in free:
                del self._terms[device_id]
            return free

    def time_left(self, device_id: str) -> float:
        """Seconds this replica may still write to `device_id` (0: not at all)."""
        with self._lock:
            if device_id not in self._terms:
                return 0.0
            return max(0.0, self._valid_until - self.clock())

    @contextmanager
    def writing(self, device_id: str) -> Iterator[int]:
        """A write to `device_id` going out: the lease's term, or `LeaseLost` if it is not
        held now. The lease is not handed back while the block runs."""
        with self._lock:
            term = self._terms.get(device_id)
            if term is None or self.clock() >= self._valid_until:
                raise LeaseLost(
                    f"not sent: this replica does not hold the lease of {device_id} now "
                    "(another replica may own it)"
                )
            self._writing[device_id] += 1
        try:
            yield term
        finally:
            with self._lock:
                self._writing[device_id] -= 1
