"""After the writes: did each code reach the lock?

A provider accepting a write is not the lock holding the code: Seam programs it later and
reports `setting`, then `set` (or an error such as `failed_to_set_on_device`). Without
`--wait`, apply reports codes still `setting` as progressing; with it, apply polls (bounded)
until each written code is `set` (or `unset` before its window) and fails on one still
`setting` at the end. A code with provider errors is a failure either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from reconciler.applier import Outcome
from reconciler.models import CodeStatus, DeviceId, LiveCode
from reconciler.plan import Action
from reconciler.providers.base import Provider


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
) -> list[CodeCheck]:
    """Poll the written codes until each is where it should be, for at most `timeout` s."""
    pending = list(_written(outcomes))
    done: list[CodeCheck] = []
    waited = 0.0
    while pending:
        final = waited >= timeout
        still: list[Outcome] = []
        live = await _codes(provider, {DeviceId(o.change.device_id) for o in pending})
        for outcome in pending:
            check = _check(outcome, live.get(str(outcome.access_code_id)), clock(), final=final)
            (still.append(outcome) if check.state == "progressing" else done.append(check))
        pending = still
        if pending:
            await sleep(poll)
            waited += poll
    return done


def _written(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [
        o
        for o in outcomes
        if o.ok and o.access_code_id and o.change.action in (Action.CREATE, Action.UPDATE)
    ]


async def _codes(provider: Provider, device_ids: set[DeviceId]) -> dict[str, LiveCode]:
    found: dict[str, LiveCode] = {}
    for device_id in sorted(device_ids):
        for code in await provider.list_codes(device_id):
            found[code.access_code_id] = code
    return found
