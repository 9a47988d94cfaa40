"""Controller replicas on one PostgreSQL state: each holds a fair share of the devices by lease.

A `Replica` is one process' membership: its identity (unique per process: host, pid and a
random part, never the host name alone, which two containers may share), its `Ownership`, and
a keeper thread that every third of the lease time
- says it is alive (`replicas`) and counts the live replicas,
- renews its leases; those it could not renew are lost, and logged (`lease_lost`),
- takes free or expired leases up to its fair share (devices / live replicas, rounded up), so
  the devices of a replica that died are taken once its leases expire, and a new replica
  gets its share as the others hand back what they hold beyond theirs (`lease_released`),
- and on any database error holds nothing until the next tick that works (`lease_error`):
  a replica that cannot reach the database cannot know it still owns anything;
- renews only while the process is healthy: its event loop beats (`beat()`, every second
  from `fleet`); a loop that has not beaten for half a lease (wedged on a call that never
  returns) lets every lease go (`replica_unhealthy`), so the others take its devices.
The keeper runs in a thread of its own, so a busy event loop (planning a large fleet) never
delays a renewal. What it learns reaches the loop through `on_gain` (run the new devices now)
and the gauges of /metrics; `status()` is what /readyz says.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.controller.ownership import Ownership
from reconciler.state.leases import LeaseTable
from reconciler.state.postgres import PostgresDatabase

DEFAULT_LEASE = 30.0  # seconds
Emit = Callable[..., None]


def replica_identity() -> str:
    """Unique per process: two pods on one host name, or a restarted pod, never share it."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class ReplicaStatus:
    """What /readyz and /metrics say of this replica's share of the fleet."""

    replica_id: str
    healthy: bool  # the last tick reached the database
    held: tuple[str, ...]
    unowned: tuple[str, ...]
    live_replicas: int
    oldest_reconcile_age: float | None  # seconds, over the configured devices; None: never


