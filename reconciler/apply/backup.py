"""Backup codes: when a stay's code has failed to set as check-in nears, pull one from the pool.

A lock that did not take a guest's code leaves the guest outside. Seam keeps a pool of backup
codes on locks that support one (`Capabilities.backup_pool`, turned on by creating codes with
`use_backup_pool`, which the planner does under `settings.backup_codes`), and a backup code
pulled for the failed code works at once, until that code's end. So after the changes of a run
(`apply_run`, for `apply` and the controller alike), each managed code the lock reports
`failed_to_set_on_device` whose desired code is time-bound (a stay: `starts_at` and `ends_at`)
and whose start is within `settings.jit_lead` or past, but whose end is not, gets one backup
code pulled for it. The failure is read from the locks as the run found them and from this
run's creates; a retry the run sent may have cured it, but a spare code is cheaper than a guest
locked out.

Each pull is recorded in the journal by the failed code's id (the backup code's id, the time and
the outcome, never the PIN), and is not made again: a code pulled for, an empty pool and a pull
refused for good are told once; only a pull that failed in a way that may pass (an outage) is
tried at the next run. Without a journal nothing is pulled, since nothing could be remembered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from reconciler.apply.applier import ApplyReport, Outcome
from reconciler.config.load import Config
from reconciler.core.errors import (
    MASK,
    PermanentProviderError,
    ProviderError,
    mask_digits,
    mask_secrets,
)
from reconciler.core.models import AccessCodeId, DeviceId, LiveCode, LiveDevice, ProviderIssue
from reconciler.core.plan import Action, Change, iso
from reconciler.providers.base import Provider
from reconciler.state.journal import BackupPullRow, Journal

FAILED_TO_SET = "failed_to_set_on_device"


class PullState(StrEnum):
    """How one pull ended; the journal records it as the pull's outcome."""

    PULLED = "pulled"  # a backup code is on the lock for the stay
    EMPTY = "empty"  # the pool had none to give: told once, not asked again
    REFUSED = "refused"  # the provider refused the pull for good: told once
    FAILED = "failed"  # it may pass (an outage, a timeout): tried again at the next run


SETTLED = frozenset({PullState.PULLED, PullState.EMPTY, PullState.REFUSED})


@dataclass(frozen=True)
class BackupPull:
    """One pull for one failed code. `code` is the backup PIN, shown only with --show-codes;
    `message` never holds a PIN."""

    device: str
    device_id: DeviceId
    name: str
    access_code_id: AccessCodeId
    state: PullState
    message: str
    backup_access_code_id: str | None = None
    code: str | None = field(default=None, repr=False)
    ends_at: datetime | None = None

    def describe(self, *, show_codes: bool = False) -> str:
        """One line for the person running the apply: the backup code to hand the guest (its
        PIN masked unless `show_codes`), or why there is none."""
        where = f"{self.device} / {self.name}"
        if self.state is PullState.PULLED:
            pin = self.code if show_codes and self.code else MASK
            until = f", valid until {iso(self.ends_at)}" if self.ends_at else ""
            return (
                f"{where}: backup code pulled ({self.backup_access_code_id}): PIN {pin}{until}; "
                "the code failed to set, give the guest this one"
            )
        if self.state is PullState.EMPTY:
            return (
                f"{where}: no backup code: the lock's backup pool is empty, and the code "
                f"({self.access_code_id}) failed to set; the guest has no working code"
            )
        return f"{where}: pulling a backup code {self.state}: {self.message}"


@dataclass(frozen=True)
class _Failed:
    """A code that failed to set, for a stay whose check-in is near: one to pull for."""

    change: Change
    code: LiveCode


async def pull_backups(
    config: Config,
    provider: Provider,
    plan_changes: tuple[Change, ...],
    live: Mapping[DeviceId, LiveDevice],
    report: ApplyReport,
    *,
    journal: Journal | None,
    run_id: int,
    clock: Callable[[], datetime],
) -> ApplyReport:
    """The report with the backup codes pulled after this run's changes (`report.backups`):
    one per stay whose code failed to set near check-in, on locks with a backup pool, each
    pulled and recorded once. A pull that goes wrong is its own outcome, never the run's;
    only the journal can raise."""
    if journal is None or not config.settings.backup_codes:
        return report
    now = clock()
    failed = _candidates(config, plan_changes, live, report.outcomes, now)
    if not failed:
        return report
    done = journal.backup_pulls([item.code.access_code_id for item in failed])
    pulls: list[BackupPull] = []
    for item in failed:
        prior = done.get(item.code.access_code_id)
        if prior is not None and prior.outcome in SETTLED:
            continue
        pull = await _pull(provider, item)
        journal.record_backup_pull(_row(pull, run_id, clock()))
        pulls.append(pull)
    return replace(report, backups=(*report.backups, *pulls))


