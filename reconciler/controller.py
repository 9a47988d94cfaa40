"""The controller: keep the locks as the config says, report drift, never make things worse.

The loop (`run`) is apart from the work (`reconcile`): a run happens when the config changes,
when a deferred change falls due, every interval (with jitter) and on SIGHUP. What a run may
change follows `settings.self_heal`: `restore` writes creates and updates only, `full` also
deletes within the delete guards, `report` writes nothing. A lock whose writes failed is left
alone for a while (exponential backoff) so a broken lock cannot eat the API's rate limit.
Time and waiting are injected, so tests drive the loop with a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from reconciler.config import Config, load_config
from reconciler.errors import ConfigError, PlanRefused, ProviderError
from reconciler.metrics import Metrics
from reconciler.models import DeviceId
from reconciler.plan import Action, Change, Plan, iso
from reconciler.providers import make_provider
from reconciler.run import PlannedRun, apply_run, journal_path, open_journal, plan_run
from reconciler.statelock import apply_lock

Clock = Callable[[], datetime]
BACKOFF_BASE = 30.0
BACKOFF_MAX = 3600.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def print_event(record: dict[str, Any]) -> None:
    """One JSON line per event on stdout (no PINs ever reach a record)."""
    print(json.dumps(record, default=str), flush=True)


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
    ) -> None:
        self.config_path = config_path
        self.interval = interval
        self.clock = clock
        self.emit_record = emit
        self.jitter = jitter
        self.rng = rng
        self.metrics = Metrics()
        self.wake = asyncio.Event()
        self.stopping = False
        self._wait = wait or self._wait_for_wake
        self._failures: dict[DeviceId, tuple[int, datetime]] = {}
        self.last_config: Config | None = None
        self._known_drift: set[tuple[str, str, str]] = set()
        self._notices: list[str] = []

    # -- the loop ------------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> None:
        """Reconcile until `stop()`; the run in flight always finishes first."""
        while not self.stopping:
            next_due = await self.reconcile()
            if once or self.stopping:
                return
            await self._wait(self.next_delay(next_due))

    def next_delay(self, next_due: datetime | None) -> float:
        """Seconds until the next run: the interval with jitter, or sooner if a change is due."""
        delay = self.interval * (1 + self.jitter * (2 * self.rng() - 1))
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
        time of a deferred change."""
        started = time.monotonic()
        now = self.clock()
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            self._finish("config_error", started)
            self.emit("config_invalid", problems=[str(p) for p in exc.problems])
            return None
        self.last_config = config
        policy = config.settings.self_heal
        if policy == "full":
            config = replace(config, settings=replace(config.settings, prune=True))
        provider = make_provider(config, clock=self.clock)
        journal = open_journal(config, create=policy != "report")
        try:
            planned = await plan_run(config, provider, now=now, journal=journal)
            self._report(config, planned)
            changes = self._allowed(config, planned.plan)
            if changes:
                await self._apply(config, provider, planned, changes, journal)
            self._finish("ok", started)
            await self._notify(config)
            return planned.plan.next_due
        except ProviderError as exc:
            self.metrics.provider_errors[exc.code or "unknown"] += 1
            self.emit("provider_error", code=exc.code, message=str(exc))
            self._finish("provider_error", started)
            return None
        finally:
            await provider.aclose()
            if journal is not None:
                journal.close()

    def _finish(self, result: str, started: float) -> None:
        self.metrics.reconciles[result] += 1
        self.metrics.last_duration = time.monotonic() - started
        self.metrics.duration_sum += self.metrics.last_duration
        self.metrics.last_ok = result == "ok"
        if result == "ok":
            self.metrics.last_success = self.clock()
        self.emit("reconciled", result=result, seconds=round(self.metrics.last_duration, 3))

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
                self._notices.append(
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
            if live is None or any(c.errors for c in codes):
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
        changes = [c for c in plan.due() if not self._backing_off(c.device_id, now)]
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

    def _backing_off(self, device_id: DeviceId, now: datetime) -> bool:
        failures, until = self._failures.get(device_id, (0, now))
        return failures > 0 and now < until

    async def _apply(
        self,
        config: Config,
        provider: Any,
        planned: PlannedRun,
        changes: list[Change],
        journal: Any,
    ) -> None:
        subset = PlannedRun(replace(planned.plan, changes=tuple(changes)), planned.live)
        journal = journal or open_journal(config, create=True)
        try:
            with apply_lock(journal_path(config).parent, wait=0):
                report = await apply_run(
                    config, provider, subset, journal=journal, clock=self.clock
                )
        except PlanRefused as exc:
            self.emit("skipped", reason=str(exc))
            return
        failed_devices: set[DeviceId] = set()
        for outcome in report.outcomes:
            change = outcome.change
            result = "ok" if outcome.ok else "failed"
            self.metrics.changes[(str(change.action), result)] += 1
            if not outcome.ok:
                failed_devices.add(change.device_id)
                if outcome.error_code:
                    self.metrics.provider_errors[outcome.error_code] += 1
            if not outcome.ok:
                self._notices.append(
                    f"{change.action} of {change.device} / {change.name} failed: "
                    f"{outcome.error_code or outcome.message}"
                )
            self.emit(
                "change",
                device=change.device,
                name=change.name,
                action=str(change.action),
                result=result,
                error_code=outcome.error_code,
                message=outcome.message,
            )
        now = self.clock()
        for outcome in report.outcomes:
            device_id = outcome.change.device_id
            if device_id in failed_devices:
                count = self._failures.get(device_id, (0, now))[0] + 1
                delay = min(BACKOFF_BASE * 2 ** (count - 1), BACKOFF_MAX)
                self._failures[device_id] = (count, now + timedelta(seconds=delay))
            else:
                self._failures.pop(device_id, None)

    async def _notify(self, config: Config) -> None:
        """Send new drift and failures to the webhook, if one is set (best effort)."""
        notices, self._notices = self._notices, []
        url = config.settings.webhook_url
        if not notices or not url:
            return
        text = "accesscodes: " + "; ".join(notices)
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(url, json={"text": text, "events": notices})
            self.emit("webhook", status=response.status_code)
        except httpx.HTTPError as exc:
            self.emit("webhook_failed", error=type(exc).__name__)

    # -- health --------------------------------------------------------------------------

    def ready(self) -> bool:
        """The last run succeeded, recently (within three intervals)."""
        last = self.metrics.last_success
        if not self.metrics.last_ok or last is None:
            return False
        return (self.clock() - last).total_seconds() <= 3 * self.interval + 1
