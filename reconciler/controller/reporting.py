"""What a run found and did, told: drift and device status events, change outcomes, the metrics
they move, and the webhook notices for a person.

Kept apart from the loop and from the run's steps so that every word leaving the process (an
event, a notice) is made in one place, masked of PINs. A drift or a device status is logged at
every run, but noticed (posted to the webhook) only when it is new.

The reporter also keeps what the status page at `/` shows (controller/statuspage.py): the last
full run's config and plan, the drift seen recently (each new finding, with when it was
found: a drift the same run healed is still worth seeing) and the recent failed changes.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from reconciler.apply.applier import Outcome
from reconciler.apply.run import PlannedRun
from reconciler.config.load import Config
from reconciler.controller.metrics import Metrics
from reconciler.controller.notices import Notices, mask_pins
from reconciler.core.plan import Action, Drift, Plan
from reconciler.views.status import FailedChange

RECENT = 50  # drift findings and failed changes the status page keeps


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Emit(Protocol):
    """Log one event (`Controller.emit`): its name and fields, never a PIN."""

    def __call__(self, event: str, /, **fields: Any) -> None: ...


def known_pins(config: Config | None) -> list[str]:
    """The PINs of a config, to mask wherever a message might quote one."""
    if config is None:
        return []
    return [c.code for d in config.devices for c in d.codes if c.code]


def device_status(config: Config, planned: PlannedRun) -> dict[str, tuple[str, str]]:
    """Each listed lock's (sync, health), like Argo CD's: `in_sync`/`out_of_sync` and
    `healthy`, `progressing` (a code still being set) or `degraded` (unreadable, a code
    failing)."""
    plan = planned.plan
    due = plan.due()
    status: dict[str, tuple[str, str]] = {}
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
        status[device.key] = ("out_of_sync" if out_of_sync else "in_sync", health)
    return status


class Reporter:
    """Turns a run's plan and outcomes into events, metrics and notices."""

    def __init__(
        self,
        metrics: Metrics,
        notices: Notices,
        emit: Emit,
        pins: Callable[[], Iterable[str]],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.metrics = metrics
        self.notices = notices
        self.emit = emit
        self.pins = pins
        self.clock = clock
        self._known_drift: set[tuple[str, str, str]] = set()
        self.last_config: Config | None = None
        self.last_planned: PlannedRun | None = None
        self.recent_drift: collections.deque[tuple[datetime, Drift]] = collections.deque(
            maxlen=RECENT
        )
        self.failed: collections.deque[FailedChange] = collections.deque(maxlen=RECENT)

    def report(self, config: Config, planned: PlannedRun) -> None:
        """What a plan found: drift (noticed when new) and each lock's status (logged when it
        changed), and the gauges that show them; the run is kept for the status page."""
        self.last_config, self.last_planned = config, planned
        self.metrics.codes_managed.set(sum(len(d.codes) for d in planned.live.values()))
        for warning in planned.plan.warnings:  # a reservation feed not believed this time
            self.emit("source_warning", detail=warning)
        self.drift(planned.plan)
        for key, status in device_status(config, planned).items():
            if self.metrics.devices.get(key) != status:
                self.emit("device_status", device=key, sync=status[0], health=status[1])
            self.metrics.devices[key] = status

    def drift(self, plan: Plan) -> None:
        """Log every drift, count it by kind, and notice the drift not seen at the last run."""
        self.metrics.drift = collections.Counter(str(d.kind) for d in plan.drift)
        current: set[tuple[str, str, str]] = set()
        for drift in plan.drift:
            self.emit("drift", **drift.to_data())
            key = (drift.device, drift.name, str(drift.kind))
            current.add(key)
            if key not in self._known_drift:
                self.recent_drift.appendleft((plan.now, drift))
                self.notice(
                    f"drift on {drift.device} / {drift.name}: {drift.kind} ({drift.detail})"
                )
        self._known_drift = current

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Count and log each change's outcome; a failed one is also noticed."""
        for outcome in outcomes:
            self._record(outcome)

    def _record(self, outcome: Outcome) -> None:
        change = outcome.change
        result = str(outcome.state)  # ok, pending, failed, unknown, skipped
        self.metrics.changes.labels(str(change.action), result).inc()
        message = mask_pins(outcome.message, self.pins())
        if not outcome.ok:
            if outcome.error_code:
                self.metrics.provider_errors.labels(outcome.error_code).inc()
            self.notice(
                f"{change.action} of {change.device} / {change.name} {result}: "
                f"{outcome.error_code or message}"
            )
            self.failed.appendleft(
                FailedChange(
                    self.clock(),
                    change.device,
                    change.name,
                    str(change.action),
                    result,
                    outcome.error_code or message,
                )
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

    def notice(self, text: str) -> None:
        """Queue a notice for the webhook (masked)."""
        self.notices.add(mask_pins(text, self.pins()))
        self.metrics.notices_pending.set(len(self.notices))

    async def notify(self, url: str | None) -> None:
        """Send the waiting notices to the webhook, if one is set; they stay queued until it
        answers 2xx."""
        if not url:
            self.notices.clear()  # nobody to tell
        elif len(self.notices):
            event, fields = await self.notices.send(url)
            self.emit(event, **fields)
        self.metrics.notices_pending.set(len(self.notices))
