"""After the writes: did each code reach the lock?

A provider accepting a write is not the lock holding the code: Seam programs it later and
reports `setting`, then `set` (or an error such as `failed_to_set_on_device`). Without
`--wait`, apply reports codes still `setting` as progressing; with it, apply polls (bounded)
until each written code is `set` (or `unset` before its window) and fails on one still
`setting` at the end. A code with provider errors is a failure either way.

The wait keeps a wall-clock deadline (a monotonic clock, injected for tests): slow listings use
up the wait instead of adding to it, the devices of pending codes are listed concurrently
(bounded), and a listing still running at the deadline is abandoned, its codes reported as
they were last seen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.apply.applier import Outcome, OutcomeState
from reconciler.core.models import CodeStatus, DeviceId, LiveCode
from reconciler.core.plan import Action
from reconciler.providers.base import Provider

UNREAD = "not confirmed: its lock was not read before the wait ended"


@dataclass(frozen=True)
class CodeCheck:
    """Where one written code stands: `set`, `progressing` or `failed`."""

    outcome: Outcome
    state: str
    detail: str
    error_code: str | None = None


def _expected(code: LiveCode, now: datetime) -> bool:
    if code.status is CodeStatus.SET:
        return True
    before_window = code.starts_at is not None and now < code.starts_at
    return code.status is CodeStatus.UNSET and before_window


def _check(outcome: Outcome, code: LiveCode | None, now: datetime, *, final: bool) -> CodeCheck:
    if code is None:
        return CodeCheck(outcome, "failed", "no longer on the lock", "missing")
    if code.errors:
        first = code.errors[0]
        return CodeCheck(outcome, "failed", first.message or first.code, first.code)
    if _expected(code, now):
        return CodeCheck(outcome, "set", str(code.status))
    if final:
        return CodeCheck(
            outcome, "failed", f"still {code.status} when the wait ended", "stuck_setting"
        )
    return CodeCheck(outcome, "progressing", f"{code.status}: the lock is being programmed")


def accepted(outcomes: Sequence[Outcome]) -> list[CodeCheck]:
    """Without waiting: what the provider said when it took each write."""
    checks = []
    for outcome in _written(outcomes):
        if outcome.errors:
            checks.append(CodeCheck(outcome, "failed", outcome.errors[0], outcome.errors[0]))
        elif outcome.state is OutcomeState.PENDING:
            checks.append(CodeCheck(outcome, "progressing", "the provider is still writing it"))
        elif outcome.status in (None, "set", "unset"):
            checks.append(CodeCheck(outcome, "set", outcome.status or "accepted"))
        else:
            checks.append(
                CodeCheck(outcome, "progressing", f"{outcome.status}: the lock is being programmed")
            )
    return checks


async def wait_until_set(
    provider: Provider,
    outcomes: Sequence[Outcome],
    *,
    timeout: float,
    clock: Callable[[], datetime],
    sleep: Callable[[float], Awaitable[None]],
    poll: float = 1.0,
    monotonic: Callable[[], float] = time.monotonic,
    concurrency: int = 16,
) -> list[CodeCheck]:
    """Poll the written codes until each is where it should be, stopping at `timeout` s of
    wall-clock time (by `monotonic`) however long the listings take."""
    deadline = monotonic() + timeout
    pending = dict(enumerate(_written(outcomes)))
    seen: dict[int, LiveCode | None] = {}
    done: list[CodeCheck] = []
    while pending and (remaining := deadline - monotonic()) > 0:
        device_ids = {DeviceId(o.change.device_id) for o in pending.values()}
        live, read = await _codes(provider, device_ids, timeout=remaining, limit=concurrency)
        now = clock()
        for index, outcome in list(pending.items()):
            if outcome.change.device_id not in read:
                continue
            seen[index] = live.get(str(outcome.access_code_id))
            check = _check(outcome, seen[index], now, final=False)
            if check.state != "progressing":
                done.append(check)
                del pending[index]
        if pending:
            await sleep(max(0.0, min(poll, deadline - monotonic())))
    now = clock()
    for index, outcome in pending.items():
        if index in seen:
            done.append(_check(outcome, seen[index], now, final=True))
        else:
            done.append(CodeCheck(outcome, "failed", UNREAD, "stuck_setting"))
    return done


def _written(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [
        o
        for o in outcomes
        if o.ok and o.access_code_id and o.change.action in (Action.CREATE, Action.UPDATE)
    ]


async def _codes(
    provider: Provider, device_ids: Collection[DeviceId], *, timeout: float, limit: int
) -> tuple[dict[str, LiveCode], set[DeviceId]]:
    """The codes of the devices listed within `timeout` s (at most `limit` at once), by
    access_code_id, and which devices those were; listings still running are cancelled."""
    gate = asyncio.Semaphore(limit)

    async def listing(device_id: DeviceId) -> list[LiveCode]:
        async with gate:
            return await provider.list_codes(device_id)

    tasks = {asyncio.ensure_future(listing(d)): d for d in sorted(device_ids)}
    finished, unfinished = await asyncio.wait(tasks, timeout=timeout)
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)
    found: dict[str, LiveCode] = {}
    for task in tasks:  # in device order; a provider error is raised as before
        if task in finished:
            for code in task.result():
                found[code.access_code_id] = code
    return found, {tasks[task] for task in finished}
