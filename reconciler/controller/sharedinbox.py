"""The replicas' shared inbox: a webhook that reaches any replica gets to the device's owner.

With replicas, Seam (or a load balancer) posts an event to whichever replica it reaches, not
to the one holding the device. That replica checks the signature as always, then queues the
event in the state database (`event_queue`, one row per `event_id`, so a redelivery is one
row), and answers at once. Each replica takes the rows of the devices it holds, plus those of
devices no config lists (counted as unmatched by whoever takes them), with `FOR UPDATE SKIP
LOCKED`, so each row is taken by one replica exactly once. The loop learns of rows for it by
`refresh()`, which the daemon calls every second: how long an event waits for its owner.

Same calls as `events.Inbox` (`offer`, `take`, `len`), so the loop and the endpoints do not
know which one they have.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from reconciler.controller.events import Event, parse_event
from reconciler.controller.replicas import Replica
from reconciler.core.plan import iso

CAPACITY = 10_000  # queued events beyond which a webhook is answered 429
TAKE = 1000  # rows taken at once


class SharedInbox:
    """Events queued in the state database for the replica that holds their device. Its
    calls wait on the database: callers on the event loop run them in a thread
    (`events.offer`)."""

    blocking = True

    def __init__(
        self,
        replica: Replica,
        *,
        listed: Callable[[], list[str]],
        on_event: Callable[[], None] = lambda: None,
        capacity: int = CAPACITY,
    ) -> None:
        self.replica = replica
        self.db = replica.database
        self.listed = listed
        self.on_event = on_event
        self.capacity = capacity
        self._pending = 0

    def offer(self, event: Event) -> str:
        """Queue an event for its owner: `queued`, `duplicate` or `full`. Raises
        `StateUnavailable` when the database cannot take it (the webhook answers 503)."""
        waiting = self.db.execute("SELECT count(*) FROM event_queue")[0][0]
        if waiting >= self.capacity:
            return "full"
        rows = self.db.execute(
            "INSERT INTO event_queue (event_id, device_id, event, received_by) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING RETURNING id",
            (event.event_id, event.device_id, _encode(event), self.replica.replica_id),
        )
        if not rows:
            return "duplicate"
        if event.device_id in self.replica.devices() or event.device_id is None:
            self._pending += 1
            self.on_event()
        return "queued"

    def refresh(self) -> int:
        """Count the rows waiting for this replica (from any thread: the caller wakes the
        loop when there are some)."""
        owned, listed = sorted(self.replica.devices()), self.listed()
        rows = self.db.execute(
            "SELECT count(*) FROM event_queue WHERE device_id = ANY(?) OR device_id IS NULL "
            "OR NOT (device_id = ANY(?))",
            (owned, listed),
        )
        self._pending = int(rows[0][0])
        return self._pending

    def take(self) -> list[Event]:
        """Take (and remove) the events waiting for this replica, oldest first."""
        owned, listed = sorted(self.replica.devices()), self.listed()
        rows = self.db.execute(
            "DELETE FROM event_queue WHERE id IN (SELECT id FROM event_queue WHERE "
            "device_id = ANY(?) OR device_id IS NULL OR NOT (device_id = ANY(?)) "
            "ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING id, event",
            (owned, listed, TAKE),
        )
        self._pending = 0
        return [parse_event(json.loads(event)) for _, event in sorted(rows)]

    def __len__(self) -> int:
        return self._pending


def _encode(event: Event) -> str:
    return json.dumps(
        {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "device_id": event.device_id,
            "access_code_id": event.access_code_id,
            "occurred_at": iso(event.occurred_at),
            **dict(event.details),
        }
    )
