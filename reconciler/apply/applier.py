"""Carry out the due changes of a plan, device by device, and report each one.

Devices are written concurrently (bounded); within a device changes run in the plan's order.
One failure stays one failure: whatever goes wrong in one change (a provider's refusal, or a bug
such as a RuntimeError) becomes that change's outcome, and the other changes and devices go on.
Nobody loses a code before its replacement is in place: once a create on a lock has failed (or
may have), that lock's later deletes are not sent, and a delete that a new code replaces
(`Change.replaced_by`) waits until the lock reports the new code set. Every outcome has a state
(`OutcomeState`); apply exits 1 on any failed, unknown or skipped one. Nothing is remembered
between runs beyond the locks and the journal, so re-running plans only what is still missing.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from reconciler.core.errors import (
    AccessCodesError,
    ActionPending,
    LeaseLost,
    ProviderError,
    WriteOutcomeUnknown,
    mask_digits,
    mask_secrets,
)
from reconciler.core.models import (
    AccessCodeId,
    CodeSpec,
    CodeStatus,
    DeviceId,
    LiveCode,
    LiveDevice,
    WrittenCode,
)
from reconciler.core.plan import Action, Change, Plan
from reconciler.core.rules import generate_pin
from reconciler.providers.base import Provider
from reconciler.state.journal import Journal

if TYPE_CHECKING:
    from reconciler.apply.backup import BackupPull

SKIPPED_AFTER_FAILED_CREATE = (
    "not sent: a create on this lock failed; nobody loses a code until it is in place"
)


class OutcomeState(StrEnum):
    """How one change ended; the journal records it as the change's status."""

    OK = "ok"  # done
    PENDING = "pending"  # accepted, still in progress at the provider: not a failure
    FAILED = "failed"  # did not happen
    UNKNOWN = "unknown"  # may or may not have happened: the next plan decides
    SKIPPED = "skipped"  # not sent, for safety (a delete after a failed create on the lock)


NOT_DONE = frozenset({OutcomeState.FAILED, OutcomeState.UNKNOWN, OutcomeState.SKIPPED})


