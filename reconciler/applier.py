"""Carry out the due changes of a plan, device by device, and report each one.

Devices are written concurrently (bounded); within a device changes run in the plan's order. A
failed change does not stop the others: the report lists every outcome and the command exits 1
if any failed. Nothing is remembered between runs beyond the locks themselves, so re-running
after a failure plans only what is still missing and converges.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from reconciler.errors import AccessCodesError, ProviderError
from reconciler.journal import Journal
from reconciler.models import AccessCodeId, CodeSpec, DeviceId, LiveCode, LiveDevice, WrittenCode
from reconciler.plan import Action, Change, Plan
from reconciler.providers.base import Provider
from reconciler.rules import generate_pin


@dataclass(frozen=True)
class Outcome:
    """What happened to one change."""

    change: Change
    ok: bool
    message: str
    error_code: str | None = None
    access_code_id: str | None = None
    written: CodeSpec | None = field(default=None, repr=False)
    status: str | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyReport:
    """Every outcome of one apply, in the order the changes ran per device."""

    outcomes: tuple[Outcome, ...]

    @property
    def failed(self) -> list[Outcome]:
        """The changes that did not go through."""
        return [o for o in self.outcomes if not o.ok]

    def counts(self) -> dict[str, int]:
        """How many changes of each action succeeded, and how many failed."""
        out = {"create": 0, "update": 0, "delete": 0, "failed": 0}
        for outcome in self.outcomes:
            out["failed" if not outcome.ok else str(outcome.change.action)] += 1
        return out


async def apply_plan(
    plan: Plan,
    provider: Provider,
    live: Mapping[DeviceId, LiveDevice],
    *,
    concurrency: int,
    on_outcome: Callable[[Outcome], None] | None = None,
    journal: Journal | None = None,
    run_id: int = 0,
    clock: Callable[[], datetime] | None = None,
) -> ApplyReport:
    """Make the plan's due changes through `provider`; never raises for a single failure."""
    by_device: dict[DeviceId, list[Change]] = defaultdict(list)
    for change in plan.due():
        by_device[change.device_id].append(change)
    gate = asyncio.Semaphore(concurrency)
    outcomes: list[Outcome] = []
    now = clock or (lambda: plan.now)
    planned_pins = _planned_pins(plan)

    async def run_device(device_id: DeviceId, changes: list[Change]) -> None:
        async with gate:
            taken = _taken_pins(live[device_id], planned_pins.get(device_id, set()))
            for change in changes:
                entry = journal.before_send(run_id, change, now()) if journal else 0
                outcome = await _apply_one(change, provider, live[device_id], taken)
                if journal is not None:
                    _record(journal, entry, outcome, now())
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)

    await asyncio.gather(*(run_device(d, cs) for d, cs in by_device.items()))
    return ApplyReport(tuple(outcomes))


def _record(journal: Journal, entry: int, outcome: Outcome, now: datetime) -> None:
    """The outcome, and what we wrote (as a fingerprint) or that the code is gone."""
    change = outcome.change
    journal.after_send(
        entry,
        ok=outcome.ok,
        access_code_id=outcome.access_code_id,
        error_code=outcome.error_code,
        message=outcome.message,
    )
    if not outcome.ok:
        return
    if change.action is Action.DELETE and change.access_code_id:
        journal.forget(change.access_code_id)
    elif outcome.written is not None and outcome.written.code and outcome.access_code_id:
        written = outcome.written
        mark = journal.fingerprint(written.code, written.starts_at, written.ends_at)
        journal.remember(
            WrittenCode(
                AccessCodeId(outcome.access_code_id),
                change.device_id,
                written.name,
                mark,
                now,
                written.ends_at,
            )
        )


def _planned_pins(plan: Plan) -> dict[DeviceId, set[str]]:
    """Each device's PINs that the plan means to hold: one pass, not one per device."""
    pins: dict[DeviceId, set[str]] = defaultdict(set)
    for change in plan.changes:
        if change.after and change.after.code:
            pins[change.device_id].add(change.after.code)
    return pins


def _taken_pins(live: LiveDevice, planned: set[str]) -> set[str]:
    """PINs a generated one must not clash with: on the lock now, or planned for it."""
    return {c.code for c in (*live.codes, *live.unmanaged) if c.code} | planned


async def _apply_one(
    change: Change, provider: Provider, live: LiveDevice, taken: set[str]
) -> Outcome:
    try:
        if change.action is Action.CREATE:
            assert change.spec is not None
            spec = change.spec
            if spec.code is None and not spec.offline:
                spec = replace(spec, code=generate_pin(live.device.capabilities, taken=taken))
            created = await provider.create_code(change.device_id, spec)
            if created.code:
                taken.add(created.code)
            written = replace(
                spec, code=created.code, starts_at=created.starts_at, ends_at=created.ends_at
            )
            return Outcome(
                change,
                True,
                f"created ({created.access_code_id})",
                access_code_id=created.access_code_id,
                written=written,
                status=str(created.status),
                errors=tuple(e.code for e in created.errors),
            )
        current = _live_code(change, live)
        if change.action is Action.UPDATE:
            assert change.spec is not None
            await provider.update_code(current, change.spec)
            written = replace(change.spec, code=change.spec.code or current.code)
            return Outcome(
                change,
                True,
                f"updated {', '.join(change.changed)}",
                access_code_id=current.access_code_id,
                written=written,
            )
        if change.action is Action.DELETE:
            await provider.delete_code(current)
            return Outcome(change, True, "deleted")
        return Outcome(change, False, f"cannot apply a {change.action} change")
    except ProviderError as exc:
        return Outcome(change, False, str(exc), exc.code)
    except AccessCodesError as exc:
        return Outcome(change, False, str(exc))


def _live_code(change: Change, live: LiveDevice) -> LiveCode:
    for code in live.codes:
        if code.access_code_id == change.access_code_id:
            return code
    raise AccessCodesError(f"code {change.access_code_id} is no longer on {change.device_id}")
