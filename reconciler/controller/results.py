"""How a run ended (ok, failed, skipped): its events, its counts, and what the next wait
depends on.

A failed run is one event without PINs (the message masked: an exception may quote one),
counted by the error's type, and backed off (30 s doubling, at most the interval or 1 h); a run
skipped because another apply holds the lock is neither a failure nor a success, so readiness
stays as it was.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from reconciler.controller.backoff import BACKOFF_MAX, backoff
from reconciler.controller.metrics import Metrics
from reconciler.controller.notices import mask_pins
from reconciler.controller.reporting import Emit
from reconciler.core.errors import ConfigError, ProviderError

LOCK_RETRY = 30.0  # another apply holds the lock: try again this soon


class RunResults:
    """The end of each run, and the failures in a row the next delay is backed off by."""

    def __init__(
        self,
        metrics: Metrics,
        emit: Emit,
        *,
        interval: float,
        clock: Callable[[], datetime],
        pins: Callable[[], Iterable[str]],
    ) -> None:
        self.metrics = metrics
        self.emit = emit
        self.interval = interval
        self.clock = clock
        self.pins = pins
        self.last = "ok"  # ok | skipped | error: what the next delay depends on
        self.failures = 0  # failed runs in a row

    def retry_in(self) -> float:
        """Seconds to wait after the failures so far."""
        return backoff(self.failures, min(self.interval, BACKOFF_MAX))

    def ok(self, started: float) -> None:
        """A good run: the backoff starts afresh."""
        self.failures = 0
        self._finish("ok", started)

    def failed(self, exc: Exception, started: float) -> None:
        """Log, count and back off a failed run."""
        self.failures += 1
        kind = type(exc).__name__
        self.metrics.reconcile_errors.labels(kind).inc()
        retry_in = self.retry_in()
        if isinstance(exc, ConfigError):
            self.emit("config_invalid", problems=[str(p) for p in exc.problems])
            self._finish("config_error", started)
            return
        message = mask_pins(str(exc), self.pins())
        if isinstance(exc, ProviderError):
            self.metrics.provider_errors.labels(exc.code or "unknown").inc()
            self.emit(
                "provider_error", kind=kind, code=exc.code, message=message, retry_in=retry_in
            )
            self._finish("provider_error", started)
            return
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
        self.emit("reconcile_error", kind=kind, message=message, at=where, retry_in=retry_in)
        self._finish("error", started)

    def skipped(self, reason: str, started: float) -> None:
        """Another apply holds the lock: tried again soon, readiness left as it was."""
        self.last = "skipped"
        seconds = time.monotonic() - started
        self.metrics.reconciles.labels("skipped").inc()
        self.metrics.duration.observe(seconds)
        self.emit("skipped", reason=reason, retry_in=min(self.interval, LOCK_RETRY))
        self.emit("reconciled", result="skipped", seconds=round(seconds, 3))

    def _finish(self, result: str, started: float) -> None:
        self.last = "ok" if result == "ok" else "error"
        seconds = time.monotonic() - started
        metrics = self.metrics
        metrics.reconciles.labels(result).inc()
        metrics.duration.observe(seconds)
        metrics.last_duration.set(seconds)
        metrics.last_ok = result == "ok"
        if result == "ok":
            metrics.last_success = self.clock()
        self.emit("reconciled", result=result, seconds=round(seconds, 3))
