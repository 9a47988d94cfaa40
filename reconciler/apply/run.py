"""One plan or apply run, from a loaded config to a plan and an apply report.

The CLI, the controller and the GitHub Action all go through these functions, so what is
shown is what is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.apply.applier import ApplyReport, ConfirmWait, Outcome, apply_plan
from reconciler.apply.inventory import read_live
from reconciler.config.load import Config
from reconciler.core.models import DeviceId, LiveDevice
from reconciler.core.plan import Plan
from reconciler.planning.drift import LastWritten
from reconciler.planning.planner import plan as make_plan
from reconciler.providers.base import Provider
from reconciler.state.journal import Journal


@dataclass(frozen=True)
class PlannedRun:
    """A plan and the live state it was made from (the applier needs both)."""

    plan: Plan
    live: dict[DeviceId, LiveDevice]


def journal_path(config: Config) -> Path:
    """Where this config's journal lives."""
    return config.base_dir / config.settings.state_db


def open_journal(config: Config, *, create: bool) -> Journal | None:
    """The config's journal; None when it does not exist yet and `create` is false (a plan
    reads the journal but never creates one)."""
    path = journal_path(config)
    if not create and not path.exists():
        return None
    return Journal(path)


async def plan_run(
    config: Config,
    provider: Provider,
    *,
    now: datetime,
    journal: Journal | None = None,
    on_device_read: Callable[[], None] | None = None,
) -> PlannedRun:
    """Read the listed devices and plan them against the config; `on_device_read` is called
    once per device read (the CLI's progress bar)."""
    device_ids = [d.device_id for d in config.devices]
    live = await read_live(
        provider, device_ids, concurrency=config.settings.concurrency, on_read=on_device_read
    )
    last_written = None
    if journal is not None:
        last_written = LastWritten(journal.written(list(live)), journal.fingerprint)
    result = make_plan(
        config.devices, live, now=now, settings=config.settings, last_written=last_written
    )
    return PlannedRun(result, live)


async def apply_run(
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    *,
    journal: Journal | None = None,
    clock: Callable[[], datetime] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    confirm: ConfirmWait | None = None,
) -> ApplyReport:
    """Carry out the due changes of a plan made by `plan_run`, recording them in `journal`.

    The run is always closed in the journal, `failed` if any change did not go through or an
    error escaped, else `ok`: only a killed process leaves a run `running`.
    """
    now = clock or (lambda: planned.plan.now)
    run_id = 0
    if journal is not None:
        run_id = journal.start_run(command="apply", plan_checksum=planned.plan.checksum, now=now())
    result = "failed"
    try:
        report = await apply_plan(
            planned.plan,
            provider,
            planned.live,
            concurrency=config.settings.concurrency,
            on_outcome=on_outcome,
            journal=journal,
            run_id=run_id,
            clock=now,
            confirm=confirm,
        )
        result = "failed" if report.failed else "ok"
        return report
    finally:
        if journal is not None:
            journal.finish_run(run_id, result, now())