@dataclass(frozen=True)
class Outcome:
    """What happened to one change; `message` never holds a PIN."""

    change: Change
    state: OutcomeState
    message: str
    error_code: str | None = None
    access_code_id: str | None = None
    written: CodeSpec | None = field(default=None, repr=False)
    status: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Done, or accepted and still under way: nothing for a person to do."""
        return self.state in (OutcomeState.OK, OutcomeState.PENDING)


@dataclass(frozen=True)
class ApplyReport:
    """Every outcome of one apply, in the order the changes ran per device, and the backup
    codes pulled after them (`apply.backup`: not changes of the plan, so never counted)."""

    outcomes: tuple[Outcome, ...]
    backups: tuple[BackupPull, ...] = ()

    @property
    def failed(self) -> list[Outcome]:
        """The changes that did not go through, may not have, or were held back: apply exits 1
        on any of them."""
        return [o for o in self.outcomes if o.state in NOT_DONE]

    def counts(self) -> dict[str, int]:
        """Done changes per action (pending ones included, and also counted under `pending`),
        and how many failed, are unknown or were skipped."""
        out = dict.fromkeys(("create", "update", "delete", *map(str, OutcomeState)), 0)
        del out[str(OutcomeState.OK)]
        for outcome in self.outcomes:
            if outcome.ok:
                out[str(outcome.change.action)] += 1
            if outcome.state is not OutcomeState.OK:
                out[str(outcome.state)] += 1
        return out


@dataclass(frozen=True)
class ConfirmWait:
    """How a delete replaced by a new code (`Change.replaced_by`) waits for that code to be
    set on the lock before the old one goes.

    `timeout` (seconds): long enough for a lock Seam programs at once, short enough not to hold
    an apply for long; a slower lock keeps its old code too, and the next apply deletes it.
    `interval` (seconds) between listings. `sleep` and `monotonic` are injected by tests.
    """

    timeout: float = 30.0
    interval: float = 1.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic


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
    confirm: ConfirmWait | None = None,
) -> ApplyReport:
    """Make the plan's due changes through `provider`; a failing change never stops the others.

    Only what is not about one change (the journal, `on_outcome`) can raise, and then only
    once every device has finished.
    """
    by_device: dict[DeviceId, list[Change]] = defaultdict(list)
    for change in plan.due():
        by_device[change.device_id].append(change)
    gate = asyncio.Semaphore(concurrency)
    outcomes: list[Outcome] = []
    now = clock or (lambda: plan.now)
    planned_pins = _planned_pins(plan)
    wait = confirm or ConfirmWait()

    async def run_device(device_id: DeviceId, changes: list[Change]) -> None:
        async with gate:
            lock = _LockRun(provider, live[device_id], planned_pins.get(device_id, set()), now)
            for change in changes:
                reason = await lock.hold_back(change, wait)
                entry = journal.before_send(run_id, change, now()) if journal else 0
                if reason is None:
                    outcome = await lock.apply(change)
                else:
                    outcome = Outcome(change, OutcomeState.SKIPPED, reason)
                lock.note(outcome)
                if journal is not None:
                    _record(journal, entry, outcome, now())
                outcomes.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)

    results = await asyncio.gather(
        *(run_device(d, cs) for d, cs in by_device.items()), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return ApplyReport(tuple(outcomes))


class _LockRun:
    """One lock's changes, in plan order, and what the earlier ones mean for the later ones."""

    def __init__(
        self,
        provider: Provider,
        live: LiveDevice,
        planned_pins: set[str],
        now: Callable[[], datetime],
    ) -> None:
        self.provider = provider
        self.live = live
        self.now = now
        self.taken = _taken_pins(live, planned_pins)
        self.create_failed = False
        self.created: dict[str, Outcome] = {}

    def note(self, outcome: Outcome) -> None:
        """Remember a create's outcome: later deletes depend on it."""
        if outcome.change.action is Action.CREATE:
            self.created[outcome.change.name] = outcome
            if outcome.state in (OutcomeState.FAILED, OutcomeState.UNKNOWN):
                self.create_failed = True

    async def hold_back(self, change: Change, wait: ConfirmWait) -> str | None:
        """Why this change must not be sent now (None: send it). Only deletes are held."""
        if change.action is not Action.DELETE:
            return None
        if self.create_failed:
            return SKIPPED_AFTER_FAILED_CREATE
        if change.replaced_by is None:
            return None
        try:
            return await self._confirm(change.replaced_by, wait)
        except Exception as exc:  # a bug in the check must not delete a code either
            return f"not sent: checking {change.replaced_by} failed ({_describe(exc)})"

    async def _confirm(self, name: str, wait: ConfirmWait) -> str | None:
        """None once the code `name` is set on the lock (or `unset` before its window starts);
        else why the delete it replaces is not sent. Bounded by `wait.timeout`."""
        created = self.created.get(name)
        wanted = created.access_code_id if created is not None else None
        deadline = wait.monotonic() + wait.timeout
        while True:
            try:
                codes = await self.provider.list_codes(self.live.device.device_id)
            except ProviderError as exc:
                state = f"listing the lock failed: {exc}"
            else:
                code = _replacement(codes, name, wanted)
                if code is None and created is None:
                    return f"not sent: {name} is not on the lock yet; the old code stays"
                if code is not None and code.errors:
                    error = code.errors[0].code
                    return f"not sent: {name} failed to set ({error}); the old code stays"
                if code is not None and _is_set(code, self.now()):
                    return None
                state = f"still {code.status}" if code is not None else "not listed"
            if wait.monotonic() >= deadline:
                return (
                    f"not sent: {name} was not confirmed set within {wait.timeout:g} s ({state}); "
                    "the old code stays until it is"
                )
            await wait.sleep(wait.interval)

    async def apply(self, change: Change) -> Outcome:
        """Send one change; whatever goes wrong becomes its outcome, with every PIN masked."""
        pins = [state.code for state in (change.before, change.after) if state and state.code]
        if change.spec is not None and change.spec.code:
            pins.append(change.spec.code)
        try:
            outcome = await self._send(change, pins)
        except WriteOutcomeUnknown as exc:
            outcome = Outcome(change, OutcomeState.UNKNOWN, str(exc), exc.code)
        except LeaseLost as exc:  # not this controller replica's lock any more: not sent
            outcome = Outcome(change, OutcomeState.SKIPPED, str(exc), exc.code)
        except ProviderError as exc:
            outcome = Outcome(change, OutcomeState.FAILED, str(exc), exc.code)
        except AccessCodesError as exc:
            outcome = Outcome(change, OutcomeState.FAILED, str(exc))
        except Exception as exc:  # a bug in one change stays that change's failure
            outcome = Outcome(change, OutcomeState.FAILED, _describe(exc))
        message = " ".join(mask_secrets(outcome.message, pins).split())
        return replace(outcome, message=message)

    async def _send(self, change: Change, pins: list[str]) -> Outcome:
        if change.action is Action.CREATE:
            return await self._create(change, pins)
        if change.action is Action.UPDATE:
            return await self._update(change, _live_code(change, self.live))
        if change.action is Action.DELETE:
            current = _live_code(change, self.live)
            try:
                await self.provider.delete_code(current)
            except ActionPending as exc:
                return Outcome(change, OutcomeState.PENDING, str(exc), exc.code)
            return Outcome(change, OutcomeState.OK, "deleted")
        return Outcome(change, OutcomeState.FAILED, f"cannot apply a {change.action} change")

    async def _create(self, change: Change, pins: list[str]) -> Outcome:
        assert change.spec is not None, "a create carries the spec to write"
        spec = change.spec
        if spec.code is None and not spec.offline:
            pin = generate_pin(self.live.device.capabilities, taken=self.taken)
            pins.append(pin)
            spec = replace(spec, code=pin)
        created = await self.provider.create_code(change.device_id, spec)
        if created.code:
            self.taken.add(created.code)
            pins.append(created.code)
        written = replace(
            spec, code=created.code, starts_at=created.starts_at, ends_at=created.ends_at
        )
        return Outcome(
            change,
            OutcomeState.OK,
            f"created ({created.access_code_id})",
            access_code_id=created.access_code_id,
            written=written,
            status=str(created.status),
            errors=tuple(e.code for e in created.errors),
        )

    async def _update(self, change: Change, current: LiveCode) -> Outcome:
        assert change.spec is not None, "an update carries the spec to write"
        written = replace(change.spec, code=change.spec.code or current.code)
        state, message, code = OutcomeState.OK, f"updated {', '.join(change.changed)}", None
        try:
            await self.provider.update_code(current, change.spec)
        except ActionPending as exc:
            state, message, code = OutcomeState.PENDING, str(exc), exc.code
        return Outcome(
            change, state, message, code, access_code_id=current.access_code_id, written=written
        )


