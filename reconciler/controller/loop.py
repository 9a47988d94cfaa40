"""The controller: keep the locks as the config says, report drift, never make things worse.

The loop (`run`) is apart from the work (`reconcile`): a run happens when the config changes,
when a deferred change falls due, every interval (with jitter) and on SIGHUP. What a run may
change follows `settings.self_heal`: `restore` writes creates and updates only, `full` also
deletes within the delete guards, `report` writes nothing. Time and waiting are injected, so
tests drive the loop with a fake clock.

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
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.apply.applier import Outcome
from reconciler.apply.run import PlannedRun, apply_run, journal_path, open_journal, plan_run
from reconciler.config.load import Config, load_config
from reconciler.controller.backoff import BACKOFF_MAX, LockBackoff, backoff
from reconciler.controller.metrics import Metrics
from reconciler.controller.notices import Notices, mask_pins
from reconciler.core.errors import ConfigError, PlanRefused, ProviderError
from reconciler.core.plan import Action, Change, Plan, iso
from reconciler.providers import make_provider
from reconciler.providers.base import Provider
from reconciler.state.journal import Journal
from reconciler.state.lock import apply_lock

Clock = Callable[[], datetime]
ProviderFactory = Callable[[Config, Clock], Provider]
LOCK_RETRY = 30.0  # another apply holds the lock: try again this soon


def _utcnow() -> datetime:
    return datetime.now(UTC)


def print_event(record: dict[str, Any]) -> None:
    """One JSON line per event on stdout (no PINs ever reach a record)."""
    print(json.dumps(record, default=str), flush=True)


def default_provider_factory(config: Config, clock: Clock) -> Provider:
    """The provider the config names (tests inject another factory)."""
    return make_provider(config, clock=clock)


class ApplyLockHeld(PlanRefused):
    """Another apply holds the state directory's lock: this run is skipped, not failed."""


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
    ) -> None:
        self.config_path = config_path
        self.interval = interval
        self.clock = clock
        self.emit_record = emit
        self.jitter = jitter
        self.rng = rng
        self.provider_factory = provider_factory
        self.metrics = Metrics()
        self.wake = asyncio.Event()
        self.stopping = False
        self._wait = wait or self._wait_for_wake
        self.lock_backoff = LockBackoff()
        self.last_config: Config | None = None
        self._known_drift: set[tuple[str, str, str]] = set()
        self.notices = Notices()
        self._provider: Provider | None = None
        self._provider_key: tuple[object, ...] | None = None
        self._last_result = "ok"  # ok | skipped | error: what the next delay depends on
        self._failed_runs = 0  # failed runs in a row

    # -- the loop ------------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> None:
        """Reconcile until `stop()`; the run in flight always finishes first. No error of one
        run ends the loop: it is logged, counted and backed off."""
        while not self.stopping:
            next_due = await self.run_once()
            if once or self.stopping:
                return
            await self._wait(self.next_delay(next_due))

    async def run_once(self) -> datetime | None:
        """One reconcile, then the webhook; never raises. Returns the next due time."""
        started = time.monotonic()
        next_due = None
        try:
            next_due = await self.reconcile()
        except ApplyLockHeld as exc:
            self._skipped(str(exc), started)
        except Exception as exc:  # the loop must outlive any one failure, a bug included
            self._failed(exc, started)
        else:
            self._failed_runs = 0
            self._finish("ok", started)
        try:
            await self._notify()
        except Exception as exc:  # a notice must never stop the loop either
            self.emit("webhook_failed", error=type(exc).__name__)
        return next_due

    def next_delay(self, next_due: datetime | None) -> float:
        """Seconds until the next run: the interval with jitter after a good run, a backoff
        after a failed one, `LOCK_RETRY` after a skipped one; sooner if a change is due."""
        if self._last_result == "error":
            delay = backoff(self._failed_runs, min(self.interval, BACKOFF_MAX))
        else:
            delay = self.interval * (1 + self.jitter * (2 * self.rng() - 1))
            if self._last_result == "skipped":
                delay = min(delay, LOCK_RETRY)
        if next_due is not None:
            delay = min(delay, max(0.0, (next_due - self.clock()).total_seconds()))
        return delay

    def stop(self) -> None:
        """Finish the run in flight, then return from `run` (SIGTERM)."""
        self.stopping = True
        self.wake.set()

    def poke(self) -> None:
        """Run again now (SIGHUP, a config change)."""
        self.wake.set()

    async def aclose(self) -> None:
        """Close the provider (its HTTP pool) when the controller stops for good."""
        await self._close_provider()

    async def _wait_for_wake(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=delay)
        self.wake.clear()

    def emit(self, event: str, **fields: Any) -> None:
        """Log one event."""
        self.emit_record({"ts": iso(self.clock()), "event": event, **fields})

    # -- one run -------------------------------------------------------------------------

    async def reconcile(self) -> datetime | None:
        """Plan, report drift, apply what the self-heal policy allows; return the next due
        time of a deferred change. Raises what went wrong (`run_once` handles it)."""
        config = load_config(self.config_path)
        self.last_config = config
        policy = config.settings.self_heal
        if policy == "full":
            config = replace(config, settings=replace(config.settings, prune=True))
        provider = await self._provider_for(config)
        with contextlib.ExitStack() as held:
            if policy != "report":  # plan and apply from a state no other apply is changing
                try:
                    held.enter_context(apply_lock(journal_path(config).parent, wait=0))
                except PlanRefused as exc:
                    raise ApplyLockHeld(str(exc)) from exc
            return await self._plan_and_apply(config, provider)

    async def _plan_and_apply(self, config: Config, provider: Provider) -> datetime | None:
        journal = open_journal(config, create=config.settings.self_heal != "report")
        try:
            planned = await plan_run(config, provider, now=self.clock(), journal=journal)
            self._report(config, planned)
            changes = self._allowed(config, planned.plan)
            if changes and journal is not None:
                await self._apply(config, provider, planned, changes, journal)
            return planned.plan.next_due
        finally:
            if journal is not None:
                journal.close()

    async def _provider_for(self, config: Config) -> Provider:
        """The process's provider; a new one (the old one closed) only when the config's
        provider section or the settings that shape it change, so the request pacer keeps what
        it learnt about rate limits."""
        key = (config.base_dir, config.provider, config.settings.concurrency)
        if self._provider is None or key != self._provider_key:
            await self._close_provider()
            self._provider = self.provider_factory(config, self.clock)
            self._provider_key = key
        return self._provider

    async def _close_provider(self) -> None:
        provider, self._provider, self._provider_key = self._provider, None, None
        if provider is None:
            return
        try:
            await provider.aclose()
        except Exception as exc:
            self.emit("provider_close_failed", kind=type(exc).__name__)

    def _finish(self, result: str, started: float) -> None:
        self._last_result = "ok" if result == "ok" else "error"
        self.metrics.reconciles[result] += 1
        self.metrics.last_duration = time.monotonic() - started
        self.metrics.duration_sum += self.metrics.last_duration
        self.metrics.last_ok = result == "ok"
        if result == "ok":
            self.metrics.last_success = self.clock()
        self.emit("reconciled", result=result, seconds=round(self.metrics.last_duration, 3))

    def _failed(self, exc: Exception, started: float) -> None:
        """Log, count and back off a failed run (the message masked: it may quote a PIN)."""
        self._failed_runs += 1
        kind = type(exc).__name__
        self.metrics.reconcile_errors[kind] += 1
        retry_in = backoff(self._failed_runs, min(self.interval, BACKOFF_MAX))
        if isinstance(exc, ConfigError):
            self.emit("config_invalid", problems=[str(p) for p in exc.problems])
            self._finish("config_error", started)
            return
        message = mask_pins(str(exc), self._known_pins())
        if isinstance(exc, ProviderError):
            self.metrics.provider_errors[exc.code or "unknown"] += 1
            self.emit(
                "provider_error", kind=kind, code=exc.code, message=message, retry_in=retry_in
            )
            self._finish("provider_error", started)
            return
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
        self.emit("reconcile_error", kind=kind, message=message, at=where, retry_in=retry_in)
        self._finish("error", started)

    def _skipped(self, reason: str, started: float) -> None:
        """Another apply holds the lock: not a failure, and readiness stays as it was."""
        self._last_result = "skipped"
        self.metrics.reconciles["skipped"] += 1
        self.emit("skipped", reason=reason, retry_in=min(self.interval, LOCK_RETRY))
        self.emit("reconciled", result="skipped", seconds=round(time.monotonic() - started, 3))

    def _known_pins(self) -> list[str]:
        config = self.last_config
        if config is None:
            return []
        return [c.code for d in config.devices for c in d.codes if c.code]

    def _report(self, config: Config, planned: PlannedRun) -> None:
        plan = planned.plan
        self.metrics.drift = Counter(str(d.kind) for d in plan.drift)
        self.metrics.codes_managed = sum(len(d.codes) for d in planned.live.values())
        current = set()
        for drift in plan.drift:
            self.emit("drift", **drift.to_data())
            key = (drift.device, drift.name, str(drift.kind))
            current.add(key)
            if key not in self._known_drift:
                self._notice(
                    f"drift on {drift.device} / {drift.name}: {drift.kind} ({drift.detail})"
                )
        self._known_drift = current
        due = plan.due()
        for device in config.devices:
            live = planned.live.get(device.device_id)
            out_of_sync = any(c.device == device.key for c in due) or any(
                c.device == device.key and c.action is Action.BLOCKED for c in plan.changes
            )
            codes = live.codes if live else ()
            if live is None or live.read_error or any(c.errors for c in codes):
                health = "degraded"
            elif any(str(c.status) == "setting" for c in codes):
                health = "progressing"
            else:
                health = "healthy"
            sync = "out_of_sync" if out_of_sync else "in_sync"
            if self.metrics.devices.get(device.key) != (sync, health):
                self.emit("device_status", device=device.key, sync=sync, health=health)
            self.metrics.devices[device.key] = (sync, health)

    def _allowed(self, config: Config, plan: Plan) -> list[Change]:
        """The due changes the self-heal policy and the backoff let through."""
        policy = config.settings.self_heal
        if policy == "report":
            return []
        now = self.clock()
        changes = [c for c in plan.due() if not self.lock_backoff.waiting(c.device_id, now)]
        if policy == "restore":
            return [c for c in changes if c.action is not Action.DELETE]
        refusals = plan.refusals(
            max_deletes=config.settings.max_deletes,
            max_deletes_per_device=config.settings.max_deletes_per_device,
        )
        if refusals:
            self.emit("guard", reasons=refusals, detail="deletes skipped; apply with --force")
            return [c for c in changes if c.action is not Action.DELETE]
        return changes

    async def _apply(
        self,
        config: Config,
        provider: Provider,
        planned: PlannedRun,
        changes: list[Change],
        journal: Journal,
    ) -> None:
        subset = PlannedRun(replace(planned.plan, changes=tuple(changes)), planned.live)
        report = await apply_run(config, provider, subset, journal=journal, clock=self.clock)
        for outcome in report.outcomes:
            self._record(outcome)
        # a pending change (accepted, still being set) is not a failure of its lock
        failed = {o.change.device_id for o in report.outcomes if not o.ok}
        tried = (o.change.device_id for o in report.outcomes)
        self.lock_backoff.record(tried, failed, self.clock())

    def _record(self, outcome: Outcome) -> None:
        """Count, log and (when it failed) queue a notice for one change's outcome."""
        change = outcome.change
        result = str(outcome.state)  # ok, pending, failed, unknown, skipped
        self.metrics.changes[(str(change.action), result)] += 1
        message = mask_pins(outcome.message, self._known_pins())
        if not outcome.ok:
            if outcome.error_code:
                self.metrics.provider_errors[outcome.error_code] += 1
            self._notice(
                f"{change.action} of {change.device} / {change.name} {result}: "
                f"{outcome.error_code or message}"
            )
        self.emit(
            "change",
            device=change.device,
            name=change.name,
            action=str(change.action),
            result=result,
            error_code=outcome.error_code,
            message=message,
        )

    def _notice(self, text: str) -> None:
        self.notices.add(mask_pins(text, self._known_pins()))
        self.metrics.notices_pending = len(self.notices)

    async def _notify(self) -> None:
        """Send the waiting notices to the webhook, if one is set; they stay queued until it
        answers 2xx."""
        url = self.last_config.settings.webhook_url if self.last_config else None
        if not url:
            self.notices.clear()  # nobody to tell
        elif len(self.notices):
            event, fields = await self.notices.send(url)
            self.emit(event, **fields)
        self.metrics.notices_pending = len(self.notices)

    # -- health --------------------------------------------------------------------------

    def ready(self) -> bool:
        """The last run succeeded, recently (within three intervals)."""
        last = self.metrics.last_success
        if not self.metrics.last_ok or last is None:
            return False
        return (self.clock() - last).total_seconds() <= 3 * self.interval + 1