def _candidates(
    config: Config,
    plan_changes: tuple[Change, ...],
    live: Mapping[DeviceId, LiveDevice],
    outcomes: tuple[Outcome, ...],
    now: datetime,
) -> list[_Failed]:
    """The failed codes to pull for: from the locks as the run read them and from this run's
    creates, less the codes this run deleted, on locks with a backup pool, for stays whose
    check-in is within the just-in-time lead (or past) and whose end is still to come."""
    found: dict[str, _Failed] = {}
    for change in plan_changes:
        code = _failed_live(change, live)
        if code is not None:
            found[code.access_code_id] = _Failed(change, code)
    for outcome in outcomes:
        code = _failed_create(outcome)
        if code is not None:
            found[code.access_code_id] = _Failed(outcome.change, code)
    deleted = {
        o.change.access_code_id for o in outcomes if o.ok and o.change.action is Action.DELETE
    }
    lead = config.settings.jit_lead
    return [
        item
        for item in found.values()
        if item.code.access_code_id not in deleted
        and _has_pool(live, item.change.device_id)
        and _stay_due(item.change, now, lead)
    ]


def _failed_live(change: Change, live: Mapping[DeviceId, LiveDevice]) -> LiveCode | None:
    """The live code a (non-delete) change is about, if the lock reports it failed to set."""
    if change.access_code_id is None or change.action is Action.DELETE:
        return None
    device = live.get(change.device_id)
    for code in device.codes if device is not None else ():
        if code.access_code_id == change.access_code_id:
            failed = any(e.code == FAILED_TO_SET for e in code.errors)
            return code if failed and code.is_managed and not code.is_backup else None
    return None


def _failed_create(outcome: Outcome) -> LiveCode | None:
    """The code a create of this run made, if the provider answered that it failed to set."""
    written = outcome.written
    if outcome.change.action is not Action.CREATE or not outcome.ok or written is None:
        return None
    if outcome.access_code_id is None or FAILED_TO_SET not in outcome.errors:
        return None
    return LiveCode(
        access_code_id=AccessCodeId(outcome.access_code_id),
        device_id=outcome.change.device_id,
        name=written.name,
        code=written.code,
        starts_at=written.starts_at,
        ends_at=written.ends_at,
        errors=tuple(ProviderIssue(e) for e in outcome.errors),
    )


def _has_pool(live: Mapping[DeviceId, LiveDevice], device_id: DeviceId) -> bool:
    device = live.get(device_id)
    return device is not None and device.device.capabilities.backup_pool


def _stay_due(change: Change, now: datetime, lead: timedelta) -> bool:
    """A time-bound online code (a stay) whose check-in is near or past and end still ahead."""
    after = change.after
    if after is None or after.offline or after.starts_at is None or after.ends_at is None:
        return False
    return after.starts_at - lead <= now < after.ends_at


async def _pull(provider: Provider, item: _Failed) -> BackupPull:
    """Ask the provider once; whatever goes wrong becomes the pull's outcome, PINs masked."""
    change, code = item.change, item.code
    failed = BackupPull(
        change.device, change.device_id, change.name, code.access_code_id, PullState.FAILED, ""
    )
    try:
        backup = await provider.pull_backup_code(code)
    except PermanentProviderError as exc:
        return replace(failed, state=PullState.REFUSED, message=_masked(exc, code))
    except Exception as exc:  # an outage, or a bug in one pull: that pull's failure
        return replace(failed, message=_masked(exc, code))
    if backup is None:
        return replace(failed, state=PullState.EMPTY, message="the backup pool is empty")
    return replace(
        failed,
        state=PullState.PULLED,
        message=f"pulled {backup.access_code_id}",
        backup_access_code_id=backup.access_code_id,
        code=backup.code,
        ends_at=backup.ends_at or code.ends_at,
    )


def _masked(exc: Exception, code: LiveCode) -> str:
    """An error on one line, the failed code's PIN and any digit run that could be one masked."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, ProviderError):
        text = f"{type(exc).__name__}: {text}"
    return mask_digits(mask_secrets(text, [code.code]))


def _row(pull: BackupPull, run_id: int, now: datetime) -> BackupPullRow:
    """What the journal keeps of a pull: ids, time and outcome, never the backup PIN."""
    return BackupPullRow(
        access_code_id=pull.access_code_id,
        run_id=run_id or None,
        at=iso(now) or "",
        device_id=pull.device_id,
        name=pull.name,
        outcome=str(pull.state),
        backup_access_code_id=pull.backup_access_code_id,
        message=pull.message,
    )