def _describe(exc: Exception) -> str:
    """An unexpected error on one line: its type and its text, any digit run masked."""
    text = " ".join(str(exc).split())
    return mask_digits(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _replacement(codes: list[LiveCode], name: str, wanted: str | None) -> LiveCode | None:
    """The new code a replaced delete waits for: by id when this run created it, else the
    managed code of that name."""
    for code in codes:
        if wanted is not None and code.access_code_id == wanted:
            return code
        if wanted is None and code.is_managed and code.name == name:
            return code
    return None


def _is_set(code: LiveCode, now: datetime) -> bool:
    """On the lock, or scheduled and waiting for its window (`unset` before it starts)."""
    if code.status is CodeStatus.SET:
        return True
    before_window = code.starts_at is not None and now < code.starts_at
    return code.status is CodeStatus.UNSET and before_window


def _record(journal: Journal, entry: int, outcome: Outcome, now: datetime) -> None:
    """The outcome, and what we wrote (as a fingerprint) or that the code is gone."""
    change = outcome.change
    journal.after_send(
        entry,
        status=str(outcome.state),
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
                pin_fingerprint=journal.pin_fingerprint(written.code),
                starts_at=written.starts_at,
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


def _live_code(change: Change, live: LiveDevice) -> LiveCode:
    for code in live.codes:
        if code.access_code_id == change.access_code_id:
            return code
    raise AccessCodesError(f"code {change.access_code_id} is no longer on {change.device_id}")