class Replica:
    """This process' part in the shared fleet (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        devices: Callable[[], Sequence[str]],
        emit: Emit,
        lease: float = DEFAULT_LEASE,
        on_gain: Callable[[], None] = lambda: None,
    ) -> None:
        self.replica_id = replica_identity()
        self.lease = lease
        self.margin = lease / 3
        self.ownership = Ownership()
        self.wanted = devices
        self.emit = emit
        self.on_gain = on_gain
        self.database = PostgresDatabase(url)
        self.table = LeaseTable(self.database, self.replica_id, lease)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = ReplicaStatus(self.replica_id, False, (), (), 0, None)
        self._told_unowned: tuple[str, ...] = ()
        self._beat = time.monotonic()
        self._ensured: list[str] | None = None  # the devices given lease rows so far

    # -- the keeper ----------------------------------------------------------------------

    def start(self) -> None:
        """One tick now (so the first run has devices), then one every third of the lease."""
        self.tick()
        self._thread = threading.Thread(target=self._keep, name="lease-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and hand every lease back, so the others take over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.lease)
        self.ownership.drop_all()
        try:
            self.table.leave()
        except Exception as exc:  # the leases then expire on their own
            self.emit("lease_error", replica=self.replica_id, error=_describe(exc))

    def _keep(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self.tick()

    def tick(self) -> None:
        """Renew, rebalance and report once; never raises (the keeper thread must go on)."""
        started = time.monotonic()
        try:
            gained, lost, released = self._rebalance(started)
        except Exception as exc:  # any database error counts as a lost lease
            lost = self.ownership.drop_all()
            self._status = ReplicaStatus(self.replica_id, False, (), (), 0, None)
            gained, released = set(), []
            self._emit("lease_error", error=_describe(exc))
        try:
            self._tell(gained, lost, released)
        except Exception as exc:  # a log line or a wake-up that failed: the leases stand
            self._emit("lease_error", error=_describe(exc))

    def _emit(self, event: str, **fields: Any) -> None:
        with contextlib.suppress(Exception):  # stdout gone: nothing else to tell it with
            self.emit(event, replica=self.replica_id, **fields)

    def _tell(self, gained: set[str], lost: set[str], released: list[str]) -> None:
        if lost:
            self._emit("lease_lost", devices=sorted(lost))
        if released:
            self._emit("lease_released", devices=sorted(released))
        if gained:
            self._emit("lease_gained", devices=sorted(gained))
            self.on_gain()
        if gained or lost or released or self._status.unowned != self._told_unowned:
            self._tell_status()

    def _tell_status(self) -> None:
        """One `replica_status` line when what this replica holds, or what nobody holds,
        changed: counts, the unowned devices (the first 50) and the oldest reconcile."""
        status = self.status()
        self._told_unowned = status.unowned
        self.emit(
            "replica_status",
            replica=self.replica_id,
            held=len(status.held),
            replicas=status.live_replicas,
            unowned=list(status.unowned[:50]),
            unowned_count=len(status.unowned),
            oldest_reconcile_age=status.oldest_reconcile_age,
        )

    def beat(self) -> None:
        """The event loop is alive (called from it every second)."""
        self._beat = time.monotonic()

    def _rebalance(self, started: float) -> tuple[set[str], set[str], list[str]]:
        wanted = sorted(set(self.wanted()))
        if started - self._beat > self.lease / 2:
            return self._let_go(wanted)
        live = self.table.heartbeat()
        if wanted != self._ensured:
            self.table.ensure(wanted)
            self._ensured = wanted
        listed, terms = set(wanted), self.ownership.terms()
        held = {d: t for d, t in terms.items() if d in listed}
        kept = self.table.renew(held)
        share = math.ceil(len(wanted) / live) if wanted else 0
        taken = self.table.acquire(wanted, share - len(kept))
        unwanted = {d: t for d, t in terms.items() if d not in listed}  # gone from the config
        self.ownership.hold({**kept, **taken, **unwanted}, started + self.lease - self.margin)
        gained, lost = set(taken), set(held) - set(kept)
        mine = list({**kept, **taken})
        random.shuffle(mine)  # which devices move is arbitrary: not always the same ones
        released = self.ownership.give_up([*mine[share:], *unwanted])
        if released:
            self.table.release(released)
        self._status = self._read_status(wanted, live)
        return gained - set(released), lost, released

    def _let_go(self, wanted: list[str]) -> tuple[set[str], set[str], list[str]]:
        """The event loop has not beaten for half a lease: hand back every lease no write is
        going out under (those expire on their own), and hold nothing."""
        held = sorted(self.ownership.terms())
        free = self.ownership.give_up(held)
        self.ownership.drop_all()
        self.table.release(free)
        self._emit("replica_unhealthy", devices=held)
        self._status = self._read_status(wanted, 1)
        return set(), set(held), []

    def _read_status(self, wanted: list[str], live: int) -> ReplicaStatus:
        rows = self.table.overview(wanted)
        now = time.time()
        ages = [now - r.reconciled_at.timestamp() if r.reconciled_at else math.inf for r in rows]
        oldest = max(ages) if ages else None
        return ReplicaStatus(
            self.replica_id,
            True,
            tuple(sorted(self.ownership.devices())),
            tuple(r.device_id for r in rows if r.holder is None),
            live,
            None if oldest is None or math.isinf(oldest) else oldest,
        )

    # -- what the rest of the controller asks --------------------------------------------

    def devices(self) -> frozenset[str]:
        """The devices this replica may reconcile now."""
        return self.ownership.devices()

    def status(self) -> ReplicaStatus:
        """The last tick's view (held devices as of now)."""
        status = self._status
        held = tuple(sorted(self.ownership.devices()))
        return ReplicaStatus(
            status.replica_id,
            status.healthy,
            held,
            status.unowned,
            status.live_replicas,
            status.oldest_reconcile_age,
        )

    def check_write(self, device_id: str, term: int) -> bool:
        """The database's word that the lease is still ours under `term`, with a margin."""
        return self.table.holds(device_id, term, self.margin / 2)

    def reconciled(self, device_ids: Sequence[str]) -> None:
        """Record that these devices were reconciled now (for the oldest-reconcile figure)."""
        self.table.reconciled(device_ids)

    def readiness(self) -> str:
        """What /readyz says of this replica, one line."""
        status = self.status()
        if not status.healthy:
            return f"replica {status.replica_id}: the state database does not answer"
        oldest = status.oldest_reconcile_age
        return (
            f"replica {status.replica_id} of {status.live_replicas}: holds {len(status.held)} "
            f"devices, {len(status.unowned)} held by no replica, oldest reconcile "
            + ("never" if oldest is None else f"{oldest:.0f} s ago")
        )

    def describe(self) -> dict[str, Any]:
        """This replica in one log line."""
        return {"replica": self.replica_id, "lease": self.lease}


def _describe(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
