"""Events in: Seam's events (by webhook or `events/list`) become reconciles of their devices.

Polling every lock to learn, mostly, that nothing changed costs two calls per lock a cycle and
notices a disabled guest code only at the next one. Seam says what happened as it happens, so
an `access_code.*`, `lock.*` or `device.*` event queues a reconcile of that one device, and a
slow full resync stays as the safety net (as Argo CD and Flux do). The inbox is where events
wait: bounded (a burst is refused with 429, never held in unbounded memory), deduplicated by
`event_id` (Seam retries a delivery for about a day: the same event is answered 2xx and acted
on once; ids are remembered for `REMEMBER`, longer than the retries, and in the state store
across restarts), and drained by the controller's loop, never by the HTTP handler, which only
queues. An unlock (`lock.unlocked` with an `access_code_id`) is also kept as usage.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

REMEMBER = timedelta(days=3)
CAPACITY = 10_000
DEVICE_EVENT_PREFIXES = ("access_code.", "lock.", "device.")
UNLOCKED = "lock.unlocked"


class BadEvent(ValueError):
    """The body is not a Seam event (no `event_id` or `event_type`): answered 400."""


@dataclass(frozen=True)
class Event:
    """The parts of one Seam event the controller acts on."""

    event_id: str
    event_type: str
    device_id: str | None = None
    access_code_id: str | None = None
    occurred_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def concerns_a_device(self) -> bool:
        """An event after which that device should be reconciled."""
        return self.device_id is not None and self.event_type.startswith(DEVICE_EVENT_PREFIXES)

    @property
    def is_unlock_by_code(self) -> bool:
        """A door opened with a code: usage to record (never a reason to change a code)."""
        return self.event_type == UNLOCKED and self.access_code_id is not None


def parse_event(data: Any) -> Event:
    """A Seam event from its JSON (a webhook body, or one of `events/list`)."""
    if isinstance(data, Mapping) and isinstance(data.get("event"), Mapping):
        data = data["event"]  # some deliveries wrap the event
    if not isinstance(data, Mapping):
        raise BadEvent("the body is not a JSON object")
    event_id, event_type = data.get("event_id"), data.get("event_type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str):
        raise BadEvent("the body is not a Seam event (event_id and event_type)")
    device_id = data.get("device_id")
    code_id = data.get("access_code_id")
    return Event(
        event_id=event_id,
        event_type=event_type,
        device_id=device_id if isinstance(device_id, str) else None,
        access_code_id=code_id if isinstance(code_id, str) else None,
        occurred_at=event_time(data.get("occurred_at") or data.get("created_at")),
        details={k: v for k, v in data.items() if k in ("method", "connected_account_id")},
    )


def event_time(value: Any) -> datetime | None:
    """A time as Seam's events write it (ISO 8601, UTC when no offset), else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def offer(inbox: Any, event: Event) -> str:
    """Offer an event to the controller's inbox without holding up the event loop: the shared
    inbox (a database call) in a thread, the process' own at once."""
    if getattr(inbox, "blocking", False):
        return str(await asyncio.to_thread(inbox.offer, event))
    return str(inbox.offer(event))


class Inbox:
    """Events waiting for the controller: bounded, each `event_id` taken once."""

    def __init__(
        self,
        *,
        capacity: int = CAPACITY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        self.capacity = capacity
        self.clock = clock
        self.on_event = on_event
        self._waiting: collections.deque[Event] = collections.deque()
        self._seen: collections.OrderedDict[str, datetime] = collections.OrderedDict()
        self.counts: collections.Counter[str] = collections.Counter()

    def offer(self, event: Event) -> str:
        """`queued`, `duplicate` (already taken: answer 2xx, do nothing) or `full` (429)."""
        self._forget_old()
        if event.event_id in self._seen:
            self.counts["duplicate"] += 1
            return "duplicate"
        if len(self._waiting) >= self.capacity:
            self.counts["refused"] += 1
            return "full"
        self._seen[event.event_id] = self.clock()
        self._waiting.append(event)
        self.counts["queued"] += 1
        self.on_event()
        return "queued"

    def take(self) -> list[Event]:
        """Every event waiting, oldest first; the inbox is then empty."""
        events = list(self._waiting)
        self._waiting.clear()
        return events

    def __len__(self) -> int:
        return len(self._waiting)

    def _forget_old(self) -> None:
        horizon = self.clock() - REMEMBER
        while self._seen and next(iter(self._seen.values())) < horizon:
            self._seen.popitem(last=False)
        while len(self._seen) > self.capacity * 20:  # a bound on memory whatever the rate
            self._seen.popitem(last=False)
