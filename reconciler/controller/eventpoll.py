"""Events without a webhook: the provider's `events/list`, read every few seconds, into the inbox.

Listing every lock to learn, mostly, that nothing changed costs two calls per lock a cycle;
`events/list` costs one call for the whole workspace and says which lock changed. It has no
cursor, only `since`, so the windows overlap: each read starts `OVERLAP` (30 s) before the
newest event seen, by Seam's own `created_at` (our clock's skew does not matter, and an event
Seam files a little late is still in the next window). What a window brings twice is dropped
here by `event_id`, and the inbox (and the state store behind it) drops what a webhook or an
earlier process already took, so the overlap costs nothing but a few bytes.

The newest event time is kept in the state store (`journal.events.cursor`, under the
provider's kind), so a restart reads on from there, at most `CATCH_UP` (a day) back: the full
run at start covers what is older, and the usage of those hours is still recorded. A report-only
controller has no state store and keeps the cursor in memory.

A failed read is one `events_poll_failed` event (no PIN), counted as a provider error, backed
off (the period doubling up to `MAX_BACKOFF`) and tried again; it never ends the controller. The
full resync at `--interval` stays the safety net for an event that never comes; with events on,
an interval of an hour is enough.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from reconciler.apply.run import open_journal
from reconciler.config.load import Config
from reconciler.controller.events import BadEvent, Event, event_time, parse_event
from reconciler.controller.loop import Controller
from reconciler.controller.notices import mask_pins
from reconciler.core.errors import ProviderError

PERIOD = 5.0  # seconds between reads
OVERLAP = timedelta(seconds=30)
CATCH_UP = timedelta(days=1)
MAX_BACKOFF = 300.0  # seconds: a failing read is tried at least every five minutes


class EventPoller:
    """Reads the provider's events into the controller's inbox until the controller stops."""

    def __init__(
        self,
        controller: Controller,
        *,
        period: float = PERIOD,
        overlap: timedelta = OVERLAP,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.controller = controller
        self.period = period
        self.overlap = overlap
        self._sleep = sleep
        self.cursor: datetime | None = None
        self._cursor_read = False
        self._taken: dict[str, datetime] = {}  # event_id -> created_at, in the current window
        self.failures = 0

    async def run(self) -> None:
        """Read, wait, read again; a failure is logged and backed off, never raised."""
        while not self.controller.stopping:
            try:
                await self.poll_once()
            except Exception as exc:  # the controller outlives any failure of a read
                self.failures += 1
                self._failed(exc)
            else:
                self.failures = 0
            await self._sleep(self.retry_in())

    def retry_in(self) -> float:
        """Seconds to the next read: the period, doubled for each failure in a row."""
        return min(self.period * 2**self.failures, max(MAX_BACKOFF, self.period))

    async def poll_once(self) -> int:
        """Read one window into the inbox; the number of events queued. Nothing is read
        before the first full run has read the config (it names the provider)."""
        config = self.controller.last_config
        if config is None:
            return 0
        provider = await self.controller.providers.get(config)
        now = self.controller.clock()
        if not self._cursor_read:
            self.cursor = await asyncio.to_thread(_stored_cursor, config)
            self._cursor_read = True
        since = self.since(now)
        raw = await provider.list_events(since)
        events = _parsed(raw, now)
        if getattr(self.controller.inbox, "blocking", False):  # the shared inbox: a database
            queued, newest, refused = await asyncio.to_thread(self._offer, events)
        else:
            queued, newest, refused = self._offer(events)
        self._taken = {k: v for k, v in self._taken.items() if v >= since}
        if newest is not None and not refused and (self.cursor is None or newest > self.cursor):
            self.cursor = newest
            await asyncio.to_thread(_store_cursor, config, newest)
        return queued

    def since(self, now: datetime) -> datetime:
        """Where the next window starts: `overlap` before the newest event seen (or before
        now, the first time), and never more than `CATCH_UP` back."""
        start = (self.cursor or now) - self.overlap
        return max(start, now - CATCH_UP)

    def _offer(self, events: Iterable[tuple[Event, datetime]]) -> tuple[int, datetime | None, bool]:
        """Offer the events not taken yet; (queued, newest time taken, any refused). A
        refused event (the inbox is full) is offered again from the same window next time."""
        inbox, metrics = self.controller.inbox, self.controller.metrics
        queued, newest, refused = 0, None, False
        for event, created in events:
            if event.event_id in self._taken:
                continue
            outcome = inbox.offer(event)
            metrics.events.labels(outcome if outcome != "full" else "refused").inc()
            if outcome == "full":
                refused = True
                continue
            queued += outcome == "queued"
            self._taken[event.event_id] = created
            newest = created if newest is None or created > newest else newest
        return queued, newest, refused

    def _failed(self, exc: Exception) -> None:
        """One event for a failed read, its message masked of PINs; counted by error code."""
        if isinstance(exc, ProviderError):
            self.controller.metrics.provider_errors.labels(exc.code or "provider_error").inc()
        self.controller.emit(
            "events_poll_failed",
            kind=type(exc).__name__,
            message=mask_pins(str(exc), self.controller.known_pins()),
            retry_in=round(self.retry_in(), 1),
        )


def _parsed(raw: Iterable[Any], now: datetime) -> list[tuple[Event, datetime]]:
    """The events of a window that are events, each with its `created_at` (the time
    `since` compares), oldest first; what is not a Seam event is skipped."""
    events = []
    for data in raw:
        try:
            event = parse_event(data)
        except BadEvent:
            continue
        stamp = data.get("created_at") if isinstance(data, Mapping) else None
        created = event_time(stamp) or event.occurred_at or now
        events.append((event, created))
    return sorted(events, key=lambda pair: pair[1])


def _stored_cursor(config: Config) -> datetime | None:
    """The newest event time an earlier process read, if the config has a state store."""
    journal = open_journal(config, create=False)
    if journal is None:
        return None
    try:
        return journal.events.cursor(config.provider.kind)
    finally:
        journal.close()


def _store_cursor(config: Config, newest: datetime) -> None:
    """Remember the newest event time read (a report-only controller has no state store)."""
    journal = open_journal(config, create=False)
    if journal is None:
        return
    try:
        journal.events.move_cursor(config.provider.kind, newest)
    finally:
        journal.close()
