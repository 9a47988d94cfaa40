"""The controller: keep the locks as the config says, report drift, never make things worse.

The loop (`run`) and its waking are apart from one run (`reconcile`): a run happens when the
config changes, when a deferred change falls due, every interval (with jitter) and on SIGHUP.
One run reads as its steps: load the config, get the provider, plan inside the apply lock,
report what the plan found, keep the changes the policy allows, apply them, record their
outcomes; then notify the webhook. The steps are in reconcile.py, the telling in reporting.py,
how a run ended in results.py. What a run may change follows `settings.self_heal`: `restore`
writes creates and updates only, `full` also deletes within the delete guards, `report` writes
nothing. Time and waiting are injected, so tests drive the loop with a fake clock.

One failure never becomes many, and never ends the loop:
- a lock whose writes failed is left alone for a while (30 s doubling to 1 h, counted once per
  run however many of its changes failed), so a broken lock cannot eat the API's rate limit;
- a run that fails (provider down, journal unwritable, a bug) is logged as one event without
  PINs, counted in /metrics, makes /readyz 503, and the next run comes after a backoff (30 s
  doubling, at most the interval or 1 h) instead of the interval; only SIGTERM stops the loop;
- a writing run plans and applies inside the apply lock; when another apply holds it the run
  is skipped and tried again soon (`LOCK_RETRY`);
- notices wait until the webhook answers 2xx (`reconciler.controller.notices`);
- one provider (HTTP pool, request pacer) serves every run, rebuilt only when its config does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.apply.run import keep_pins, plan_run
from reconciler.config.load import Config, load_config
from reconciler.controller.backoff import LockBackoff
from reconciler.controller.eventruns import DEBOUNCE, limited_to, record_unlocks, sort_events
from reconciler.controller.events import Event, Inbox
from reconciler.controller.metrics import Metrics
from reconciler.controller.notices import Notices
from reconciler.controller.reconcile import (
    ApplyLockHeld,
    Clock,
    ProviderFactory,
    ProviderSlot,
    allowed_changes,
    apply_changes,
    as_healing,
    back_off_failed_locks,
    default_provider_factory,
    run_journal,
    with_settled_pins,
    writing_lock,
)
from reconciler.controller.reporting import Reporter, known_pins
from reconciler.controller.results import LOCK_RETRY, RunResults
from reconciler.controller.usage import report_unused_stays
from reconciler.core.models import DeviceId
from reconciler.core.plan import iso
from reconciler.providers.base import Provider

if TYPE_CHECKING:  # psycopg comes with them: only a replica imports them
    from reconciler.controller.replicas import Replica
    from reconciler.controller.sharedinbox import SharedInbox

__all__ = [
    "LOCK_RETRY",
    "ApplyLockHeld",
    "Clock",
    "Controller",
    "ProviderFactory",
    "default_provider_factory",
    "print_event",
]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def print_event(record: dict[str, Any]) -> None:
    """One JSON line per event on stdout (no PINs ever reach a record)."""
    sys.stdout.write(json.dumps(record, default=str) + "\n")  # one write: the lease keeper's
    sys.stdout.flush()  # thread logs too, and lines must not interleave


class Controller:
    """Reconciles one config continuously."""

    def __init__(
        self,
        config_path: Path,
        *,
        interval: float,
        clock: Clock = _utcnow,
        wait: Callable[[float], Awaitable[None]] | None = None,
        emit: Callable[[dict[str, Any]], None] = print_event,
        jitter: float = 0.1,
        rng: Callable[[], float] = random.random,
        provider_factory: ProviderFactory = default_provider_factory,
        state: str | None = None,
    ) -> None:
        self.config_path = config_path
        self.state = state
        self.interval = interval
        self.clock = clock
        self.emit_record = emit
        self.jitter = jitter
        self.rng = rng
        self.wake = asyncio.Event()
        self.stopping = False
        self._wait = wait or self._wait_for_wake
        self.last_config: Config | None = None
        self.metrics = Metrics()
        self.notices = Notices()
        self.lock_backoff = LockBackoff()
        self.providers = ProviderSlot(provider_factory, clock, self.emit)
        self.reporter = Reporter(self.metrics, self.notices, self.emit, self.known_pins)
        self.results = RunResults(
            self.metrics, self.emit, interval=interval, clock=clock, pins=self.known_pins
        )
        self.inbox: Inbox | SharedInbox = Inbox(clock=clock, on_event=self.wake.set)
        self.full_requested = False
        self.replica: Replica | None = None  # with a shared state: this process' leases

    # -- the loop and its waking ---------------------------------------------------------

    async def run(self, *, once: bool = False) -> None:
        """Reconcile until `stop()`; the run in flight always finishes first. No error of one
        run ends the loop: it is logged, counted and backed off. Between full runs, events
        (webhooks, `events/list`) wake the loop for runs of just the devices they name."""
        full_at = delay = 0.0
        while not self.stopping:
            if len(self.inbox) and not self.full_requested and time.monotonic() < full_at:
                await self.run_events()
                delay = max(0.0, full_at - time.monotonic())
            else:
                self.full_requested = False
                next_due = await self.run_once()
                if once or self.stopping:
                    return
                delay = self.next_delay(next_due)
                full_at = time.monotonic() + delay
            if self.full_requested or (len(self.inbox) and time.monotonic() < full_at):
                continue  # an event or a poke came during the run: no need to wait
            await self._wait(delay)

    async def run_events(self) -> None:
        """The events waiting, as one run limited to the devices they name; never raises."""
        await asyncio.sleep(DEBOUNCE)
        started = time.monotonic()
        if not self.stopping:
            self.wake.clear()  # these events' wake: taken now, it is no reason to run again
        try:
            await self.reconcile_events(self.inbox.take())
        except ApplyLockHeld as exc:
            self.results.skipped(str(exc), started)
        except Exception as exc:  # as in run_once: the loop outlives any failure
            self.results.failed(exc, started)

    async def run_once(self) -> datetime | None:
        """One reconcile, then the webhook; never raises. Returns the next due time."""
        started = time.monotonic()
        next_due = None
        try:
            next_due = await self.reconcile()
        except ApplyLockHeld as exc:
            self.results.skipped(str(exc), started)
        except Exception as exc:  # the loop must outlive any one failure, a bug included
            self.results.failed(exc, started)
        else:
            self.results.ok(started)
        try:
            await self.reporter.notify(self._webhook_url())
        except Exception as exc:  # a notice must never stop the loop either
            self.emit("webhook_failed", error=type(exc).__name__)
        return next_due

    def next_delay(self, next_due: datetime | None) -> float:
        """Seconds until the next run: the interval with jitter after a good run, a backoff
        after a failed one, `LOCK_RETRY` after a skipped one; sooner if a change is due."""
        if self.results.last == "error":
            delay = self.results.retry_in()
        else:
            delay = self.interval * (1 + self.jitter * (2 * self.rng() - 1))
            if self.results.last == "skipped":
                delay = min(delay, LOCK_RETRY)
        if next_due is not None:
            delay = min(delay, max(0.0, (next_due - self.clock()).total_seconds()))
        return delay

    def stop(self) -> None:
        """Finish the run in flight, then return from `run` (SIGTERM)."""
        self.stopping = True
        self.wake.set()

    def poke(self) -> None:
        """Run again now, in full (SIGHUP, a config change)."""
        self.full_requested = True
        self.wake.set()

    async def aclose(self) -> None:
        """Close the provider (its HTTP pool) when the controller stops for good."""
        await self.providers.close()

    async def _wait_for_wake(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=delay)
        self.wake.clear()

    def emit(self, event: str, /, **fields: Any) -> None:
        """Log one event."""
        self.emit_record({"ts": iso(self.clock()), "event": event, **fields})

    # -- one run -------------------------------------------------------------------------

    async def reconcile(self) -> datetime | None:
        """Plan, report drift, apply what the self-heal policy allows; return the next due
        time of a deferred change. Raises what went wrong (`run_once` handles it)."""
        config = self.last_config = load_config(self.config_path, state=self.state)
        return await self._reconcile(as_healing(config))

    async def reconcile_events(self, events: list[Event]) -> None:
        """Act on events once each: keep unlocks as usage, reconcile the devices they name."""
        config = as_healing(load_config(self.config_path, state=self.state))
        with run_journal(config) as journal:
            batch = sort_events(events, config, journal, self.clock())
            for unlock in record_unlocks(journal, config, batch.fresh) if journal else ():
                self.metrics.unlocks.labels(unlock.device or unlock.device_id).inc()
                self.emit("unlock", device=unlock.device, name=unlock.name, at=unlock.at)
        self.metrics.events.labels("unmatched").inc(batch.unmatched)
        self.metrics.events.labels("duplicate").inc(batch.duplicates)
        if batch.devices:
            self.emit("event_reconcile", devices=sorted(batch.devices), events=len(batch.fresh))
            await self._reconcile(limited_to(config, batch.devices), targeted=True)

    async def _reconcile(self, config: Config, *, targeted: bool = False) -> datetime | None:
        """One run; a `targeted` one (a few devices, for events) leaves the fleet's drift and
        gauges to the full runs, and records only its outcomes. A replica runs only the
        devices it holds, and writes only under their leases (`fencing`)."""
        provider = await self.providers.get(config)
        if self.replica is not None:
            from reconciler.controller.fencing import FencedProvider

            config = limited_to(config, map(DeviceId, self.replica.devices()))
            provider = FencedProvider(provider, self.replica)
            if not config.devices:
                return None  # nothing held (yet): not even the feeds need reading
        next_due = await self._plan_and_apply(config, provider, targeted=targeted)
        if self.replica is not None and config.devices:
            ids = [d.device_id for d in config.devices]
            await asyncio.to_thread(self.replica.reconciled, ids)
        return next_due

    async def _plan_and_apply(
        self, config: Config, provider: Provider, *, targeted: bool
    ) -> datetime | None:
        with writing_lock(config), run_journal(config) as journal:
            planned = await plan_run(config, provider, now=self.clock(), journal=journal)
            if journal is not None:
                keep_pins(journal, planned, self.clock())
                planned = await with_settled_pins(config, provider, planned, journal, self.clock())
            if not targeted:
                self.reporter.report(config, planned)
                report_unused_stays(config, planned, journal, self.clock(), self.emit)
            plan = planned.plan
            changes = allowed_changes(config, plan, self.lock_backoff, self.clock(), self.emit)
            if changes and journal is not None:
                report = await apply_changes(
                    config,
                    provider,
                    planned,
                    changes,
                    journal=journal,
                    clock=self.clock,
                    emit=self.emit,
                )
                self.reporter.record(report.outcomes)
                back_off_failed_locks(report, self.lock_backoff, self.clock())
            return plan.next_due

    def known_pins(self) -> list[str]:
        """The PINs of the last config read, masked in every message that leaves."""
        return known_pins(self.last_config)

    def _webhook_url(self) -> str | None:
        return self.last_config.settings.webhook_url if self.last_config else None

    # -- health --------------------------------------------------------------------------

    def ready(self) -> bool:
        """The last run succeeded, recently (within three intervals), and a replica's state
        database answered its last lease renewal."""
        if self.replica is not None and not self.replica.status().healthy:
            return False
        last = self.metrics.last_success
        if not self.metrics.last_ok or last is None:
            return False
        return (self.clock() - last).total_seconds() <= 3 * self.interval + 1
