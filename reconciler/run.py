"""One plan or apply run, from a loaded config to a plan and an apply report.

The CLI, the controller and the GitHub Action all go through these two functions, so what is
shown is what is done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from reconciler.applier import ApplyReport, Outcome, apply_plan
from reconciler.config import Config
from reconciler.inventory import read_live
from reconciler.models import DeviceId, LiveDevice
from reconciler.plan import Plan
from reconciler.planner import plan as make_plan
from reconciler.providers.base import Provider


@dataclass(frozen=True)
class PlannedRun:
    """A plan and the live state it was made from (the applier needs both)."""

    plan: Plan
    live: dict[DeviceId, LiveDevice]


async def plan_run(config: Config, provider: Provider, *, now: datetime) -> PlannedRun:
    """Read the listed devices and plan them against the config."""
    device_ids = [d.device_id for d in config.devices]
    live = await read_live(provider, device_ids, concurrency=config.settings.concurrency)
    result = make_plan(config.devices, live, now=now, settings=config.settings)
    return PlannedRun(result, live)


async def apply_run(
    config: Config,
    provider: Provider,
    planned: PlannedRun,
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> ApplyReport:
    """Carry out the due changes of a plan made by `plan_run`."""
    return await apply_plan(
        planned.plan,
        provider,
        planned.live,
        concurrency=config.settings.concurrency,
        on_outcome=on_outcome,
    )
